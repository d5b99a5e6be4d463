package webhook

import (
	"encoding/json"
	"testing"

	"github.com/meshbot/meshbot/internal/jobs"
)

// FuzzRoute feeds Route arbitrary events and bodies (seeded from GitHub's
// payload examples under testdata/fuzz/FuzzRoute). Whatever comes in, Route
// must not panic, and what it returns must hold together: either jobs or a
// reason to ignore, unique job ids of known kinds with decodable payloads,
// and heads only for check jobs it made.
func FuzzRoute(f *testing.F) {
	f.Add("pull_request", []byte(`{"action":"opened","installation":{"id":1},"repository":{"full_name":"o/r"},"pull_request":{"number":1,"head":{"sha":"ec26c3e57ca3a959ca5aad62de7213c562f8c821"}}}`))
	f.Add("issue_comment", []byte(`{"action":"created","installation":{"id":1},"repository":{"full_name":"o/r"},"issue":{"number":1,"pull_request":null},"comment":{"id":2,"body":"\n/mesh help"}}`))
	f.Fuzz(func(t *testing.T, event string, body []byte) {
		w, err := Route("dlv", event, body)
		if err != nil {
			return
		}
		if (len(w.Jobs) == 0) == (w.Ignored == "") {
			t.Fatalf("jobs %d with ignored %q", len(w.Jobs), w.Ignored)
		}
		ids := map[string]bool{}
		checks := map[string]string{} // key → head sha
		for _, j := range w.Jobs {
			if ids[j.ID] {
				t.Fatalf("duplicate job id %s", j.ID)
			}
			ids[j.ID] = true
			switch j.Kind {
			case jobs.KindPullCheck.Name():
				var c jobs.PullCheck
				decode(t, j.Payload, &c)
				if c.Key() != j.Key || !validSHA(c.HeadSHA) || c.Installation <= 0 {
					t.Errorf("check job %+v with key %q", c, j.Key)
				}
				checks[j.Key] = c.HeadSHA
			case jobs.KindIndex.Name():
				decode(t, j.Payload, &jobs.Index{})
			case jobs.KindPurge.Name():
				decode(t, j.Payload, &jobs.Purge{})
			case jobs.KindCommand.Name():
				var c jobs.Command
				decode(t, j.Payload, &c)
				if !HasCommandLine(c.Body) {
					t.Errorf("command job for a non-command %q", c.Body)
				}
			default:
				t.Fatalf("unknown kind %q", j.Kind)
			}
		}
		for _, h := range w.Heads {
			if sha, ok := checks[h.Key]; !ok || sha != h.SHA {
				t.Errorf("head %+v matches no check job (%v)", h, checks)
			}
		}
	})
}

func decode(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("payload %T: %v", v, err)
	}
}
