package redeliver

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/meshbot/meshbot/internal/githubapp"
)

// deliveries reads the delivery log back to the high-water mark (at most
// MaxPages pages, MaxAge old), and asks for the redelivery of every guid
// that has no accepted attempt there and that the dedup does not know.
// The mark moves to the newest delivery seen only when every failed guid
// was settled (accepted, known to the dedup, or asked for by this sweep),
// so an interrupted sweep is redone, not skipped; the claims per guid keep
// a redone sweep from asking twice.
func (s *Sweeper) deliveries(ctx context.Context, now time.Time, b *budget) (Deliveries, error) {
	var rep Deliveries
	raw, err := s.st.Mark(ctx, highWaterKey)
	if err != nil {
		return rep, fmt.Errorf("redeliver: high-water mark: %w", err)
	}
	var mark int64
	if raw != "" {
		if mark, err = strconv.ParseInt(raw, 10, 64); err != nil {
			s.log.WarnContext(ctx, "redeliver: unreadable high-water mark, looking back the whole window", "mark", raw)
			mark = 0
		}
	}
	oldest := now.Add(-s.opts.MaxAge)

	// Newest first; per guid, its attempts in the window.
	var order []string
	attempts := map[string][]githubapp.HookDelivery{}
	newest := mark
	cursor, reached := "", false
	for !reached {
		if rep.Pages == s.opts.MaxPages || !b.take() {
			rep.Truncated = true
			break
		}
		page, next, err := s.gh.Deliveries(ctx, cursor, s.opts.PerPage)
		if err != nil {
			return rep, fmt.Errorf("redeliver: %w", err)
		}
		rep.Pages++
		for _, d := range page {
			if d.ID <= mark || d.DeliveredAt.Before(oldest) {
				reached = true
				break
			}
			newest = max(newest, d.ID)
			rep.Listed++
			if _, ok := attempts[d.GUID]; !ok {
				order = append(order, d.GUID)
			}
			attempts[d.GUID] = append(attempts[d.GUID], d)
		}
		if next == "" {
			reached = true
		}
		cursor = next
	}
	if rep.Truncated {
		s.log.WarnContext(ctx, "redeliver: delivery window cut short (page or call budget); older failures before it are not asked for",
			"pages", rep.Pages, "high_water", mark)
	}

	complete := true
	for _, guid := range order {
		ds := attempts[guid]
		if accepted(ds) {
			continue
		}
		rep.Failed++
		known, err := s.st.SeenDelivery(ctx, guid)
		if err != nil {
			return rep, fmt.Errorf("redeliver: %w", err)
		}
		if known {
			// meshbot took it, GitHub logged a failure anyway (e.g. the
			// answer came after GitHub's 10 s).
			rep.Known++
			continue
		}
		asked, err := s.ask(ctx, guid, pick(ds), now, b)
		if err != nil {
			return rep, err
		}
		switch asked {
		case askDone:
			rep.Asked++
		case askClaimed:
			// Asked by a sweep that may not have got to GitHub: the
			// mark stays, so the guid is looked at again once the claim
			// expires.
			rep.Claimed++
			complete = false
		case askNoBudget:
			complete = false
		}
		if asked == askNoBudget {
			break
		}
	}
	if complete && newest > mark {
		if err := s.st.SetMark(ctx, highWaterKey, strconv.FormatInt(newest, 10), 0); err != nil {
			return rep, fmt.Errorf("redeliver: high-water mark: %w", err)
		}
	}
	return rep, nil
}

type askResult int

const (
	askDone     askResult = iota // GitHub accepted the request
	askClaimed                   // someone asked already, within AskTTL
	askNoBudget                  // the sweep's call budget is spent
)

// ask claims guid for AskTTL and asks GitHub to redeliver d. The claim is
// per sweep (holder and period), so the same replica does not ask again in
// its next period either; when GitHub refuses, the claim is released for
// the next sweep.
func (s *Sweeper) ask(ctx context.Context, guid string, d githubapp.HookDelivery, now time.Time, b *budget) (askResult, error) {
	holder := s.opts.Holder + "@" + strconv.FormatInt(now.Truncate(s.opts.Period).Unix(), 10)
	ok, err := s.st.Acquire(ctx, askPrefix+guid, holder, s.opts.AskTTL)
	if err != nil {
		return 0, fmt.Errorf("redeliver: claim %s: %w", guid, err)
	}
	if !ok {
		return askClaimed, nil
	}
	if !b.take() {
		if err := s.st.Release(ctx, askPrefix+guid, holder); err != nil {
			return 0, fmt.Errorf("redeliver: release %s: %w", guid, err)
		}
		return askNoBudget, nil
	}
	if err := s.gh.Redeliver(ctx, d.ID); err != nil {
		if rerr := s.st.Release(ctx, askPrefix+guid, holder); rerr != nil {
			s.log.WarnContext(ctx, "redeliver: release claim", "guid", guid, "err", rerr)
		}
		return 0, fmt.Errorf("redeliver: %s: %w", d, err)
	}
	s.log.InfoContext(ctx, "redeliver: redelivery asked", slog.String("guid", guid), slog.Int64("delivery", d.ID),
		slog.String("event", d.Event), slog.Int("status_code", d.StatusCode), slog.String("status", d.Status))
	return askDone, nil
}

// accepted reports whether any attempt of a guid was answered 2xx: the
// first delivery or a redelivery GitHub already made.
func accepted(ds []githubapp.HookDelivery) bool {
	for _, d := range ds {
		if d.Accepted() {
			return true
		}
	}
	return false
}

// pick is the attempt to redeliver: the original delivery when it is in
// the window, else the newest attempt (all carry the same event).
func pick(ds []githubapp.HookDelivery) githubapp.HookDelivery {
	for _, d := range ds {
		if !d.Redelivery {
			return d
		}
	}
	return ds[0]
}
