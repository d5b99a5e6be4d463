package yamledit

import (
	"fmt"
	"reflect"
	"slices"

	"github.com/meshbot/meshbot/internal/mesh"
)

// verify reads the edited file back as meshbot will and refuses a result
// that is anything but the intended edit: it must parse, read as the same
// format with no problem the original did not have, show the deprecation
// d (or none, when d is nil) on the target, and equal the original once
// the deprecation keys are taken out of both.
func verify(src, out []byte, f mesh.Format, t Target, places []place, d *Deprecation) error {
	before, err := mesh.ParseYAML("before", src)
	if err != nil {
		return fmt.Errorf("original: %w", err)
	}
	after, err := mesh.ParseYAML("after", out)
	if err != nil {
		return fmt.Errorf("edited file does not parse: %w", err)
	}
	if !reflect.DeepEqual(stripped(before.Value, places), stripped(after.Value, places)) {
		return fmt.Errorf("the edit changed more than the deprecation keys")
	}
	return seen(src, out, f, t, d)
}

// stripped is a deep copy of v without the deprecation keys at places.
func stripped(v any, places []place) any {
	v = deepCopy(v)
	for _, p := range places {
		m := mapAt(v, p.path)
		if m == nil {
			continue
		}
		switch p.kind {
		case nativeAt:
			delete(m, keyLifecycle)
			delete(m, keyDeprecation)
		case dcsInfo:
			delete(m, keyStatus)
			delete(m, keyDeprecation)
		case statusOnly:
			delete(m, keyStatus)
		case odpsProduct, odcsContract:
			delete(m, keyStatus)
			dropCustom(m, keyDeprecation)
			if p.kind == odcsContract {
				delete(m, keyDeprecated)
			}
		case odpsPort:
			dropCustom(m, keyStatus, keyDeprecation)
		}
	}
	return v
}

func dropCustom(m map[string]any, props ...string) {
	if v, ok := m[keyCustom]; ok && v == nil {
		delete(m, keyCustom) // written empty: an empty list once filled and emptied
		return
	}
	l, ok := m[keyCustom].([]any)
	if !ok {
		return
	}
	l = slices.DeleteFunc(l, func(it any) bool {
		im, ok := it.(map[string]any)
		if !ok {
			return false
		}
		p, _ := im[keyProperty].(string)
		return slices.Contains(props, p)
	})
	if len(l) == 0 {
		delete(m, keyCustom)
	} else {
		m[keyCustom] = l
	}
}

func mapAt(v any, path []any) map[string]any {
	for _, el := range path {
		switch k := el.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	m, _ := v.(map[string]any)
	return m
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		c := make(map[string]any, len(x))
		for k, e := range x {
			c[k] = deepCopy(e)
		}
		return c
	case []any:
		c := make([]any, len(x))
		for i, e := range x {
			c[i] = deepCopy(e)
		}
		return c
	}
	return v
}

// seen reads the edited file with internal/mesh and checks that it shows
// the deprecation as meshbot's engine and Backstage will see it.
func seen(src, out []byte, f mesh.Format, t Target, d *Deprecation) error {
	type state struct {
		lifecycle string
		dep       *mesh.Deprecation
	}
	var got []state
	var newProblems []string
	codes := func(ps []mesh.Problem) map[string]int {
		m := map[string]int{}
		for _, p := range ps {
			m[p.Code]++
		}
		return m
	}
	switch f {
	case mesh.FormatNative, mesh.FormatODPS, mesh.FormatDPS:
		_, _, pb := mesh.ReadDescriptor("f", src)
		p, _, pa := mesh.ReadDescriptor("f", out)
		if p == nil || p.Format != f {
			return fmt.Errorf("the edited file no longer reads as %s", f)
		}
		newProblems = grown(codes(pb), codes(pa))
		if t.Port == "" {
			got = append(got, state{p.Lifecycle, p.Deprecation})
		} else {
			for _, o := range p.OutputPorts {
				if o.Name == t.Port {
					got = append(got, state{o.Lifecycle, o.Deprecation})
				}
			}
		}
	default:
		_, _, pb := mesh.ReadContract("f", src)
		c, _, pa := mesh.ReadContract("f", out)
		if c == nil || c.Format != f {
			return fmt.Errorf("the edited file no longer reads as %s", f)
		}
		newProblems = grown(codes(pb), codes(pa))
		got = append(got, state{c.Status, c.Deprecation})
		if d == nil && c.Deprecated {
			return fmt.Errorf("the contract still says deprecated: true")
		}
	}
	if len(newProblems) > 0 {
		return fmt.Errorf("the edited file has new problems: %v", newProblems)
	}
	if len(got) == 0 {
		return fmt.Errorf("%w after the edit", ErrTargetNotFound)
	}
	withTerms := f != mesh.FormatDPS
	for _, g := range got {
		switch {
		case d == nil && g.lifecycle == mesh.LifecycleDeprecated:
			return fmt.Errorf("the target still reads as deprecated")
		case d == nil && g.dep != nil:
			return fmt.Errorf("the target still carries a deprecation")
		case d != nil && g.lifecycle != mesh.LifecycleDeprecated:
			return fmt.Errorf("the target reads as %q, not deprecated", g.lifecycle)
		case d != nil && withTerms && (g.dep == nil || g.dep.Sunset != d.Sunset || g.dep.Replacement != d.Replacement || g.dep.Reason != d.Reason):
			return fmt.Errorf("the target's deprecation reads as %+v, not %+v", g.dep, *d)
		}
	}
	return nil
}

// grown lists the problem codes that occur more often after than before.
func grown(before, after map[string]int) []string {
	var out []string
	for c, n := range after {
		if n > before[c] {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return out
}
