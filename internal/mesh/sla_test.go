package mesh

import (
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
