package config

import (
	"os"
	"slices"
	"strings"
	"testing"
)

func TestReminderDays(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []int
		bad  bool
	}{
		{"", []int{30, 7}, false},
		{"30,7", []int{30, 7}, false},
		{"14 3 1", []int{14, 3, 1}, false},
		{"60d, 7d", []int{60, 7}, false},
		{"off", []int{}, false},
		{"0", nil, true},
		{"400", nil, true},
		{"soon", nil, true},
	} {
		cfg, err := Load(func(k string) string {
			if k == EnvReminderDays {
				return c.in
			}
			return ""
		}, os.ReadFile)
		if c.bad {
			if err == nil || !strings.Contains(err.Error(), EnvReminderDays) {
				t.Errorf("%q: error %v, want one naming %s", c.in, err, EnvReminderDays)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%q: %v", c.in, err)
		}
		if !slices.Equal(cfg.ReminderDays, c.want) {
			t.Errorf("%q: %v, want %v", c.in, cfg.ReminderDays, c.want)
		}
	}
}
