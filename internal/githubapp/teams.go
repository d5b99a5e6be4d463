package githubapp

import (
	"context"
	"errors"
)

// TeamMember says whether user is an active member of org's team slug (an
// invitation not yet accepted is not membership). GitHub answers 404 alike
// for a user outside the team, a team that does not exist and an
// organisation the App cannot see, so all three are "no": a check that
// grants something on membership fails closed.
func (c *client) TeamMember(ctx context.Context, org, slug, user string) (bool, error) {
	m, _, err := c.gh.Teams.GetTeamMembershipBySlug(ctx, org, slug, user)
	if err != nil {
		err = wrap(err, "membership of %s in team %s/%s", user, org, slug)
		if errors.Is(err, ErrNotFound) {
			return false, nil
		}
		return false, err
	}
	return m.GetState() == "active", nil
}
