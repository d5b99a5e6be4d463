package mesh

import (
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"15m", 15 * time.Minute, true},
		{"<= 15m", 15 * time.Minute, true},
		{"< 1h", time.Hour, true},
		{"1h30m", 90 * time.Minute, true},
		{"25h", 25 * time.Hour, true},
		{"2d", 48 * time.Hour, true},
		{"1 hour", time.Hour, true},
		{"15 minutes", 15 * time.Minute, true},
		{"24 hours", 24 * time.Hour, true},
		{"5s", 5 * time.Second, true},
		{"1w", 7 * 24 * time.Hour, true},
		{"1y", 365 * 24 * time.Hour, true},
		{"0.5h", 30 * time.Minute, true},
		{"PT15M", 15 * time.Minute, true},
		{"PT1H", time.Hour, true},
		{"P1D", 24 * time.Hour, true},
		{"P1DT2H", 26 * time.Hour, true},
		{"P1M", 30 * 24 * time.Hour, true},
		{"P1Y", 365 * 24 * time.Hour, true},
		{"PT0,5H", 30 * time.Minute, true},
		{"", 0, false},
		{"soon", 0, false},
		{"15", 0, false},
		{"15 parsecs", 0, false},
		{"P", 0, false},
		{"PT", 0, false},
		{"P1H", 0, false}, // hours belong after T
		{"PT1D", 0, false},
		{"P1DT2HT3M", 0, false},
		{"-5m", 0, false},
		{"1e300h", 0, false},
		{"99999999999999999999y", 0, false},
		{"1..2h", 0, false},
	}
	for _, tt := range tests {
		got, ok := ParseDuration(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParsePercent(t *testing.T) {
	tests := []struct {
		in   string
		want float64
		ok   bool
	}{
		{"99.5%", 99.5, true},
		{">= 99.9%", 99.9, true},
		{"100", 100, true},
		{" 50 % ", 50, true},
		{"101%", 0, false},
		{"-1%", 0, false},
		{"always", 0, false},
		{"NaN%", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		got, ok := ParsePercent(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParsePercent(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// TestODCSSLAUnitApart: ODCS writes the unit in its own key; the value and
// the unit are one promise, never "99.5 percent is not a percentage".
func TestODCSSLAUnitApart(t *testing.T) {
	src := `apiVersion: v3.1.0
kind: DataContract
id: c1
version: 1.0.0
status: active
slaProperties:
  - property: availability
    value: 99.5
    unit: percent
  - property: completeness
    value: 95%
    unit: "%"
  - property: retention
    value: 90
    unit: days
  - property: latency
    value: 4
    unit: d
  - property: freshness
    value: 2
    unit: hours
  - property: frequency
    value: 1
    unit: d
  - property: timeOfAvailability
    value: 09:00-08:00
    driver: regulatory
`
	c, _, probs := ReadContract("c.odcs.yaml", []byte(src))
	if len(probs) != 0 {
		t.Fatalf("problems on a valid contract: %v", probs)
	}
	s := c.ServiceLevels
	if s.AvailabilityPct != 99.5 || s.CompletenessPct != 95 {
		t.Errorf("percentages = %v, %v; want 99.5, 95", s.AvailabilityPct, s.CompletenessPct)
	}
	if s.RetentionMin != 90*day || s.LatencyMax != 4*day || s.FreshnessMax != 2*time.Hour {
		t.Errorf("spans = %v, %v, %v", s.RetentionMin, s.LatencyMax, s.FreshnessMax)
	}
	if len(s.Other) != 2 || s.Other[0].Key != "frequency" || s.Other[0].Duration != day || !s.Other[0].IsSpan {
		t.Errorf("other = %+v", s.Other)
	}
	if s.Other[1].Key != "timeofavailability|driver=regulatory" || s.Other[1].IsSpan {
		t.Errorf("timeOfAvailability = %+v", s.Other[1])
	}

	_, _, probs = ReadContract("c.odcs.yaml", []byte(strings.Replace(src, "unit: percent", "unit: days", 1)))
	if len(probs) != 1 || probs[0].Code != CodeBadValue {
		t.Errorf("an availability in days must be one bad-value, got %v", probs)
	}
}
