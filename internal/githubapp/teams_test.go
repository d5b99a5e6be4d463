package githubapp

import (
	"context"
	"net/http"
	"testing"

	"github.com/meshbot/meshbot/internal/ghfake"
)

func TestTeamMember(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.fake.AddTeamMember("acme", "orders-team", "alice", "member", ghfake.MembershipActive)
	e.fake.AddTeamMember("acme", "orders-team", "maud", "maintainer", ghfake.MembershipActive)
	e.fake.AddTeamMember("acme", "orders-team", "ivan", "member", ghfake.MembershipPending)
	e.fake.AddTeamMember("globex", "orders-team", "gus", "member", ghfake.MembershipActive)
	for _, tc := range []struct {
		name            string
		org, team, user string
		want            bool
	}{
		{"active member", "acme", "orders-team", "alice", true},
		{"maintainer", "acme", "orders-team", "maud", true},
		{"case of login and slug", "ACME", "Orders-Team", "Alice", true},
		{"invited, not accepted", "acme", "orders-team", "ivan", false},
		{"not in the team", "acme", "orders-team", "bob", false},
		{"no such team", "acme", "nope", "alice", false},
		{"another organisation's team", "globex", "orders-team", "gus", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := e.client.TeamMember(context.Background(), tc.org, tc.team, tc.user)
			if err != nil || got != tc.want {
				t.Errorf("TeamMember(%s, %s, %s) = %v, %v; want %v", tc.org, tc.team, tc.user, got, err, tc.want)
			}
		})
	}

	// A failure of GitHub is an error, never a "no" (nor a "yes").
	stop := e.fake.FailPath("GET", "/orgs/acme/teams/", http.StatusBadGateway)
	defer stop()
	if got, err := e.client.TeamMember(context.Background(), "acme", "orders-team", "alice"); err == nil {
		t.Errorf("TeamMember during a 502 = %v, nil; want an error", got)
	}
}
