package mesh

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// ParseDuration reads a service-level duration as people write it in
// descriptors and contracts: Go-style ("15m", "1h30m", "25h"), with days,
// weeks and years ("2d", "1w", "1y"), spelled out ("1 hour", "15 minutes"),
// ISO 8601 ("PT15M", "P1DT2H", "P1Y"), optionally after a bound ("<= 15m",
// "< 1h"). "m" is minutes; months exist only in ISO form ("P1M") and count
// as 30 days, years as 365. It reports false for anything else, for negative
// values and for values beyond time.Duration's range.
func ParseDuration(s string) (time.Duration, bool) {
	s = strings.TrimSpace(s)
	for _, op := range []string{"<=", "=<", "≤", "<", "=="} {
		if strings.HasPrefix(s, op) {
			s = strings.TrimSpace(s[len(op):])
			break
		}
	}
	if s == "" {
		return 0, false
	}
	if s[0] == 'P' || s[0] == 'p' {
		return parseISODuration(s[1:])
	}
	var total float64
	rest := s
	for rest != "" {
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.') {
			i++
		}
		if i == 0 {
			return 0, false
		}
		n, err := strconv.ParseFloat(rest[:i], 64)
		if err != nil {
			return 0, false
		}
		rest = strings.TrimLeft(rest[i:], " ")
		j := 0
		for j < len(rest) && (rest[j] >= 'a' && rest[j] <= 'z' || rest[j] >= 'A' && rest[j] <= 'Z') {
			j++
		}
		unit, ok := durationUnit(strings.ToLower(rest[:j]))
		if !ok {
			return 0, false
		}
		total += n * float64(unit)
		rest = strings.TrimLeft(rest[j:], " ,")
	}
	return clampDuration(total)
}

func clampDuration(f float64) (time.Duration, bool) {
	if math.IsNaN(f) || f < 0 || f >= math.MaxInt64 {
		return 0, false
	}
	return time.Duration(f), true
}

const day = 24 * time.Hour

func durationUnit(u string) (time.Duration, bool) {
	switch u {
	case "ns":
		return time.Nanosecond, true
	case "us", "µs":
		return time.Microsecond, true
	case "ms":
		return time.Millisecond, true
	case "s", "sec", "secs", "second", "seconds":
		return time.Second, true
	case "m", "min", "mins", "minute", "minutes":
		return time.Minute, true
	case "h", "hr", "hrs", "hour", "hours":
		return time.Hour, true
	case "d", "day", "days":
		return day, true
	case "w", "wk", "week", "weeks":
		return 7 * day, true
	case "mo", "month", "months":
		return 30 * day, true
	case "y", "yr", "yrs", "year", "years":
		return 365 * day, true
	}
	return 0, false
}

// parseISODuration reads the part after "P": nY nM nW nD, then T nH nM nS.
func parseISODuration(s string) (time.Duration, bool) {
	if s == "" {
		return 0, false
	}
	var total float64
	inTime, seen := false, false
	for s != "" {
		if s[0] == 'T' || s[0] == 't' {
			if inTime {
				return 0, false
			}
			inTime = true
			s = s[1:]
			continue
		}
		i := 0
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.' || s[i] == ',') {
			i++
		}
		if i == 0 || i == len(s) {
			return 0, false
		}
		n, err := strconv.ParseFloat(strings.Replace(s[:i], ",", ".", 1), 64)
		if err != nil {
			return 0, false
		}
		var unit time.Duration
		switch c := s[i] | 0x20; {
		case !inTime && c == 'y':
			unit = 365 * day
		case !inTime && c == 'm':
			unit = 30 * day
		case !inTime && c == 'w':
			unit = 7 * day
		case !inTime && c == 'd':
			unit = day
		case inTime && c == 'h':
			unit = time.Hour
		case inTime && c == 'm':
			unit = time.Minute
		case inTime && c == 's':
			unit = time.Second
		default:
			return 0, false
		}
		total += n * float64(unit)
		seen = true
		s = s[i+1:]
	}
	if !seen {
		return 0, false
	}
	return clampDuration(total)
}

// ParsePercent reads a percentage as written in SLAs: "99.5%", ">= 99.9%" or
// a bare number between 0 and 100.
func ParsePercent(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	for _, op := range []string{">=", "=>", "≥", ">", "=="} {
		if strings.HasPrefix(s, op) {
			s = strings.TrimSpace(s[len(op):])
			break
		}
	}
	s = strings.TrimSpace(strings.TrimSuffix(s, "%"))
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > 100 {
		return 0, false
	}
	return f, true
}

// readSLA reads a native sla mapping (freshness, availability, completeness,
// retention, latency as strings). prefix is the dotted path of the mapping
// for Locs.
func readSLA(o obj) SLA {
	s := SLA{Pos: o.pos(), Locs: o.locs(nil, "")}
	s.Freshness = o.scalarStr("freshness")
	s.Availability = o.scalarStr("availability")
	s.Completeness = o.scalarStr("completeness")
	s.Retention = o.scalarStr("retention")
	s.Latency = o.scalarStr("latency")
	s.FreshnessMax = o.duration("freshness", s.Freshness)
	s.AvailabilityPct = o.percent("availability", s.Availability)
	s.CompletenessPct = o.percent("completeness", s.Completeness)
	return s
}

func (o obj) duration(k, v string) time.Duration {
	if v == "" {
		return 0
	}
	d, ok := ParseDuration(v)
	if !ok {
		o.r.add(CodeBadDuration, o.keyPos(k), "%s %q is not a duration meshbot can compare (write e.g. \"15m\", \"1h\", \"<= 2d\" or \"PT1H\")", o.path(k), v)
	}
	return d
}

func (o obj) percent(k, v string) float64 {
	if v == "" {
		return 0
	}
	f, ok := ParsePercent(v)
	if !ok {
		o.r.add(CodeBadValue, o.keyPos(k), "%s %q is not a percentage (write e.g. \"99.5%%\")", o.path(k), v)
	}
	return f
}

// readDeprecation reads {sunset, replacement, reason}.
func readDeprecation(o obj) *Deprecation {
	d := &Deprecation{Pos: o.pos(), Locs: o.locs(nil, "")}
	d.Sunset = o.str("sunset")
	d.Replacement = o.str("replacement")
	d.Reason = o.str("reason")
	if d.Sunset != "" {
		t, err := time.Parse(time.DateOnly, d.Sunset)
		if err != nil {
			o.r.add(CodeBadDate, o.keyPos("sunset"), "%s %q is not a date; write YYYY-MM-DD", o.path("sunset"), d.Sunset)
		} else {
			d.SunsetDate = t
		}
	}
	return d
}
