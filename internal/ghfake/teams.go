package ghfake

import (
	"net/http"
	"strings"
)

// teamKey names a team as GitHub does in its URLs: the organisation and the
// team's slug, both case-insensitive.
func teamKey(org, slug string) string { return strings.ToLower(org + "/" + slug) }

// teamMember is one user's membership of a team.
type teamMember struct {
	role  string // member or maintainer
	state string // active or pending (invited, not yet accepted)
}

// TeamMembershipState is what GitHub reports of a membership.
type TeamMembershipState string

// GitHub's membership states.
const (
	MembershipActive  TeamMembershipState = "active"
	MembershipPending TeamMembershipState = "pending"
)

// AddTeamMember makes login a member of org's team slug (role "member" or
// "maintainer"), in state.
func (f *Fake) AddTeamMember(org, slug, login, role string, state TeamMembershipState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.teams == nil {
		f.teams = map[string]map[string]teamMember{}
	}
	k := teamKey(org, slug)
	if f.teams[k] == nil {
		f.teams[k] = map[string]teamMember{}
	}
	f.teams[k][strings.ToLower(login)] = teamMember{role: role, state: string(state)}
}

// RemoveTeamMember ends login's membership of org's team slug.
func (f *Fake) RemoveTeamMember(org, slug, login string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.teams[teamKey(org, slug)], strings.ToLower(login))
}

// getTeamMembership answers as GitHub does: 200 with role and state for a
// member (active or pending), 404 for a user who is not a member, a team
// that does not exist, and an organisation the installation is not on
// (GitHub does not tell those apart).
func (f *Fake) getTeamMembership(c *call) {
	org, slug, login := c.r.PathValue("org"), c.r.PathValue("team_slug"), c.r.PathValue("username")
	inst := f.installations[c.inst]
	if inst == nil || !strings.EqualFold(inst.account, org) {
		c.notFound()
		return
	}
	m, ok := f.teams[teamKey(org, slug)][strings.ToLower(login)]
	if !ok {
		c.notFound()
		return
	}
	c.json(http.StatusOK, obj{
		"url":   f.api() + "/organizations/" + org + "/team/" + slug + "/memberships/" + login,
		"role":  m.role,
		"state": m.state,
	})
}
