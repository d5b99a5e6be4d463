package githubapp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/go-github/v60/github"
)

// Hooks is what the App asks of GitHub as itself (with its JWT, not an
// installation token) to recover deliveries it missed: its webhook's recent
// deliveries, redelivery of one, and its installations. *App is the real
// one.
type Hooks interface {
	// Deliveries lists one page of the App webhook's deliveries, newest
	// first, from cursor ("" for the newest); next is "" on the last page.
	Deliveries(ctx context.Context, cursor string, perPage int) (page []HookDelivery, next string, err error)
	// Redeliver asks GitHub to deliver delivery id again (GitHub answers
	// 202 and delivers later, with the same guid).
	Redeliver(ctx context.Context, id int64) error
	// InstallationIDs lists the App's installations.
	InstallationIDs(ctx context.Context) ([]int64, error)
	// Rechecker is the client of an installation, for the open pull
	// request sweep.
	Rechecker(id int64) (Rechecker, error)
}

// Rechecker is what the sweep of open pull requests asks of an
// installation. It is apart from Installation so that the jobs' seam does
// not grow for one periodic task.
type Rechecker interface {
	// Repositories lists every repository the installation can see.
	Repositories(ctx context.Context) ([]string, error)
	// OpenPullRequests lists the open pull requests of owner/repo, up to
	// limit (0: all).
	OpenPullRequests(ctx context.Context, owner, repo string, limit int) ([]PullRequest, error)
	// HasCheckRun reports whether the commit sha has a check run named name.
	HasCheckRun(ctx context.Context, owner, repo, sha, name string) (bool, error)
}

var _ Hooks = (*App)(nil)
var _ Rechecker = (*client)(nil)

// HookDelivery is one attempt of GitHub's to deliver an event to the App.
type HookDelivery struct {
	ID           int64
	GUID         string // X-GitHub-Delivery, shared by every attempt of one event
	DeliveredAt  time.Time
	Redelivery   bool
	Status       string // GitHub's description, e.g. "failed to connect"
	StatusCode   int    // what meshbot answered; 0 when nothing answered
	Event        string
	Action       string
	Installation int64
}

// Accepted reports whether meshbot answered the attempt with a 2xx.
func (d HookDelivery) Accepted() bool { return d.StatusCode >= 200 && d.StatusCode < 300 }

// asApp is a go-github client authenticated with the App's JWT.
func (a *App) asApp() *github.Client {
	return newGH(&http.Client{Transport: a.appsTransport()}, a.base)
}

func (a *App) Deliveries(ctx context.Context, cursor string, perPage int) ([]HookDelivery, string, error) {
	list, resp, err := a.asApp().Apps.ListHookDeliveries(ctx, &github.ListCursorOptions{Cursor: cursor, PerPage: perPage})
	if err != nil {
		return nil, "", wrap(err, "list app webhook deliveries (cursor %q)", cursor)
	}
	out := make([]HookDelivery, 0, len(list))
	for _, d := range list {
		out = append(out, HookDelivery{
			ID: d.GetID(), GUID: d.GetGUID(), DeliveredAt: d.GetDeliveredAt().Time, Redelivery: d.GetRedelivery(),
			Status: d.GetStatus(), StatusCode: d.GetStatusCode(), Event: d.GetEvent(), Action: d.GetAction(),
			Installation: d.GetInstallationID(),
		})
	}
	return out, resp.Cursor, nil
}

func (a *App) Redeliver(ctx context.Context, id int64) error {
	_, _, err := a.asApp().Apps.RedeliverHookDelivery(ctx, id)
	// GitHub answers 202: it queues the attempt; go-github reports that as
	// an AcceptedError.
	if err != nil && !errors.As(err, new(*github.AcceptedError)) {
		return wrap(err, "redeliver app webhook delivery %d", id)
	}
	return nil
}

func (a *App) InstallationIDs(ctx context.Context) ([]int64, error) {
	gh := a.asApp()
	opts := &github.ListOptions{PerPage: 100}
	var ids []int64
	for {
		list, resp, err := gh.Apps.ListInstallations(ctx, opts)
		if err != nil {
			return nil, wrap(err, "list app installations (page %d)", max(opts.Page, 1))
		}
		for _, in := range list {
			ids = append(ids, in.GetID())
		}
		if resp.NextPage == 0 {
			return ids, nil
		}
		opts.Page = resp.NextPage
	}
}

func (a *App) Rechecker(id int64) (Rechecker, error) {
	in, err := a.Installation(id)
	if err != nil {
		return nil, err
	}
	return in.(*client), nil
}

func (c *client) OpenPullRequests(ctx context.Context, owner, repo string, limit int) ([]PullRequest, error) {
	opts := &github.PullRequestListOptions{State: "open", ListOptions: github.ListOptions{PerPage: 100}}
	var all []PullRequest
	for {
		list, resp, err := c.gh.PullRequests.List(ctx, owner, repo, opts)
		if err != nil {
			return nil, wrap(err, "list open pull requests of %s/%s (page %d)", owner, repo, max(opts.Page, 1))
		}
		for _, pr := range list {
			all = append(all, PullRequest{
				Number: pr.GetNumber(), Closed: pr.GetState() == "closed",
				HeadSHA: pr.GetHead().GetSHA(), BaseSHA: pr.GetBase().GetSHA(), BaseRef: pr.GetBase().GetRef(),
			})
			if limit > 0 && len(all) >= limit {
				return all, nil
			}
		}
		if resp.NextPage == 0 {
			return all, nil
		}
		opts.Page = resp.NextPage
	}
}

func (c *client) HasCheckRun(ctx context.Context, owner, repo, sha, name string) (bool, error) {
	// filter=all: a run superseded by a re-run still shows meshbot looked.
	res, _, err := c.gh.Checks.ListCheckRunsForRef(ctx, owner, repo, sha, &github.ListCheckRunsOptions{
		CheckName: &name, Filter: github.String("all"), ListOptions: github.ListOptions{PerPage: 1},
	})
	if err != nil {
		return false, wrap(err, "check runs %q of %s/%s@%s", name, owner, repo, sha)
	}
	return res.GetTotal() > 0, nil
}

// String names a delivery in logs.
func (d HookDelivery) String() string {
	return fmt.Sprintf("delivery %d (guid %s, %s, status %d)", d.ID, d.GUID, d.Event, d.StatusCode)
}
