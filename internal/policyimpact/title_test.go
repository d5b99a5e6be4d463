package policyimpact

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/meshbot/meshbot/internal/checkrun"
)

func changes(kind Kind, owners ...string) []Change {
	moves := map[Kind][2]Verdict{NewlyFails: {Pass, Fail}, WarnToFail: {Warn, Fail}, FailToWarn: {Fail, Warn},
		NewlyPasses: {Fail, Pass}, NewlyWarns: {Pass, Warn}, NoLongerWarns: {Warn, Pass}}
	out := make([]Change, len(owners))
	for i, o := range owners {
		if kindOf(moves[kind][0], moves[kind][1]) != kind {
			panic("kindOf disagrees with " + kind)
		}
		out[i] = Change{Kind: kind, From: moves[kind][0], To: moves[kind][1], Owner: o, Repo: "acme/r", SHA: "abc", Product: fmt.Sprintf("d.p%d-%s", i, kind), File: "dataproduct.yaml"}
	}
	return out
}

func join(cs ...[]Change) []Change {
	var out []Change
	for _, c := range cs {
		out = append(out, c...)
	}
	return out
}

// TestTitle: products and teams are counted (teams once however many of
// their products fail), in singular or plural, and the title stays one line.
func TestTitle(t *testing.T) {
	for _, c := range []struct {
		name string
		rep  Report
		want string
	}{
		{"the issue's example", Report{Products: 50, Changes: join(changes(NewlyFails, "team-a", "team-b", "team-a"), changes(WarnToFail, "team-c"), changes(NewlyPasses, "team-d"), changes(FailToWarn, "team-a"))},
			"would newly fail 4 products owned by 3 teams; 2 newly pass"},
		{"one of each", Report{Products: 2, Changes: join(changes(NewlyFails, "team-a"), changes(NewlyPasses, "team-b"))},
			"would newly fail 1 product owned by 1 team; 1 newly passes"},
		{"one team, many products", Report{Products: 9, Changes: changes(NewlyFails, "team-a", "team-a", "team-a")},
			"would newly fail 3 products owned by 1 team"},
		{"products without an owner", Report{Products: 9, Changes: changes(NewlyFails, "team-a", "", "")},
			"would newly fail 3 products owned by 1 team (2 with no owner)"},
		{"only passes", Report{Products: 9, Changes: join(changes(NewlyPasses, "team-a"), changes(FailToWarn, "team-b"))},
			"2 products would newly pass; none newly fails"},
		{"one pass", Report{Products: 9, Changes: changes(NewlyPasses, "team-a")},
			"1 product would newly pass; none newly fails"},
		{"only warnings move", Report{Products: 1234, Changes: join(changes(NewlyWarns, "a", "b", "c"), changes(NoLongerWarns, "d"))},
			"no product changes between pass and fail (1,234 products); 3 newly warn, 1 no longer warns"},
		{"nothing", Report{Products: 1234}, "no product changes verdict (1,234 products)"},
		{"one product", Report{Products: 1}, "no product changes verdict (1 product)"},
		{"not previewed", Report{Products: 1_234_567, NotPreviewed: []NotPreviewed{{Repo: "a/b"}, {Repo: "a/c"}}},
			"no product changes verdict (1,234,567 products) (2 repositories not previewed)"},
		{"one not previewed", Report{Products: 3, Changes: changes(NewlyFails, "t"), NotPreviewed: []NotPreviewed{{Repo: "a/b"}}},
			"would newly fail 1 product owned by 1 team (1 repository not previewed)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Title(&c.rep); got != c.want {
				t.Errorf("Title = %q\n   want %q", got, c.want)
			}
		})
	}
}

// TestMarkdownBudget: a preview of many changes stays within the budget,
// counts what it could not list, and links every listed product.
func TestMarkdownBudget(t *testing.T) {
	owners := make([]string, 3000)
	for i := range owners {
		owners[i] = fmt.Sprintf("team-%03d", i%300)
	}
	rep := Report{Products: 10_000, Repos: 250, Unchanged: 7000, Changes: changes(NewlyFails, owners...)}
	for i := range rep.Changes {
		rep.Changes[i].After = []Finding{{Rule: "policy/x", Level: "error", Message: strings.Repeat("long message ", 40), File: "dataproduct.yaml", Line: 7}}
	}
	for _, limit := range []int{0, 5000, 1 << 20} {
		md := Markdown(&rep, RenderOptions{MaxChars: limit, GitHubURL: "https://ghe.example/"})
		max := limit
		if max <= 0 {
			max = DefaultMaxChars
		}
		max = min(max, checkrun.MaxOutputChars)
		if n := utf8.RuneCountInString(md); n > max {
			t.Errorf("limit %d: %d characters", limit, n)
		}
		listed := strings.Count(md, "\n- [`")
		if listed == 0 || listed == len(rep.Changes) {
			t.Fatalf("limit %d: %d of %d products listed", limit, listed, len(rep.Changes))
		}
		if !strings.Contains(md, fmt.Sprintf("… and %s more not listed", count(len(rep.Changes)-listed, "product", "products"))) {
			t.Errorf("limit %d: the products left out are not counted:\n%s", limit, md[len(md)-400:])
		}
		if !strings.Contains(md, "](https://ghe.example/acme/r/blob/abc/dataproduct.yaml#L7)") {
			t.Errorf("limit %d: no link to the finding's line at the indexed commit", limit)
		}
		if strings.Contains(md, strings.Repeat("long message ", 30)) {
			t.Errorf("limit %d: a finding's message is not bounded", limit)
		}
	}
}
