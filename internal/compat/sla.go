package compat

import (
	"fmt"
	"time"

	"github.com/meshbot/meshbot/internal/mesh"
)

// promise is one service level in both versions, reduced to a number where
// it reads as one.
type promise struct {
	what      string  // "freshness", "availability", ...
	key       string  // Locs key
	o, n      string  // as written
	ov, nv    float64 // parsed
	ook, nok  bool
	lowerIsOK bool   // true when a smaller value is a stronger promise (freshness)
	weakened  string // rule id when the promise is weakened or dropped
	advice    string // what to do, appended to the weakened message
}

// sla compares service levels of a contract or a descriptor. Values the
// reader parsed are preferred; otherwise the text is parsed here, and a
// change that still cannot be ordered is reported as sla-changed.
func (d *differ) sla(scope string, b, h mesh.SLA, fallback mesh.Pos) {
	if b.Freshness == h.Freshness && b.Availability == h.Availability && b.Completeness == h.Completeness &&
		b.Retention == h.Retention && b.Latency == h.Latency {
		return
	}
	if h.Pos != (mesh.Pos{}) {
		fallback = h.Pos
	}
	fo, fook := span(b.FreshnessMax, b.Freshness)
	fn, fnok := span(h.FreshnessMax, h.Freshness)
	ro, rook := span(0, b.Retention)
	rn, rnok := span(0, h.Retention)
	ao, aook := pct(b.AvailabilityPct, b.Availability)
	an, anok := pct(h.AvailabilityPct, h.Availability)
	co, cook := pct(b.CompletenessPct, b.Completeness)
	cn, cnok := pct(h.CompletenessPct, h.Completeness)
	for _, p := range [...]promise{
		{"freshness", "freshness", b.Freshness, h.Freshness, float64(fo), float64(fn), fook, fnok, true, RuleSLAFreshnessLoosened,
			"consumers scheduled on the old promise read stale data: keep it or agree the new one with every consumer"},
		{"availability", "availability", b.Availability, h.Availability, ao, an, aook, anok, false, RuleSLAAvailabilityLowered,
			"tell consumers who plan on it"},
		{"completeness", "completeness", b.Completeness, h.Completeness, co, cn, cook, cnok, false, RuleSLACompletenessLowered,
			"tell consumers who reconcile against it"},
		{"retention", "retention", b.Retention, h.Retention, float64(ro), float64(rn), rook, rnok, false, RuleSLARetentionShortened,
			"consumers replaying history may lose it: tell them before it takes effect"},
		{"latency", "latency", b.Latency, h.Latency, 0, 0, false, false, true, "", ""},
	} {
		d.promise(scope, p, at(h.Locs, fallback, p.key))
	}
}

func (d *differ) promise(scope string, p promise, pos mesh.Pos) {
	if p.o == p.n {
		return
	}
	stronger := p.nv > p.ov
	if p.lowerIsOK {
		stronger = p.nv < p.ov
	}
	switch {
	case p.weakened != "" && p.n == "":
		d.add(p.weakened, pos, nil, p.o, p.n, fmt.Sprintf("%s no longer promises %s (was %s); %s", scope, p.what, p.o, p.advice))
	case p.weakened != "" && p.o == "":
		d.add(RuleSLAImproved, pos, nil, p.o, p.n, fmt.Sprintf("%s now promises %s %s", scope, p.what, p.n))
	case p.weakened == "" || !p.ook || !p.nok || p.ov == p.nv:
		d.add(RuleSLAChanged, pos, nil, p.o, p.n, fmt.Sprintf("%s %s changed from %s to %s", scope, p.what, quote(p.o), quote(p.n)))
	case stronger:
		d.add(RuleSLAImproved, pos, nil, p.o, p.n, fmt.Sprintf("%s %s improved from %s to %s", scope, p.what, p.o, p.n))
	default:
		d.add(p.weakened, pos, nil, p.o, p.n, fmt.Sprintf("%s %s weakened from %s to %s; %s", scope, p.what, p.o, p.n, p.advice))
	}
}

func span(parsed time.Duration, text string) (time.Duration, bool) {
	if parsed > 0 {
		return parsed, true
	}
	if text == "" {
		return 0, false
	}
	return mesh.ParseDuration(text)
}

func pct(parsed float64, text string) (float64, bool) {
	if parsed > 0 {
		return parsed, true
	}
	if text == "" {
		return 0, false
	}
	return mesh.ParsePercent(text)
}
