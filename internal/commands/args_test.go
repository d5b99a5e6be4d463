package commands

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseStrict(t *testing.T) {
	d := func(s string) time.Time {
		v, err := time.Parse(dateLayout, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	repl := &targetRef{Product: "orders.order-events", Port: "kafka-realtime"}
	for _, tc := range []struct {
		name     string
		text     string
		flags    bool
		want     deprecateReq
		problems []string // substrings, one per expected problem, in order
	}{
		{"port with every flag", `deprecate orders.order-events/iceberg-curated --sunset 2027-03-31 --replacement orders.order-events/kafka-realtime --reason "moved to v2"`, true,
			deprecateReq{Target: targetRef{"orders.order-events", "iceberg-curated"}, Sunset: d("2027-03-31"), SunsetText: "2027-03-31", Replacement: repl, Reason: "moved to v2"}, nil},
		{"equals form and single quotes", `deprecate orders.order-events --sunset=2027-03-31 --reason='it is "old"'`, true,
			deprecateReq{Target: targetRef{Product: "orders.order-events"}, Sunset: d("2027-03-31"), SunsetText: "2027-03-31", Reason: `it is "old"`}, nil},
		{"flags first", `deprecate --sunset 2027-03-31 orders.order-events`, true,
			deprecateReq{Target: targetRef{Product: "orders.order-events"}, Sunset: d("2027-03-31"), SunsetText: "2027-03-31"}, nil},
		{"flag names are case-blind", `deprecate a.b --SUNSET 2027-03-31`, true,
			deprecateReq{Target: targetRef{Product: "a.b"}, Sunset: d("2027-03-31"), SunsetText: "2027-03-31"}, nil},
		{"undeprecate", `undeprecate a.b/p`, false, deprecateReq{Target: targetRef{"a.b", "p"}}, nil},

		{"no target", `deprecate --sunset 2027-03-31`, true, deprecateReq{}, []string{"name what to change"}},
		{"no sunset", `deprecate a.b`, true, deprecateReq{}, []string{"`--sunset YYYY-MM-DD` is required"}},
		{"not a date", `deprecate a.b --sunset 31/03/2027`, true, deprecateReq{}, []string{"is not a date"}},
		{"no such day", `deprecate a.b --sunset 2027-02-30`, true, deprecateReq{}, []string{"is not a date"}},
		{"one-digit month", `deprecate a.b --sunset 2027-3-31`, true, deprecateReq{}, []string{"is not a date"}},
		{"misspelt flag", `deprecate a.b --sunet 2027-03-31`, true, deprecateReq{}, []string{"did you mean `--sunset`?"}},
		{"transposed letters", `deprecate a.b --sunset 2027-03-31 --raeson "x"`, true, deprecateReq{}, []string{"did you mean `--reason`?"}},
		{"unknown flag, nothing near", `deprecate a.b --sunset 2027-03-31 --force`, true, deprecateReq{}, []string{"there is no flag `--force`; the flags are"}},
		{"flag without value", `deprecate a.b --sunset`, true, deprecateReq{}, []string{"`--sunset` needs a value"}},
		{"flag followed by a flag", `deprecate a.b --reason --sunset 2027-03-31`, true, deprecateReq{}, []string{"`--reason` needs a value"}},
		{"twice", `deprecate a.b --sunset 2027-03-31 --sunset 2027-04-01`, true, deprecateReq{}, []string{"given twice"}},
		{"reason without quotes", `deprecate a.b --sunset 2027-03-31 --reason superseded by v3`, true, deprecateReq{}, []string{"goes in quotes"}},
		{"open quote", `deprecate a.b --sunset 2027-03-31 --reason "no end`, true, deprecateReq{}, []string{"quote is not closed"}},
		{"one dash", `deprecate a.b -sunset 2027-03-31`, true, deprecateReq{}, []string{"two hyphens"}},
		{"long dash from a phone", `deprecate a.b —sunset 2027-03-31`, true, deprecateReq{}, []string{"two hyphens"}},
		{"bad replacement", `deprecate a.b --sunset 2027-03-31 --replacement a.b/c/d`, true, deprecateReq{}, []string{"is not `<domain.product>/<port>`"}},
		{"empty reason", `deprecate a.b --sunset 2027-03-31 --reason ""`, true, deprecateReq{}, []string{"`--reason` is empty"}},
		{"long reason", `deprecate a.b --sunset 2027-03-31 --reason "` + strings.Repeat("x", maxReason+1) + `"`, true, deprecateReq{}, []string{"characters; keep it under"}},
		{"bad target", `deprecate a.b/ --sunset 2027-03-31`, true, deprecateReq{}, []string{"is not `<domain.product>`"}},
		{"undeprecate takes no flags", `undeprecate a.b --sunset 2027-03-31`, false, deprecateReq{}, []string{"takes no flags"}},
		{"two targets", `undeprecate a.b c.d`, false, deprecateReq{}, []string{"unexpected `c.d`"}},
		{"several problems at once", `deprecate --sunet 2027-13-01`, true, deprecateReq{}, []string{"did you mean `--sunset`?", "is not a date", "name what to change"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, perr := parseStrict(tc.text, tc.flags)
			if tc.problems == nil {
				if perr != nil {
					t.Fatalf("problems: %q", perr.problems)
				}
				if !reflect.DeepEqual(got, tc.want) {
					t.Errorf("got  %+v\nwant %+v", got, tc.want)
				}
				return
			}
			if perr == nil {
				t.Fatalf("no problem found in %q: %+v", tc.text, got)
			}
			if len(perr.problems) != len(tc.problems) {
				t.Fatalf("problems %q, want %d", perr.problems, len(tc.problems))
			}
			for i, p := range tc.problems {
				if !strings.Contains(perr.problems[i], p) {
					t.Errorf("problem %d = %q, want it to say %q", i, perr.problems[i], p)
				}
			}
		})
	}
}

// The corrected example of a mistake applies the suggestion and keeps
// what was right.
func TestMistakeExample(t *testing.T) {
	_, perr := parseStrict(`deprecate orders.order-events --sunet 2027-03-31 --reason "old" --replacement x.y/z`, true)
	if perr == nil {
		t.Fatal("no problem found")
	}
	got := mistake(false, perr.problems, perr.fixed, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))
	want := "For example: `/mesh deprecate orders.order-events --sunset 2027-03-31 --replacement x.y/z --reason \"old\"`"
	if !strings.Contains(got, want) {
		t.Errorf("reply:\n%s\nwant it to hold %s", got, want)
	}
	for _, line := range strings.Split(got, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), Prefix) {
			t.Errorf("a line of the reply reads as a command: %q", line)
		}
	}
}

func TestCodeSpan(t *testing.T) {
	for in, want := range map[string]string{"a b": "`a b`", "a `b` c": "`` a `b` c ``", "x ``y": "``` x ``y ```"} {
		if got := codeSpan(in); got != want {
			t.Errorf("codeSpan(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSuggest(t *testing.T) {
	ids := []string{"customer.customer-360", "customer.customer-profile", "finance.revenue", "orders.order-events", "orders.order-history-csv"}
	for _, tc := range []struct{ word, want string }{
		{"orders.order-event", "orders.order-events"},
		{"order.order-events", "orders.order-events"},
		{"finance.revenu", "finance.revenue"},
		{"finanse.revenue", "finance.revenue"},
		{"customer.customer-36", "customer.customer-360"},
		{"marketing.campaigns", ""},
		{"x", ""},
		{"", ""},
	} {
		if got := suggest(tc.word, ids); got != tc.want {
			t.Errorf("suggest(%q) = %q, want %q", tc.word, got, tc.want)
		}
	}
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"sunset", "sunset", 0}, {"sunet", "sunset", 1}, {"sunest", "sunset", 1}, {"", "abc", 3}, {"kitten", "sitting", 3}, {"résumé", "resume", 2},
	} {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestTeamOf(t *testing.T) {
	for _, tc := range []struct {
		owner string
		want  team
		ok    bool
	}{
		{"team-orders", team{"acme", "team-orders"}, true},
		{"@acme/team-orders", team{"acme", "team-orders"}, true},
		{"globex/data", team{"globex", "data"}, true},
		{" team-x ", team{"acme", "team-x"}, true},
		{"", team{}, false},
		{"pricing-lead@retailer.example", team{}, false},
		{"Team Orders", team{}, false},
		{"a/b/c", team{}, false},
	} {
		got, ok := teamOf(tc.owner, "acme")
		if got != tc.want || ok != tc.ok {
			t.Errorf("teamOf(%q) = %+v, %v; want %+v, %v", tc.owner, got, ok, tc.want, tc.ok)
		}
	}
}

func TestBranchFor(t *testing.T) {
	for _, tc := range []struct {
		undo undeprecating
		t    targetRef
		want string
	}{
		{false, targetRef{Product: "orders.order-events"}, "meshbot/deprecate/product/orders.order-events"},
		{false, targetRef{"orders.order-events", "iceberg-curated"}, "meshbot/deprecate/port/orders.order-events/iceberg-curated"},
		{true, targetRef{"orders.order-events", "iceberg-v1"}, "meshbot/undeprecate/port/orders.order-events/iceberg-v1"},
		{false, targetRef{"a..b", "x.lock"}, "meshbot/deprecate/port/a-b/x"},
		{false, targetRef{"a~b^c:d", "é"}, "meshbot/deprecate/port/a-b-c-d/-"},
	} {
		if got := branchFor(tc.undo, tc.t); got != tc.want {
			t.Errorf("branchFor(%v, %v) = %q, want %q", tc.undo, tc.t, got, tc.want)
		}
	}
}

// FuzzParseStrict holds the strict parser to what the replies rely on: it
// never panics; what it accepts, written back as a command line, reads the
// same; and the corrected example of whatever it refuses is itself a
// command line it accepts — a reply never suggests another mistake.
func FuzzParseStrict(f *testing.F) {
	for _, s := range []string{
		`deprecate orders.order-events/iceberg-curated --sunset 2027-03-31 --replacement orders.order-events/kafka-realtime --reason "moved to v2"`,
		`deprecate a.b --sunet 2027-13-01 --reason superseded by v3`,
		`deprecate --reason 'x' --reason "y" -- —sunset`,
		`undeprecate a.b/c --x`,
		`deprecate a.b --reason "a \" b \\ c" --sunset=2027-01-01`,
		`deprecate "a b" --sunset 2027-01-01`,
	} {
		f.Add(s, true)
	}
	hint := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, text string, withFlags bool) {
		name := "undeprecate"
		if withFlags {
			name = "deprecate"
		}
		req, perr := parseStrict(text, withFlags)
		if perr != nil {
			if len(perr.problems) == 0 {
				t.Fatal("an error without a problem")
			}
			example := strings.TrimPrefix(perr.fixed.commandLine(name, withFlags, hint), Prefix+" ")
			fixed, again := parseStrict(example, withFlags)
			if again != nil {
				t.Fatalf("the example %q of %q is refused too: %q", example, text, again.problems)
			}
			if fixed.Target != perr.fixed.Target && perr.fixed.Target.Product != "" {
				t.Fatalf("the example %q names %v, the fix was %v", example, fixed.Target, perr.fixed.Target)
			}
			return
		}
		line := strings.TrimPrefix(req.commandLine(name, withFlags, hint), Prefix+" ")
		back, perr := parseStrict(line, withFlags)
		if perr != nil {
			t.Fatalf("%q (from %q) is refused: %q", line, text, perr.problems)
		}
		if !reflect.DeepEqual(back, req) {
			t.Fatalf("%q reads as %+v, was %+v", line, back, req)
		}
	})
}

// The bounded distance agrees with the full one wherever it matters: at
// or under the bound it is exact, over it it says so.
func FuzzEditDistanceBound(f *testing.F) {
	f.Add("sunset", "sunest", 1)
	f.Add("orders.order-events", "order.orders-event", 3)
	f.Fuzz(func(t *testing.T, a, b string, bound int) {
		bound = min(max(bound, 0), 20)
		full := editDistance(a, b)
		var d distance
		got := d.within([]rune(a), []rune(b), bound)
		if (full <= bound) != (got <= bound) || (full <= bound && got != full) {
			t.Fatalf("within(%q, %q, %d) = %d, full distance %d", a, b, bound, got, full)
		}
	})
}
