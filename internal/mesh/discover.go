package mesh

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"
)

// What discovery read a file as.
type Role string

const (
	RoleDescriptor Role = "descriptor"
	RoleContract   Role = "contract"
	RoleConfig     Role = "config"
)

// FileReport is what a load read and what it skipped, each skipped file
// (or folder not walked) with the reason: no file is left out silently.
type FileReport struct {
	Read    []ReadFile    `json:"read"`
	Skipped []SkippedFile `json:"skipped"`
}

// ReadFile is a file a load read, and as what.
type ReadFile struct {
	Path string `json:"path"`
	As   Role   `json:"as"`
}

// SkippedFile is a file (or, with a trailing slash, a folder) a load did not
// read as a descriptor or contract, and why.
type SkippedFile struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// ConfigFile is the repository configuration of discovery, at the root of
// the checkout (the repository's root for the App).
const ConfigFile = ".meshbot.yaml"

// DefaultInclude are the files looked at when ConfigFile sets no include:
// descriptors and contracts are YAML or JSON.
var DefaultInclude = []string{"**/*.yaml", "**/*.yml", "**/*.json"}

// Discovery decides which files of a source are looked at. The content of
// each decides what it is (Sniff); Discovery only narrows or widens the
// files considered, from ConfigFile:
//
//	discovery:
//	  include: ["**/*.yaml", "**/*.yml", "**/*.json", "**/*.dpd"]  # replaces the default
//	  exclude: ["deploy/**", "**/openapi*.yaml"]
//
// Patterns are slash paths from the root; `*` matches within one path
// segment, `**` any number of segments, as in .gitignore.
type Discovery struct {
	Include []string
	Exclude []string
	// From is where the patterns came from, for reasons ("" for defaults).
	From string
}

// Consider says whether a file at p is looked at, and when not, why.
// Folders SkipFolder names are never looked into.
func (d Discovery) Consider(p string) (bool, string) {
	dirs := strings.Split(p, "/")
	for _, name := range dirs[:len(dirs)-1] {
		if why := SkipFolder(name); why != "" {
			return false, why
		}
	}
	for _, pat := range d.Exclude {
		if MatchPattern(pat, p) {
			return false, fmt.Sprintf("excluded by %s (exclude %q)", d.From, pat)
		}
	}
	inc := d.Include
	if len(inc) == 0 {
		inc = DefaultInclude
	}
	for _, pat := range inc {
		if MatchPattern(pat, p) {
			return true, ""
		}
	}
	if len(d.Include) == 0 {
		return false, "not a YAML or JSON file"
	}
	return false, fmt.Sprintf("not matched by any include of %s", d.From)
}

// MatchPattern reports whether slash path p matches pattern pat: segments
// as path.Match, and `**` matching any number of whole segments.
func MatchPattern(pat, p string) bool {
	return matchSegs(strings.Split(pat, "/"), strings.Split(p, "/"))
}

func matchSegs(pat, p []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			if len(pat) == 1 {
				return true
			}
			for i := range len(p) + 1 {
				if matchSegs(pat[1:], p[i:]) {
					return true
				}
			}
			return false
		}
		if len(p) == 0 {
			return false
		}
		if ok, err := path.Match(pat[0], p[0]); err != nil || !ok {
			return false
		}
		pat, p = pat[1:], p[1:]
	}
	return len(p) == 0
}

// ReadDiscovery reads ConfigFile's content. Problems (a key it does not
// know, a pattern that does not compile) are positioned in the file; what
// is valid is used.
func ReadDiscovery(src []byte) (Discovery, []Problem) {
	d := Discovery{From: ConfigFile}
	doc, err := ParseYAML(ConfigFile, src)
	if err != nil {
		return d, []Problem{asProblem(ConfigFile, err)}
	}
	r := &reader{file: ConfigFile}
	o, ok := r.root(doc)
	if !ok {
		r.add(CodeWrongType, doc.Index.Root(), "%s must be a mapping, not %s", ConfigFile, kindOf(doc.Value))
		return d, r.probs
	}
	for k := range o.m {
		if k != "discovery" {
			r.add(CodeBadValue, o.keyPos(k), "%s: unknown key %q (known: discovery)", ConfigFile, k)
		}
	}
	disc, ok := o.sub("discovery")
	if !ok {
		return d, r.probs
	}
	for k := range disc.m {
		if k != "include" && k != "exclude" {
			r.add(CodeBadValue, disc.keyPos(k), "%s: unknown key discovery.%s (known: include, exclude)", ConfigFile, k)
		}
	}
	valid := func(k string) []string {
		pats, at := disc.strings(k)
		var out []string
		for i, p := range pats {
			if _, err := path.Match(strings.ReplaceAll(p, "**", "*"), ""); err != nil || p == "" || strings.HasPrefix(p, "/") {
				r.add(CodeBadValue, at[i], "%s: discovery.%s pattern %q is not a relative slash pattern", ConfigFile, k, p)
				continue
			}
			out = append(out, p)
		}
		return out
	}
	d.Include, d.Exclude = valid("include"), valid("exclude")
	return d, r.probs
}

// Sniff says what a YAML or JSON file is from its content: a data product
// descriptor (kind: DataProduct, dataProductSpecification), a data contract
// (kind: DataContract, dataContractSpecification), or neither, with why.
// It looks at the top-level keys only, without parsing the whole document,
// so that files that are neither cost little.
func Sniff(src []byte) (Role, string) {
	t := bytes.TrimLeft(src, " \t\r\n\ufeff")
	if len(t) > 0 && t[0] == '{' {
		if keys, kind, ok := jsonTop(t); ok {
			return sniffed(keys, kind)
		}
	}
	keys, kind := yamlTop(src)
	return sniffed(keys, kind)
}

// sniffDocument is Sniff for a document parsed already (the registry's
// stored form): its top-level keys say what it is.
func sniffDocument(v any) (Role, string) {
	top, _ := v.(map[string]any)
	keys := make(map[string]bool, len(top))
	for k := range top {
		keys[k] = true
	}
	kind, _ := top["kind"].(string)
	return sniffed(keys, kind)
}

func sniffed(keys map[string]bool, kind string) (Role, string) {
	switch {
	case keys["dataContractSpecification"]:
		return RoleContract, ""
	case keys["dataProductSpecification"]:
		return RoleDescriptor, ""
	case kind == "DataContract":
		return RoleContract, ""
	case kind == "DataProduct":
		return RoleDescriptor, ""
	case kind != "":
		return "", fmt.Sprintf("kind %s is not a data product or data contract", kind)
	}
	return "", "no data product or data contract marker (kind: DataProduct or DataContract, dataContractSpecification, dataProductSpecification)"
}

// yamlTop reads the keys of a block mapping at the top of a YAML document
// (the lines indented as its first key), and the kind's scalar value. It
// works on the bytes: most lines are not top-level keys and cost nothing.
func yamlTop(src []byte) (map[string]bool, string) {
	keys := map[string]bool{}
	kind := ""
	indent := -1
	for len(src) > 0 {
		line := src
		if i := bytes.IndexByte(src, '\n'); i >= 0 {
			line, src = src[:i], src[i+1:]
		} else {
			src = nil
		}
		line = bytes.TrimRight(line, "\r")
		trimmed := bytes.TrimLeft(line, " ")
		if len(trimmed) == 0 || trimmed[0] == '#' || bytes.HasPrefix(line, []byte("---")) || line[0] == '%' {
			continue
		}
		lead := len(line) - len(trimmed)
		if indent < 0 {
			indent = lead
		}
		if lead != indent || trimmed[0] == '-' {
			continue
		}
		k, v, ok := bytes.Cut(trimmed, []byte(":"))
		if !ok {
			continue
		}
		key := string(bytes.Trim(bytes.TrimSpace(k), `"'`))
		keys[key] = true
		if key == "kind" {
			v = bytes.TrimSpace(v)
			if i := bytes.Index(v, []byte(" #")); i >= 0 {
				v = bytes.TrimSpace(v[:i])
			}
			kind = string(bytes.Trim(v, `"'`))
		}
	}
	return keys, kind
}

// jsonTop reads the top-level keys of a JSON object and its kind, without
// decoding the values.
func jsonTop(src []byte) (map[string]bool, string, bool) {
	dec := json.NewDecoder(bytes.NewReader(src))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, "", false
	}
	keys := map[string]bool{}
	kind := ""
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, "", false
		}
		k, _ := t.(string)
		keys[k] = true
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, "", false
		}
		if k == "kind" {
			_ = json.Unmarshal(v, &kind)
		}
	}
	return keys, kind, true
}

// sortReport orders the report by path.
func (r *FileReport) sort() {
	slices.SortFunc(r.Read, func(a, b ReadFile) int { return strings.Compare(a.Path, b.Path) })
	slices.SortFunc(r.Skipped, func(a, b SkippedFile) int { return strings.Compare(a.Path, b.Path) })
	if r.Read == nil {
		r.Read = []ReadFile{}
	}
	if r.Skipped == nil {
		r.Skipped = []SkippedFile{}
	}
}
