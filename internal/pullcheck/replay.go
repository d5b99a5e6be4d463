package pullcheck

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/meshbot/meshbot/internal/metrics"
)

// judgedBy is what a verdict depends on besides the commit: the policy and
// the registry (consumers) it was judged with. The check run records it in
// its external_id, after the delivery that created it, so a later job
// can tell that the same commit was already judged the same way.
type judgedBy struct {
	Policy   string // policyeval.Set.Version; "" without a policy
	Registry uint64 // store.Registry.Version of the installation
	// On is the pull request and base the head was judged against: several
	// pull requests can share a head SHA, and a different base is a
	// different comparison, so only a repeat of the same one is a replay.
	On string
}

const (
	policyTag   = ";policy="
	registryTag = ";registry="
	onTag       = ";on="
)

// externalID is the check run's external_id: the delivery (which a retry
// looks its run up by), then the versions that judge it.
func (v judgedBy) externalID(delivery string) string {
	return delivery + policyTag + v.Policy + registryTag + strconv.FormatUint(v.Registry, 10) + onTag + v.On
}

// parseExternalID reads externalID's form; ok is false for any other (runs
// created before the versions were recorded, or by someone else).
func parseExternalID(s string) (delivery string, v judgedBy, ok bool) {
	delivery, rest, ok := strings.Cut(s, policyTag)
	if !ok {
		return s, judgedBy{}, false
	}
	pol, rest, ok := strings.Cut(rest, registryTag)
	if !ok {
		return delivery, judgedBy{}, false
	}
	reg, on, _ := strings.Cut(rest, onTag)
	n, err := strconv.ParseUint(reg, 10, 64)
	if err != nil {
		return delivery, judgedBy{}, false
	}
	return delivery, judgedBy{Policy: pol, Registry: n, On: on}, true
}

// replayWindow is how long a judged commit is remembered: GitHub redelivers
// for up to three days.
const replayWindow = 72 * time.Hour

// seenKey names a commit judged with these versions in the store's
// delivery dedup.
func (v judgedBy) seenKey(j *job) string {
	return fmt.Sprintf("judged:%d/%s@%s", j.Installation, j.fullName(), j.HeadSHA) + policyTag + v.Policy + registryTag + strconv.FormatUint(v.Registry, 10) + onTag + v.On
}

// deliveryOf is the delivery that created a check run.
func deliveryOf(externalID string) string {
	d, _, _ := parseExternalID(externalID)
	return d
}

// versions reads what this job will judge with: the policy once for the
// whole job, and the registry's version before the registry is read (so a
// change during the job makes the recorded version older, never newer).
func (c *checker) versions(ctx context.Context, j *job) error {
	if c.policy != nil {
		j.policy = c.policy.Load()
	}
	if j.policy != nil {
		j.by.Policy = j.policy.Version()
	}
	n, err := c.store.Version(ctx, j.Installation)
	if err != nil {
		return fmt.Errorf("check %s: registry version: %w", j.Key(), err)
	}
	j.by.Registry = n
	j.by.On = fmt.Sprintf("#%d:%s", j.PR, cmpOr(j.BaseSHA, j.BaseRef))
	return nil
}

// replayed says whether this job repeats a verdict already given: a check
// run of meshbot at the same head SHA completed with the same policy and
// registry versions, created by another delivery (GitHub's redelivery of a
// body under a new delivery id, or a replay). An explicit request (/mesh
// recheck, GitHub's re-run) always runs; so does a retry of this delivery,
// which start handles.
func (c *checker) replayed(ctx context.Context, j *job) (bool, error) {
	if j.Requested || j.CheckRunID != 0 || j.attempt > 1 {
		return false, nil
	}
	// The store remembers which (commit, versions) were seen, so that only a
	// job that may be a replay pays for listing the check runs; the first
	// judgment of a commit costs no API call more.
	// Recorded only once a verdict is posted (judged), so a job deferred
	// by a rate limit before judging does not take itself for a replay.
	seen, err := c.store.SeenDelivery(ctx, j.by.seenKey(j))
	if err != nil {
		return false, fmt.Errorf("check %s: judged before: %w", j.Key(), err)
	}
	if !seen {
		return false, nil
	}
	runs, err := j.cl.CheckRuns(ctx, j.Owner, j.Repo, j.HeadSHA, CheckName)
	if err != nil {
		return false, fmt.Errorf("check %s: %w", j.Key(), err)
	}
	for _, r := range runs {
		d, by, ok := parseExternalID(r.ExternalID)
		if ok && r.Completed && by == j.by && d != j.Delivery {
			j.log.Info("pullcheck: skipped, this head was already judged with the same policy and registry",
				slog.String("reason", "replay"), slog.Int64("check_run", r.ID), slog.String("judged_by_delivery", d),
				slog.String("policy", by.Policy), slog.Uint64("registry", by.Registry))
			c.metrics.CheckSkipped(metrics.SkipReplay)
			return true, nil
		}
	}
	return false, nil
}

// cmpOr is the first of a and b that is not empty.
func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// judged records that this commit was judged with these versions, so that
// a later delivery of the same event looks for the verdict. A failure to
// record costs at most a repeated check, never a wrong one: logged only.
func (c *checker) judged(ctx context.Context, j *job) {
	if _, err := c.store.FirstDelivery(ctx, j.by.seenKey(j), replayWindow); err != nil {
		j.log.Warn("pullcheck: could not record the judged commit; a replay of it will be judged again", slog.Any("err", err))
	}
}
