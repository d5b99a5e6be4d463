package policyeval

import (
	"encoding/json"
	"fmt"
	"math"
)

// Governance is what the guild's policy data says about who may run
// meshbot's governance commands, at data.meshbot.governance. The bundled
// defaults live in policy/meshbot/governance/; a guild's policy repository
// overrides them by writing the same keys, and a key it leaves out keeps
// the default below (a policy folder without governance data still
// governs).
type Governance struct {
	Deprecate DeprecateRules
}

// DeprecateRules govern `/mesh deprecate` and `/mesh undeprecate`, at
// data.meshbot.governance.deprecate.
type DeprecateRules struct {
	// Role is the least role on the product's repository
	// (data.meshbot.governance.deprecate.role): write, maintain or admin.
	// Never below write: the command opens a pull request in the repository.
	Role string
	// OwningTeam requires active membership of the owning team when a team
	// owns the product (owning_team).
	OwningTeam bool
	// RepositoryAdmins lets the repository's admins deprecate without being
	// in the owning team (repository_admins).
	RepositoryAdmins bool
	// MinimumNoticeDays is how far ahead the sunset must be, in days
	// (minimum_notice_days).
	MinimumNoticeDays int
}

// DefaultGovernance is what applies where the policy data says nothing.
func DefaultGovernance() Governance {
	return Governance{Deprecate: DeprecateRules{Role: "write", OwningTeam: true, RepositoryAdmins: false, MinimumNoticeDays: 30}}
}

// Governance reads data.meshbot.governance over the defaults. A key of the
// wrong type is an error naming it: the guild's data is trusted but may be
// mistyped, and a command must not run under rules nobody wrote.
func (s *Set) Governance() (Governance, error) {
	g := DefaultGovernance()
	mb, _ := s.data["meshbot"].(map[string]any)
	gov, _ := mb["governance"].(map[string]any)
	dep, ok := gov["deprecate"].(map[string]any)
	if !ok {
		if v, present := gov["deprecate"]; present && v != nil {
			return g, fmt.Errorf("data.meshbot.governance.deprecate is %T, not an object", v)
		}
		return g, nil
	}
	d := &g.Deprecate
	const at = "data.meshbot.governance.deprecate."
	if v, ok := dep["role"]; ok {
		r, isStr := v.(string)
		switch {
		case !isStr:
			return g, fmt.Errorf("%srole is %T, not a string", at, v)
		case r != "write" && r != "maintain" && r != "admin":
			return g, fmt.Errorf("%srole is %q; write, maintain or admin", at, r)
		}
		d.Role = r
	}
	for key, dst := range map[string]*bool{"owning_team": &d.OwningTeam, "repository_admins": &d.RepositoryAdmins} {
		if v, ok := dep[key]; ok {
			b, isBool := v.(bool)
			if !isBool {
				return g, fmt.Errorf("%s%s is %T, not a boolean", at, key, v)
			}
			*dst = b
		}
	}
	if v, ok := dep["minimum_notice_days"]; ok {
		n, err := wholeNumber(v)
		if err != nil || n < 0 || n > 3650 {
			return g, fmt.Errorf("%sminimum_notice_days is %v; a whole number of days from 0 to 3650", at, v)
		}
		d.MinimumNoticeDays = n
	}
	return g, nil
}

// wholeNumber reads a JSON number as data files give it (json.Number from
// OPA's loader, float64 or int from elsewhere).
func wholeNumber(v any) (int, error) {
	var f float64
	switch x := v.(type) {
	case json.Number:
		var err error
		if f, err = x.Float64(); err != nil {
			return 0, err
		}
	case float64:
		f = x
	case int:
		return x, nil
	case int64:
		return int(x), nil
	default:
		return 0, fmt.Errorf("%T is not a number", v)
	}
	if f != math.Trunc(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%v is not a whole number", f)
	}
	return int(f), nil
}
