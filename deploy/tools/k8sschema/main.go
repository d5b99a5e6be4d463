// Command k8sschema turns the OpenAPI v3 documents of a Kubernetes release
// (api/openapi-spec/v3 of the k8s.io/kubernetes module, which the Go module
// proxy serves) into the folder layout kubeconform reads. The usual schema
// source is a GitHub repository that is not reachable everywhere we run;
// the module proxy is, and it carries the API server's own published spec.
//
// Every kind becomes <kind>[-<group>]-<version>.json (the names kubeconform
// derives from a manifest's apiVersion and kind) holding the kind's schema
// and the definitions it reaches. The schemas are the strict flavour:
// objects with declared properties refuse any other property, which is
// how a misspelt field gets caught instead of silently dropped.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

const refPrefix = "#/components/schemas/"

func main() {
	specDir := flag.String("spec", "", "folder of the release's OpenAPI v3 documents (k8s.io/kubernetes api/openapi-spec/v3)")
	out := flag.String("out", "", "folder to write the schemas to, e.g. .tools/k8s-schemas/v1.34.4-standalone-strict")
	flag.Parse()
	if *specDir == "" || *out == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: k8sschema -spec DIR -out DIR")
		os.Exit(2)
	}
	n, err := convert(*specDir, *out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "k8sschema:", err)
		os.Exit(1)
	}
	fmt.Printf("k8sschema: %d schemas in %s\n", n, *out)
}

func convert(specDir, out string) (int, error) {
	defs, err := readSchemas(specDir)
	if err != nil {
		return 0, err
	}
	for name, s := range defs {
		defs[name] = strictSchema(s)
	}
	// Write to a fresh folder and rename at the end, so an interrupted run
	// never leaves a half-filled cache that later runs would trust.
	tmp := out + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return 0, err
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return 0, err
	}
	written := map[string]string{}
	names := make([]string, 0, len(defs))
	for name := range defs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		s := defs[name].(map[string]any)
		for _, gvk := range groupVersionKinds(s) {
			file := fileName(gvk)
			if prev, dup := written[file]; dup {
				// Kinds such as DeleteOptions are listed under every group
				// with one shared schema; two different schemas under one
				// file name would make validation depend on map order.
				if prev != name {
					return 0, fmt.Errorf("%s: both %s and %s map to it", file, prev, name)
				}
				continue
			}
			written[file] = name
			doc := map[string]any{}
			for k, v := range s {
				doc[k] = v
			}
			doc["definitions"] = closure(name, defs)
			b, err := json.Marshal(doc)
			if err != nil {
				return 0, fmt.Errorf("%s: %w", name, err)
			}
			if err := os.WriteFile(filepath.Join(tmp, file), b, 0o644); err != nil {
				return 0, err
			}
		}
	}
	if len(written) == 0 {
		return 0, fmt.Errorf("%s: no kinds found (is it api/openapi-spec/v3?)", specDir)
	}
	if err := os.RemoveAll(out); err != nil {
		return 0, err
	}
	return len(written), os.Rename(tmp, out)
}

// readSchemas merges components.schemas of every group-version document.
// Shared types (ObjectMeta, ...) appear in many documents; they must agree.
func readSchemas(dir string) (map[string]any, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	defs := map[string]any{}
	seen := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var doc struct {
			Components struct {
				Schemas map[string]json.RawMessage `json:"schemas"`
			} `json:"components"`
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		for name, raw := range doc.Components.Schemas {
			if prev, ok := seen[name]; ok {
				if prev != string(raw) {
					return nil, fmt.Errorf("%s: schema %s differs from another document's", f, name)
				}
				continue
			}
			var s any
			if err := json.Unmarshal(raw, &s); err != nil {
				return nil, fmt.Errorf("%s: %s: %w", f, name, err)
			}
			seen[name], defs[name] = string(raw), s
		}
	}
	if len(defs) == 0 {
		return nil, fmt.Errorf("%s: no OpenAPI v3 documents with components.schemas", dir)
	}
	return defs, nil
}

// strictSchema rewrites references to point into the output file's own
// definitions, closes every object that declares its properties, and
// drops descriptions (they are most of the bytes and kubeconform reports
// paths, not prose). It walks only schema positions, so a property that
// happens to be called "description" is kept.
func strictSchema(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	r := make(map[string]any, len(m)+1)
	for k, val := range m {
		switch k {
		case "description":
			continue
		case "$ref":
			r[k] = "#/definitions/" + strings.TrimPrefix(val.(string), refPrefix)
		case "properties":
			props := map[string]any{}
			for name, p := range val.(map[string]any) {
				props[name] = strictSchema(p)
			}
			r[k] = props
		case "items", "additionalProperties", "not":
			r[k] = strictSchema(val)
		case "allOf", "anyOf", "oneOf":
			var list []any
			for _, s := range val.([]any) {
				list = append(list, strictSchema(s))
			}
			r[k] = list
		default:
			r[k] = val
		}
	}
	if _, has := r["properties"]; has {
		if _, open := r["additionalProperties"]; !open {
			r["additionalProperties"] = false
		}
	}
	return r
}

type gvk struct{ Group, Version, Kind string }

func groupVersionKinds(s map[string]any) []gvk {
	list, _ := s["x-kubernetes-group-version-kind"].([]any)
	var r []gvk
	for _, e := range list {
		m, _ := e.(map[string]any)
		g, _ := m["group"].(string)
		v, _ := m["version"].(string)
		k, _ := m["kind"].(string)
		if v != "" && k != "" {
			r = append(r, gvk{g, v, k})
		}
	}
	return r
}

// fileName follows kubeconform's template {{ .ResourceKind }}{{ .KindSuffix }}:
// the lower-cased kind, then the first label of the group, then the version.
func fileName(g gvk) string {
	name := strings.ToLower(g.Kind)
	if g.Group != "" {
		first, _, _ := strings.Cut(g.Group, ".")
		name += "-" + strings.ToLower(first)
	}
	return name + "-" + strings.ToLower(g.Version) + ".json"
}

// closure is every definition reachable from root, root included (kinds
// refer to themselves through lists and owner references).
func closure(root string, defs map[string]any) map[string]any {
	r := map[string]any{}
	var visit func(name string)
	visit = func(name string) {
		if _, done := r[name]; done {
			return
		}
		s, ok := defs[name]
		if !ok {
			return
		}
		r[name] = s
		for _, ref := range refs(s, nil) {
			visit(ref)
		}
	}
	visit(root)
	return r
}

func refs(v any, acc []string) []string {
	switch t := v.(type) {
	case map[string]any:
		for k, val := range t {
			if s, ok := val.(string); ok && k == "$ref" {
				acc = append(acc, strings.TrimPrefix(s, "#/definitions/"))
				continue
			}
			acc = refs(val, acc)
		}
	case []any:
		for _, val := range t {
			acc = refs(val, acc)
		}
	}
	return acc
}
