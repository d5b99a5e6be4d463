package compat

import (
	"fmt"
	"testing"
)

func TestParseVersion(t *testing.T) {
	tests := []struct {
		in                  string
		ok                  bool
		major, minor, patch int
		pre                 string
	}{
		{"2", true, 2, 0, 0, ""},
		{"2.0", true, 2, 0, 0, ""},
		{"v2.1.0", true, 2, 1, 0, ""},
		{"V3.4.5", true, 3, 4, 5, ""},
		{" 1.2.3 ", true, 1, 2, 3, ""},
		{"1.2.3-rc.1+build.5", true, 1, 2, 3, "rc.1"},
		{"1.2.3+build", true, 1, 2, 3, ""},
		{"", false, 0, 0, 0, ""},
		{"v", false, 0, 0, 0, ""},
		{"1.2.3.4", false, 0, 0, 0, ""},
		{"1..2", false, 0, 0, 0, ""},
		{"one", false, 0, 0, 0, ""},
		{"1.-2", false, 0, 0, 0, ""},
		{"1.+2", false, 0, 0, 0, ""},
	}
	for _, tt := range tests {
		v, ok := parseVersion(tt.in)
		if ok != tt.ok || ok && (v.major != tt.major || v.minor != tt.minor || v.patch != tt.patch || v.pre != tt.pre) {
			t.Errorf("parseVersion(%q) = %+v, %v", tt.in, v, ok)
		}
	}
}

func TestVersionOrder(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"1.0.0", "1.0.0", 0},
		{"1", "1.0.0", 0},
		{"1.0.1", "1.0.0", 1},
		{"1.2.0", "1.10.0", -1},
		{"2.0.0-rc.1", "2.0.0", -1},
		{"2.0.0", "2.0.0-rc.1", 1},
		{"2.0.0-alpha", "2.0.0-beta", -1},
	}
	for _, tt := range tests {
		a, _ := parseVersion(tt.a)
		b, _ := parseVersion(tt.b)
		if got := a.compare(b); got != tt.want {
			t.Errorf("%s vs %s = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

// FuzzParseVersion: versions come from contracts as written. Parsing never
// panics, and a parsed version printed back parses to an equal version.
func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"2", "2.0", "v2.1.0", "1.2.3-rc.1+b", "", "1..2", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, ok := parseVersion(s)
		if !ok {
			return
		}
		if v.major < 0 || v.minor < 0 || v.patch < 0 {
			t.Fatalf("negative part in %q: %+v", s, v)
		}
		again, ok := parseVersion(fmt.Sprintf("%d.%d.%d", v.major, v.minor, v.patch))
		if !ok || again.compare(semver{v.major, v.minor, v.patch, ""}) != 0 {
			t.Fatalf("round trip of %q: %+v -> %+v %v", s, v, again, ok)
		}
	})
}
