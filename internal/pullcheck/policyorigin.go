package pullcheck

import (
	"fmt"

	"github.com/meshbot/meshbot/internal/policyeval"
)

// judgedByPolicy names the policy repository's commit that judged, with a
// link to it, so a domain team can see which rules applied and when they
// changed. A folder's policy (bundled, MESHBOT_POLICY_DIR) has no commit:
// the report's policy version names it.
func judgedByPolicy(s *policyeval.Set) string {
	if s == nil {
		return ""
	}
	o := s.Origin()
	if o.Commit == "" {
		return ""
	}
	short := o.Commit
	if len(short) > 12 {
		short = short[:12]
	}
	return fmt.Sprintf("\n\nJudged by the policy of [%s@%s](%s) (policy version `%s`).\n", o.Repo, short, o.URL, s.Version())
}
