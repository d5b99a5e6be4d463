package config

import (
	"fmt"
	"strconv"
	"strings"
)

// EnvReminderDays sets when the consumers of a deprecated product or port
// are reminded of its sunset: days before it, "30,7" by default; "off"
// sends none. Not in the product description, which names no such
// variable; named in its style.
const EnvReminderDays = "MESHBOT_DEPRECATION_REMINDERS"

// DefaultReminderDays are the reminder thresholds when EnvReminderDays is
// unset.
var DefaultReminderDays = []int{30, 7}

// parseReminderDays reads EnvReminderDays: comma or space separated whole
// days from 1 to 365, or off. Empty means the default.
func parseReminderDays(s string) ([]int, error) {
	switch strings.ToLower(s) {
	case "":
		return append([]int(nil), DefaultReminderDays...), nil
	case "off", "none":
		return []int{}, nil
	}
	var days []int
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		n, err := strconv.Atoi(strings.TrimSuffix(f, "d"))
		if err != nil || n < 1 || n > 365 {
			return nil, fmt.Errorf("%q: want days before the sunset from 1 to 365, comma separated (\"30,7\"), or off", f)
		}
		days = append(days, n)
	}
	return days, nil
}
