package compat

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// semver is a version read tolerantly: "2", "2.0", "v2.1.0" and
// "2.1.0-rc.1+build" all parse; missing parts are zero.
type semver struct {
	major, minor, patch int
	pre                 string
}

func parseVersion(s string) (semver, bool) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(strings.TrimPrefix(s, "v"), "V")
	if i := strings.IndexByte(s, '+'); i >= 0 {
		s = s[:i]
	}
	var v semver
	if i := strings.IndexByte(s, '-'); i >= 0 {
		s, v.pre = s[:i], s[i+1:]
	}
	if s == "" {
		return semver{}, false
	}
	parts := strings.Split(s, ".")
	if len(parts) > 3 {
		return semver{}, false
	}
	nums := [3]int{}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || p == "" || p[0] == '+' {
			return semver{}, false
		}
		nums[i] = n
	}
	v.major, v.minor, v.patch = nums[0], nums[1], nums[2]
	return v, true
}

// compare orders versions; a pre-release sorts before its release.
func (a semver) compare(b semver) int {
	for _, d := range [...]int{a.major - b.major, a.minor - b.minor, a.patch - b.patch} {
		if d != 0 {
			if d < 0 {
				return -1
			}
			return 1
		}
	}
	switch {
	case a.pre == b.pre:
		return 0
	case a.pre == "":
		return 1
	case b.pre == "":
		return -1
	}
	return strings.Compare(a.pre, b.pre)
}

// parseSpan reads a duration as people write it in service levels: "15m",
// "<= 1h", "2 days", "1y", "P3M", "PT15M". Months are 30 days and years 365;
// that is precise enough to order two promises. ok is false when s does not
// read as a duration.
func parseSpan(s string) (time.Duration, bool) {
	s = strings.TrimSpace(strings.ToLower(s))
	s = strings.TrimLeft(s, "<>=~ ")
	if s == "" {
		return 0, false
	}
	if s[0] == 'p' {
		return parseISODuration(s[1:])
	}
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
		i++
	}
	n, err := strconv.ParseFloat(s[:i], 64)
	if err != nil || n < 0 || math.IsInf(n, 0) {
		return 0, false
	}
	unit, ok := spanUnit(strings.TrimSpace(s[i:]))
	if !ok {
		return 0, false
	}
	return scale(n, unit)
}

func spanUnit(u string) (time.Duration, bool) {
	const day = 24 * time.Hour
	switch u {
	case "ms", "millisecond", "milliseconds":
		return time.Millisecond, true
	case "s", "sec", "secs", "second", "seconds":
		return time.Second, true
	case "m", "min", "mins", "minute", "minutes":
		return time.Minute, true
	case "h", "hr", "hrs", "hour", "hours":
		return time.Hour, true
	case "d", "day", "days":
		return day, true
	case "w", "week", "weeks":
		return 7 * day, true
	case "mo", "month", "months":
		return 30 * day, true
	case "y", "yr", "year", "years":
		return 365 * day, true
	}
	return 0, false
}

func scale(n float64, unit time.Duration) (time.Duration, bool) {
	d := n * float64(unit)
	if d > math.MaxInt64 {
		return 0, false
	}
	return time.Duration(d), true
}

// parseISODuration reads the part after "P" of an ISO 8601 duration.
func parseISODuration(s string) (time.Duration, bool) {
	const day = 24 * time.Hour
	var total time.Duration
	inTime, seen := false, false
	for s != "" {
		if s[0] == 't' {
			if inTime {
				return 0, false
			}
			inTime, s = true, s[1:]
			continue
		}
		i := 0
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
			i++
		}
		if i == 0 || i == len(s) {
			return 0, false
		}
		n, err := strconv.ParseFloat(s[:i], 64)
		if err != nil {
			return 0, false
		}
		var unit time.Duration
		switch c := s[i]; {
		case c == 'y' && !inTime:
			unit = 365 * day
		case c == 'm' && !inTime:
			unit = 30 * day
		case c == 'w' && !inTime:
			unit = 7 * day
		case c == 'd' && !inTime:
			unit = day
		case c == 'h' && inTime:
			unit = time.Hour
		case c == 'm' && inTime:
			unit = time.Minute
		case c == 's' && inTime:
			unit = time.Second
		default:
			return 0, false
		}
		d, ok := scale(n, unit)
		if !ok || total > math.MaxInt64-d {
			return 0, false
		}
		total += d
		seen = true
		s = s[i+1:]
	}
	return total, seen
}

// parsePercent reads "99.5%", "99.5" or ">= 99.9%".
func parsePercent(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	s = strings.TrimLeft(s, "<>=~ ")
	s = strings.TrimSpace(strings.TrimSuffix(s, "%"))
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}
