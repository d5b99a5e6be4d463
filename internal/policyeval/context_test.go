package policyeval

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	opa "github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/util"
)

// fullContext sets every field of the context, so the tests below see each.
func fullContext() Context {
	return Context{
		Path: "orders/dataproduct.yaml", Kind: KindDescriptor, Today: "2027-01-15",
		Base: map[string]any{"kind": "DataProduct", "spec": map[string]any{"lifecycle": "production"}},
		Changes: []Change{{
			Rule: "field-type-changed", Severity: "breaking", Message: "order_id became a number",
			Product: "orders.order-events", Port: "iceberg-curated", Contract: "orders/contracts/v1.yaml",
			Fields: []string{"order_event.order_id"}, Old: "string", New: "integer", File: "orders/contracts/v1.yaml", Line: 12,
		}},
		Consumers: []Consumer{{
			Product: "finance.revenue", Owner: "team-finance", InputPort: "orders", Port: "iceberg-curated",
			Fields: []string{"order_id", "currency"}, File: "finance/dataproduct.yaml",
		}},
		Product: &Product{
			ID: "orders.order-events", Name: "order-events", Domain: "orders", Owner: "team-orders", Format: "native",
			Lifecycle: "production", Freshness: "<= 15m", ContainsPII: true, PIIFields: []string{"customer_id"}, Residency: "EU",
			OutputPorts: []Port{{Name: "iceberg-curated", Type: "iceberg", Location: "s3://eu-mesh/", Contract: "orders/c.yaml", ContractRead: true, Freshness: "15m", Lifecycle: "production", Line: 9, Column: 7, LocationLine: 11, LocationColumn: 9}},
			Line:        4,
		},
		Contract: &Contract{
			ID: "orders.order-events", Title: "Orders", Version: "2.0.0", Owner: "team-orders", Format: "dcs", Freshness: "15m",
			Fields: []Field{{Model: "order_event", Path: "order_event.customer_id", Type: "string", PII: true, Classification: "restricted", Line: 12}},
			Line:   2,
		},
	}
}

// TestContextMountsEveryField: what a policy reads at data.meshbot.context
// is exactly the Context's JSON form, so the generated documentation (json
// names, from the types) is what policies see.
func TestContextMountsEveryField(t *testing.T) {
	c := fullContext()
	requireSet(t, "Context", reflect.ValueOf(c))

	bs, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var viaJSON any
	if err := util.UnmarshalJSON(bs, &viaJSON); err != nil {
		t.Fatal(err)
	}
	want := opa.MustInterfaceToValue(viaJSON)
	got := opa.MustInterfaceToValue(c.doc())
	if want.Compare(got) != 0 {
		t.Fatalf("mounted context differs from the Context's JSON form\n got %v\nwant %v", got, want)
	}

	// Absent lists are empty arrays, as the documentation says, not null.
	empty := opa.MustInterfaceToValue(Context{}.doc()).(opa.Object)
	for _, key := range []string{"changes", "consumers"} {
		if arr, ok := empty.Get(opa.StringTerm(key)).Value.(*opa.Array); !ok || arr.Len() != 0 {
			t.Errorf("%s of an empty context is %v, want []", key, empty.Get(opa.StringTerm(key)))
		}
	}
	if ch := opa.MustInterfaceToValue(Context{Changes: []Change{{}}}.doc()).(opa.Object).Get(opa.StringTerm("changes")).Value.(*opa.Array); ch.Elem(0).Value.(opa.Object).Get(opa.StringTerm("fields")).Value.Compare(opa.NewArray()) != 0 {
		t.Errorf("a change without fields mounts fields as %v, want []", ch.Elem(0))
	}
}

// requireSet fails on a zero field, so a field added to the context is
// added to fullContext too and so compared above.
func requireSet(t *testing.T, path string, v reflect.Value) {
	t.Helper()
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			requireSet(t, path+"."+v.Type().Field(i).Name, v.Field(i))
		}
	case reflect.Slice:
		if v.Len() == 0 {
			t.Errorf("fullContext leaves %s empty", path)
		}
		for i := range v.Len() {
			requireSet(t, fmt.Sprintf("%s[%d]", path, i), v.Index(i))
		}
	default:
		if v.IsZero() {
			t.Errorf("fullContext leaves %s unset", path)
		}
	}
}

// The generated part of policy/README.md, between these markers.
const (
	docBegin = "<!-- BEGIN generated: data.meshbot.context, from internal/policyeval/context.go by `go test ./internal/policyeval -run TestContextDoc -update`; edit the comments there -->\n"
	docEnd   = "<!-- END generated: data.meshbot.context -->\n"
)

// TestContextDoc: the context's documentation for policy authors is
// generated from the types and their field comments; it fails when the
// README is stale and -update rewrites it.
func TestContextDoc(t *testing.T) {
	want, err := contextDoc()
	if err != nil {
		t.Fatal(err)
	}
	readme := filepath.Join("..", "..", "policy", "README.md")
	src, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	i, j := bytes.Index(src, []byte(docBegin)), bytes.Index(src, []byte(docEnd))
	if i < 0 || j < i {
		t.Fatalf("%s has no generated context section (markers %q … %q)", readme, docBegin, docEnd)
	}
	got := string(src[i+len(docBegin) : j])
	if got == want {
		return
	}
	if !*update {
		t.Fatalf("%s: the context documentation is stale; run go test ./internal/policyeval -run TestContextDoc -update\n got:\n%s\nwant:\n%s", readme, got, want)
	}
	out := append(append(append([]byte{}, src[:i+len(docBegin)]...), want...), src[j:]...)
	if err := os.WriteFile(readme, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

// contextDoc writes a table per type: Context's keys, then the keys of an
// element of each list of objects.
func contextDoc() (string, error) {
	comments, err := fieldComments("context.go")
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if err := docTable(&b, reflect.TypeFor[Context](), comments); err != nil {
		return "", err
	}
	type nested struct {
		path string
		typ  reflect.Type
		each bool
	}
	queue := []nested{}
	add := func(prefix string, typ reflect.Type) {
		for _, f := range reflect.VisibleFields(typ) {
			t := f.Type
			switch {
			case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct:
				queue = append(queue, nested{prefix + jsonName(f), t.Elem(), true})
			case t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct:
				queue = append(queue, nested{prefix + jsonName(f), t.Elem(), false})
			}
		}
	}
	add("", reflect.TypeFor[Context]())
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		if n.each {
			fmt.Fprintf(&b, "\nEach element of `%s`:\n\n", n.path)
		} else {
			fmt.Fprintf(&b, "\n`%s`:\n\n", n.path)
		}
		if err := docTable(&b, n.typ, comments); err != nil {
			return "", err
		}
		add(n.path+".", n.typ)
	}
	return b.String(), nil
}

func docTable(b *strings.Builder, typ reflect.Type, comments map[string]string) error {
	b.WriteString("| key | type | value |\n|---|---|---|\n")
	for _, f := range reflect.VisibleFields(typ) {
		doc := comments[typ.Name()+"."+f.Name]
		if doc == "" {
			return fmt.Errorf("%s.%s has no comment: it is the policy authors' documentation", typ.Name(), f.Name)
		}
		fmt.Fprintf(b, "| `%s` | %s | %s |\n", jsonName(f), regoType(f.Type), doc)
	}
	return nil
}

func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	return name
}

// regoType names a Go type as a policy sees it.
func regoType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Int, reflect.Int64:
		return "number"
	case reflect.Interface:
		return "any"
	case reflect.Bool:
		return "boolean"
	case reflect.Pointer:
		return "object or null"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Struct {
			return "array of objects"
		}
		return "array of " + regoType(t.Elem()) + "s"
	}
	return t.String()
}

// fieldComments reads the doc comment of every struct field in file, by
// "Type.Field".
func fieldComments(file string) (map[string]string, error) {
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.ParseComments)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	ast.Inspect(f, func(n ast.Node) bool {
		ts, ok := n.(*ast.TypeSpec)
		if !ok {
			return true
		}
		st, ok := ts.Type.(*ast.StructType)
		if !ok {
			return false
		}
		for _, fld := range st.Fields.List {
			doc := strings.Join(strings.Fields(fld.Doc.Text()), " ")
			for _, name := range fld.Names {
				out[ts.Name.Name+"."+name.Name] = doc
			}
		}
		return false
	})
	return out, nil
}
