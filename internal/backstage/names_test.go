package backstage

import (
	"strings"
	"testing"
)

func TestName(t *testing.T) {
	long := strings.Repeat("a", 70)
	tests := []struct{ in, want string }{
		{"orders.order-events", "orders.order-events"},
		{"orders.order-events--iceberg-curated", "orders.order-events--iceberg-curated"},
		{"Team_X", "Team_X"},
		{"orders/order events", "orders-order-events"},
		{"-lead.trail-", "lead.trail"},
		{"a", "a"},
		{"", "x-" + shortHash("")},
		{"日本語", "x-" + shortHash("日本語")},
		{"ab日本語", "ab-" + shortHash("ab日本語")},
		{long, strings.Repeat("a", maxName-hashLen-1) + "-" + shortHash(long)},
		{strings.Repeat("a", 63), strings.Repeat("a", 63)},
	}
	for _, tc := range tests {
		got := Name(tc.in)
		if got != tc.want {
			t.Errorf("Name(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if !ValidName(got) {
			t.Errorf("Name(%q) = %q is not valid", tc.in, got)
		}
	}
}

func TestValidName(t *testing.T) {
	for s, want := range map[string]bool{
		"a": true, "a.b-c_d": true, "a--b": true, "A9": true,
		"": false, "-a": false, "a-": false, "a b": false, "a/b": false, "é": false,
		strings.Repeat("a", 63): true, strings.Repeat("a", 64): false,
	} {
		if got := ValidName(s); got != want {
			t.Errorf("ValidName(%q) = %t, want %t", s, got, want)
		}
	}
}

func TestTag(t *testing.T) {
	tests := []struct{ in, want string }{
		{"pii", "pii"},
		{"residency-EU", "residency-eu"},
		{"Iceberg Table", "iceberg-table"},
		{"c++ / c#", "c++-c#"},
		{"--x--", "x"},
		{"ÉU", "u"},
		{"", ""},
		{"!!!", ""},
		{strings.Repeat("ab-", 30), strings.TrimRight(strings.Repeat("ab-", 30)[:63], "-")},
	}
	for _, tc := range tests {
		got := Tag(tc.in)
		if got != tc.want {
			t.Errorf("Tag(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got != "" && !ValidTag(got) {
			t.Errorf("Tag(%q) = %q is not valid", tc.in, got)
		}
	}
}

func TestNamerClaim(t *testing.T) {
	n := newNamer()
	first := n.claim("orders.events", "k1")
	again := n.claim("orders.events", "k1")
	second := n.claim("Orders.Events", "k2")
	third := n.claim("orders.events", "k3")
	if first != "orders.events" || again != first {
		t.Errorf("first claimant: %q %q", first, again)
	}
	if second == first || third == first || second == third {
		t.Errorf("collisions not resolved: %q %q %q", first, second, third)
	}
	if second != "Orders.Events-"+shortHash("k2") {
		t.Errorf("second = %q", second)
	}
	// A suffixed name that is itself taken falls back to a salted hash.
	m := newNamer()
	m.claim("x-"+shortHash("k2"), "squatter")
	m.claim("x", "k1")
	got := m.claim("x", "k2")
	if got == "x" || got == "x-"+shortHash("k2") || !ValidName(got) {
		t.Errorf("double collision gave %q", got)
	}
}

// FuzzName: whatever a descriptor holds, names and tags come out valid.
func FuzzName(f *testing.F) {
	for _, s := range []string{"orders.order-events", "", "-", "日本語", "a/b c", strings.Repeat("x.", 40), "Ünïcödé--", "a\x00b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := Name(s)
		if !ValidName(n) {
			t.Fatalf("Name(%q) = %q is invalid", s, n)
		}
		if ValidName(s) && n != s {
			t.Fatalf("Name(%q) changed a valid name to %q", s, n)
		}
		if tag := Tag(s); tag != "" && !ValidTag(tag) {
			t.Fatalf("Tag(%q) = %q is invalid", s, tag)
		}
		nm := newNamer()
		a, b := nm.claim(s, "a"), nm.claim(s, "b")
		if strings.EqualFold(a, b) || !ValidName(a) || !ValidName(b) {
			t.Fatalf("claim(%q) twice: %q %q", s, a, b)
		}
	})
}

func TestOrgNamespace(t *testing.T) {
	tests := []struct{ login, want string }{
		{"acme", "acme"},
		{"Acme-Corp", "acme-corp"},
		{"octo_acme", "octo-acme-" + shortHash("octo_acme")},
		{"___", "x-" + shortHash("___")},
	}
	for _, tc := range tests {
		if got := OrgNamespace(tc.login); got != tc.want || !validNamespace(got) {
			t.Errorf("OrgNamespace(%q) = %q (valid %t), want %q", tc.login, got, validNamespace(got), tc.want)
		}
	}
	if OrgNamespace("octo_acme") == OrgNamespace("octo-acme") {
		t.Error("a rewritten login shares the namespace of the login it was rewritten to")
	}
	long := strings.Repeat("a_", 40)
	if got := OrgNamespace(long); len(got) > maxNamespace || !validNamespace(got) {
		t.Errorf("OrgNamespace(long) = %q", got)
	}
}
