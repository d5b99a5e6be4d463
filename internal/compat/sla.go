package compat

import (
	"fmt"
	"slices"
	"strings"
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
		b.Retention == h.Retention && b.Latency == h.Latency && slices.Equal(b.Other, h.Other) {
		return
	}
	if h.Pos != (mesh.Pos{}) {
		fallback = h.Pos
	}
	fo, fook := span(b.FreshnessMax, b.Freshness)
	fn, fnok := span(h.FreshnessMax, h.Freshness)
	ro, rook := span(b.RetentionMin, b.Retention)
	rn, rnok := span(h.RetentionMin, h.Retention)
	lo, look := span(b.LatencyMax, b.Latency)
	ln, lnok := span(h.LatencyMax, h.Latency)
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
			"consumers replaying, backfilling or auditing history lose it: keep it or agree the new one with every consumer"},
		{"latency", "latency", b.Latency, h.Latency, float64(lo), float64(ln), look, lnok, true, RuleSLALoosened,
			"consumers waiting on the old bound read late data: keep it or agree the new one with every consumer"},
	} {
		d.promise(scope, p, at(h.Locs, fallback, p.key))
	}
	d.otherSLA(scope, b.Other, h.Other, fallback)
}

// otherSLA compares the ODCS service levels SLA does not name, matched by
// property (and driver and element). A span that grows (frequency 1d to 7d,
// timeToResolve) is a looser promise; so is an end of support or of life
// that comes earlier. Anything else that changed cannot be ordered.
func (d *differ) otherSLA(scope string, base, head []mesh.SLAProperty, fallback mesh.Pos) {
	find := func(l []mesh.SLAProperty, key string) *mesh.SLAProperty {
		for i := range l {
			if l[i].Key == key {
				return &l[i]
			}
		}
		return nil
	}
	for _, bp := range base {
		hp := find(head, bp.Key)
		what := bp.Property
		if hp == nil {
			d.add(RuleSLALoosened, fallback, nil, bp.Value, "",
				fmt.Sprintf("%s no longer promises %s (was %s); consumers relying on it lose the guarantee: keep it or agree its removal with every consumer", scope, what, bp.Value))
			continue
		}
		if hp.Value == bp.Value {
			continue
		}
		longerIsWorse, endDate := slaDirection(bp.Property)
		switch {
		case bp.IsSpan && hp.IsSpan && hp.Duration != bp.Duration && longerIsWorse:
			if hp.Duration > bp.Duration {
				d.add(RuleSLALoosened, hp.Pos, nil, bp.Value, hp.Value,
					fmt.Sprintf("%s %s loosened from %s to %s; consumers relying on it are let down: keep it or agree the new one with every consumer", scope, what, bp.Value, hp.Value))
			} else {
				d.add(RuleSLAImproved, hp.Pos, nil, bp.Value, hp.Value, fmt.Sprintf("%s %s improved from %s to %s", scope, what, bp.Value, hp.Value))
			}
		case endDate && hp.Value < bp.Value && sameDateShape(bp.Value, hp.Value):
			d.add(RuleSLALoosened, hp.Pos, nil, bp.Value, hp.Value,
				fmt.Sprintf("%s %s moved earlier from %s to %s; consumers planned on the old date: keep it or agree the new one with every consumer", scope, what, bp.Value, hp.Value))
		default:
			d.add(RuleSLAChanged, hp.Pos, nil, bp.Value, hp.Value, fmt.Sprintf("%s %s changed from %s to %s", scope, what, quote(bp.Value), quote(hp.Value)))
		}
	}
	for _, hp := range head {
		if find(base, hp.Key) == nil {
			d.add(RuleSLAImproved, hp.Pos, nil, "", hp.Value, fmt.Sprintf("%s now promises %s %s", scope, hp.Property, hp.Value))
		}
	}
}

// slaDirection says how an ODCS property is ordered: longerIsWorse for
// spans where a larger value is a weaker promise, endDate for dates that
// end a service.
func slaDirection(property string) (longerIsWorse, endDate bool) {
	switch strings.ToLower(property) {
	case "endofsupport", "endoflife":
		return false, true
	case "generalavailability", "throughput", "timeofavailability":
		return false, false
	}
	return true, false
}

// sameDateShape is true when two dates are written alike (same length,
// both ISO), so comparing them as text orders them in time.
func sameDateShape(a, b string) bool {
	return len(a) == len(b) && len(a) >= 10 && a[4] == '-' && b[4] == '-'
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
