package mesh

// Field paths are dotted: a field nested in an object is "address.city", the
// element schema of an array "tags[]", and a field inside array elements
// "lines[].sku". Contract.Fields prefixes them with the model name:
// "orders.address.city". FieldRef names written by consumers use the same
// form.

// Walk calls fn for f and every field nested in it, depth first in written
// order. prefix is the path of f's parent ("" at the top of a model).
func (f *Field) Walk(prefix string, fn func(path string, f *Field)) {
	if f == nil {
		return
	}
	p := f.Name
	if prefix != "" {
		p = prefix + "." + f.Name
	}
	f.walkAt(p, fn)
}

func (f *Field) walkAt(path string, fn func(string, *Field)) {
	fn(path, f)
	for _, c := range f.Fields {
		c.walkAt(path+"."+c.Name, fn)
	}
	if f.Items != nil {
		f.Items.walkAt(path+"[]", fn)
	}
}

// Walk calls fn for every field of the model, nested ones included.
func (m *Model) Walk(fn func(path string, f *Field)) {
	for _, f := range m.Fields {
		f.Walk("", fn)
	}
}

// Fields returns every field of every model, nested ones included, keyed
// "model.path" (see Walk for the path form).
func (c *Contract) Fields() map[string]*Field {
	out := make(map[string]*Field)
	for _, m := range c.Models {
		m.Walk(func(path string, f *Field) {
			out[m.Name+"."+path] = f
		})
	}
	return out
}
