package mesh

import "fmt"

// customProperty finds the ODPS/ODCS custom property named name (an item
// {property, value} of customProperties) and returns the item. Other
// items are not judged here: a list meshbot does not use must not turn
// into findings.
func customProperty(o obj, name string) (obj, bool) {
	l, ok := o.m["customProperties"].([]any)
	if !ok {
		return obj{}, false
	}
	var items []*node
	if c := o.child("customProperties"); c != nil {
		items = c.items
	}
	for i, it := range l {
		m, ok := it.(map[string]any)
		if !ok {
			continue
		}
		if p, _ := m["property"].(string); p != name {
			continue
		}
		var n *node
		if i < len(items) {
			n = items[i]
		}
		return obj{r: o.r, m: m, n: n, name: fmt.Sprintf("%s[%d]", o.path("customProperties"), i)}, true
	}
	return obj{}, false
}

// customDeprecation reads the deprecation that ODPS and ODCS documents
// carry as the custom property "deprecation" (what /mesh deprecate writes
// there: the standards have no field for a sunset or a replacement), whose
// value is the native deprecation block.
func customDeprecation(o obj) *Deprecation {
	item, ok := customProperty(o, "deprecation")
	if !ok {
		return nil
	}
	if v, ok := item.sub("value"); ok {
		return readDeprecation(v)
	}
	return nil
}
