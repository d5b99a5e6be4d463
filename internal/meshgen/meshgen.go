// Package meshgen writes synthetic meshes for benchmarks: N native
// descriptors, each with one DCS 1.1.0 contract of F fields, consumers
// between them, and optionally a head variant in which a deterministic
// fraction of products changed. The documents satisfy the bundled policy so
// that meshbot and conftest judge the same, valid input.
package meshgen

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing/fstest"
)

// Options shape a generated mesh. The same Options always produce the same
// files; a head (Change: true) differs from its base (Change: false, same
// Seed) only in the changed products.
type Options struct {
	Products  int   // number of data products (at least 1)
	Fields    int   // top-level fields per contract (at least 4)
	Consumers bool  // products read fields of earlier products through input ports
	Change    bool  // write the head variant: about one product in ChangeEvery is changed
	Seed      int64 // seeds every random choice
}

// ChangeEvery: with Change, about one product in ChangeEvery is changed.
const ChangeEvery = 10

// Change kinds applied to the head variant, in the order they rotate.
const (
	ChangeAddField    = "add-field"    // an optional field is added (compatible)
	ChangeRemoveField = "remove-field" // a field is removed (breaking)
	ChangeNarrowType  = "narrow-type"  // a long field becomes an integer (breaking)
	ChangeLoosenSLA   = "loosen-sla"   // freshness goes from minutes to hours (breaking)
)

var changeKinds = []string{ChangeAddField, ChangeRemoveField, ChangeNarrowType, ChangeLoosenSLA}

// Generate writes the mesh into dir, creating it if needed.
func Generate(dir string, opts Options) error {
	files, err := files(opts)
	if err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("meshgen: %w", err)
		}
		if err := os.WriteFile(p, files[name], 0o644); err != nil {
			return fmt.Errorf("meshgen: %w", err)
		}
	}
	return nil
}

// GenerateFS returns the mesh as an in-memory file system, for benchmarks
// that should not measure the disk. It panics on invalid Options, which are
// a programming error in a benchmark.
func GenerateFS(opts Options) fstest.MapFS {
	files, err := files(opts)
	if err != nil {
		panic(err)
	}
	fsys := fstest.MapFS{}
	for name, b := range files {
		fsys[name] = &fstest.MapFile{Data: b, Mode: 0o644}
	}
	return fsys
}

// Changed lists, for Options with Change, which products the head variant
// changes and how: product id → change kind. Benchmarks and tests use it to
// know what to expect.
func Changed(opts Options) (map[string]string, error) {
	ps, err := drawProducts(opts)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, p := range ps {
		if p.change != "" {
			out[p.id()] = p.change
		}
	}
	return out, nil
}

type field struct {
	name     string
	typ      string
	required bool
	unique   bool
	pk       bool
	pii      bool
	enum     []string
	pattern  string
	min, max *int
	maxLen   int
	children []field // object fields
	quality  bool    // carries a field-level quality rule
}

type input struct {
	producer int
	fields   []string
}

type product struct {
	index    int
	domain   string
	name     string
	fields   []field
	inputs   []input
	pii      bool
	eu       bool
	kafka    bool
	fresh    int // freshness in minutes
	change   string
	changeAt int // index of the field the change touches
}

func (p *product) id() string    { return p.domain + "." + p.name }
func (p *product) model() string { return strings.ReplaceAll(p.name, "-", "_") }
func (p *product) dir() string   { return p.domain + "/data-products/" + p.name }
func (p *product) contractFile() string {
	return p.dir() + "/contracts/" + p.name + ".v1.yaml"
}

// drawProducts draws the mesh's products, their fields, consumers and
// changes from the seed; the files are written from them.
func drawProducts(opts Options) ([]*product, error) {
	if opts.Products < 1 {
		return nil, fmt.Errorf("meshgen: Products must be at least 1, got %d", opts.Products)
	}
	if opts.Fields < 4 {
		return nil, fmt.Errorf("meshgen: Fields must be at least 4, got %d", opts.Fields)
	}
	// Two streams: the base never depends on whether Change is set.
	rng := rand.New(rand.NewPCG(uint64(opts.Seed), 0x6d657368))
	chg := rand.New(rand.NewPCG(uint64(opts.Seed), 0x6368616e))
	domains := max(1, opts.Products/40)
	ps := make([]*product, opts.Products)
	for i := range ps {
		p := &product{
			index:  i,
			domain: fmt.Sprintf("domain-%02d", i%domains),
			name:   fmt.Sprintf("product-%05d", i),
			pii:    rng.IntN(3) == 0,
			eu:     rng.IntN(2) == 0,
			kafka:  rng.IntN(5) == 0,
			fresh:  []int{5, 15, 30, 60}[rng.IntN(4)],
		}
		p.fields = genFields(rng, opts.Fields, p.pii)
		if opts.Consumers && i > 0 {
			n := rng.IntN(3) // 0, 1 or 2 producers
			seen := map[int]bool{}
			for range n {
				j := rng.IntN(i)
				if seen[j] {
					continue
				}
				seen[j] = true
				prod := ps[j]
				k := 2 + rng.IntN(3)
				var names []string
				for _, idx := range rng.Perm(len(prod.fields))[:min(k, len(prod.fields))] {
					names = append(names, prod.fields[idx].name)
				}
				slices.Sort(names)
				p.inputs = append(p.inputs, input{producer: j, fields: names})
			}
		}
		ps[i] = p
	}
	if opts.Change {
		turn := 0
		for _, p := range ps {
			if chg.IntN(ChangeEvery) != 0 {
				continue
			}
			p.change = changeKinds[turn%len(changeKinds)]
			turn++
			switch p.change {
			case ChangeRemoveField:
				// Never the primary key: consumers join on it, and the
				// contract should stay a plausible table.
				p.changeAt = 1 + chg.IntN(len(p.fields)-1)
			case ChangeNarrowType:
				p.changeAt = -1
				for k, f := range p.fields {
					if f.typ == "long" {
						p.changeAt = k
						break
					}
				}
				if p.changeAt < 0 {
					p.change = ChangeLoosenSLA
				}
			}
		}
	}
	return ps, nil
}

// fieldKinds rotate so that every contract carries each kind of constraint.
var fieldKinds = []string{"string-enum", "long-bounds", "string-pattern", "timestamp", "decimal", "integer-bounds", "boolean", "object", "date", "string-length"}

func genFields(rng *rand.Rand, n int, pii bool) []field {
	out := make([]field, 0, n)
	out = append(out, field{name: "id", typ: "string", required: true, unique: true, pk: true})
	for k := 1; k < n; k++ {
		kind := fieldKinds[(k+rng.IntN(3))%len(fieldKinds)]
		f := field{name: fmt.Sprintf("f%03d_%s", k, strings.SplitN(kind, "-", 2)[0]), required: rng.IntN(2) == 0, quality: rng.IntN(6) == 0}
		switch kind {
		case "string-enum":
			f.typ = "string"
			f.enum = []string{"alpha", "beta", "gamma"}[:2+rng.IntN(2)]
		case "long-bounds":
			f.typ = "long"
			f.min = ptr(0)
			f.max = ptr(1_000_000 + rng.IntN(1000))
		case "string-pattern":
			f.typ = "string"
			f.pattern = "^[A-Z]{3}$"
		case "timestamp":
			f.typ = "timestamp"
		case "decimal":
			f.typ = "decimal"
			f.min = ptr(0)
		case "integer-bounds":
			f.typ = "integer"
			f.min = ptr(-100)
			f.max = ptr(100)
		case "boolean":
			f.typ = "boolean"
		case "object":
			f.typ = "object"
			f.children = []field{
				{name: "line1", typ: "string", required: true},
				{name: "city", typ: "string", required: true},
				{name: "postal_code", typ: "string", maxLen: 16},
			}
		case "date":
			f.typ = "date"
		case "string-length":
			f.typ = "string"
			f.maxLen = 64 + rng.IntN(64)
			f.unique = rng.IntN(4) == 0
		}
		if pii && rng.IntN(5) == 0 && f.typ == "string" {
			f.pii = true
		}
		out = append(out, f)
	}
	return out
}

func ptr(n int) *int { return &n }

func files(opts Options) (map[string][]byte, error) {
	ps, err := drawProducts(opts)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]byte, 2*len(ps)+1)
	for _, p := range ps {
		out[p.dir()+"/dataproduct.yaml"] = descriptor(p, ps)
		out[p.contractFile()] = contract(p)
	}
	return out, nil
}

func descriptor(p *product, all []*product) []byte {
	var b strings.Builder
	fresh := p.fresh
	if p.change == ChangeLoosenSLA {
		fresh = p.fresh * 60
	}
	region := "mesh"
	if p.eu {
		region = "eu-mesh"
	}
	fmt.Fprintf(&b, "apiVersion: mesh/v1\nkind: DataProduct\nmetadata:\n  name: %s\n  domain: %s\n  owner: team-%s\n", p.name, p.domain, p.domain)
	fmt.Fprintf(&b, "spec:\n  description: Synthetic product %d of a generated mesh.\n  lifecycle: production\n", p.index)
	if len(p.inputs) > 0 {
		b.WriteString("  inputPorts:\n")
		for _, in := range p.inputs {
			src := all[in.producer]
			fmt.Fprintf(&b, "    - name: from-%s\n      product: %s\n      port: iceberg-curated\n      fields: [%s]\n", src.name, src.id(), strings.Join(in.fields, ", "))
		}
	}
	b.WriteString("  outputPorts:\n")
	fmt.Fprintf(&b, "    - name: iceberg-curated\n      type: iceberg\n      location: s3://%s-%s/%s/\n      contract: ./contracts/%s.v1.yaml\n", region, p.domain, p.name, p.name)
	if p.kafka {
		fmt.Fprintf(&b, "    - name: kafka-realtime\n      type: kafka\n      location: kafka://%s-%s.kafka.example\n      topic: %s.v1\n      contract: ./contracts/%s.v1.yaml\n", region, p.domain, p.id(), p.name)
	}
	fmt.Fprintf(&b, "  sla:\n    freshness: \"<= %s\"\n    availability: \"99.5%%\"\n", minutes(fresh))
	fmt.Fprintf(&b, "  classification:\n    contains_pii: %t\n", p.pii)
	if p.pii {
		var names []string
		for _, f := range p.fields {
			if f.pii {
				names = append(names, f.name)
			}
		}
		if len(names) > 0 {
			fmt.Fprintf(&b, "    pii_fields: [%s]\n", strings.Join(names, ", "))
		}
	}
	if p.eu {
		b.WriteString("    residency: EU\n")
	} else {
		b.WriteString("    residency: global\n")
	}
	return []byte(b.String())
}

func minutes(m int) string {
	if m%60 == 0 {
		return strconv.Itoa(m/60) + "h"
	}
	return strconv.Itoa(m) + "m"
}

func contract(p *product) []byte {
	var b strings.Builder
	version := "1.0.0"
	fields := p.fields
	fresh := p.fresh
	switch p.change {
	case ChangeAddField:
		version = "1.1.0"
		fields = append(slices.Clone(fields), field{name: "added_note", typ: "string"})
	case ChangeRemoveField:
		version = "1.1.0"
		fields = slices.Delete(slices.Clone(fields), p.changeAt, p.changeAt+1)
	case ChangeNarrowType:
		version = "1.1.0"
		fields = slices.Clone(fields)
		fields[p.changeAt].typ = "integer"
	case ChangeLoosenSLA:
		version = "1.1.0"
		fresh = p.fresh * 60
	}
	fmt.Fprintf(&b, "dataContractSpecification: 1.1.0\nid: %s\ninfo:\n  title: %s\n  version: %s\n  status: active\n  owner: team-%s\n", p.id(), p.name, version, p.domain)
	fmt.Fprintf(&b, "models:\n  %s:\n    type: table\n    description: Synthetic table of %s.\n    fields:\n", p.model(), p.id())
	for _, f := range fields {
		writeField(&b, f, "      ")
	}
	b.WriteString("    quality:\n")
	fmt.Fprintf(&b, "      - type: sql\n        description: never empty\n        query: \"SELECT COUNT(*) FROM %s\"\n        mustBeGreaterThan: 0\n", p.model())
	fmt.Fprintf(&b, "      - type: sql\n        description: unique ids\n        query: \"SELECT COUNT(*) - COUNT(DISTINCT id) FROM %s\"\n        mustBe: 0\n", p.model())
	fmt.Fprintf(&b, "servicelevels:\n  freshness:\n    threshold: %s\n  availability:\n    percentage: 99.5%%\n  retention:\n    period: P1Y\n", minutes(fresh))
	return []byte(b.String())
}

func writeField(b *strings.Builder, f field, indent string) {
	fmt.Fprintf(b, "%s%s:\n%s  type: %s\n", indent, f.name, indent, f.typ)
	in := indent + "  "
	if f.required {
		fmt.Fprintf(b, "%srequired: true\n", in)
	}
	if f.unique {
		fmt.Fprintf(b, "%sunique: true\n", in)
	}
	if f.pk {
		fmt.Fprintf(b, "%sprimaryKey: true\n", in)
	}
	if f.pii {
		fmt.Fprintf(b, "%spii: true\n", in)
	}
	if len(f.enum) > 0 {
		fmt.Fprintf(b, "%senum: [%s]\n", in, strings.Join(f.enum, ", "))
	}
	if f.pattern != "" {
		fmt.Fprintf(b, "%spattern: %s\n", in, strconv.Quote(f.pattern))
	}
	if f.min != nil {
		fmt.Fprintf(b, "%sminimum: %d\n", in, *f.min)
	}
	if f.max != nil {
		fmt.Fprintf(b, "%smaximum: %d\n", in, *f.max)
	}
	if f.maxLen > 0 {
		fmt.Fprintf(b, "%smaxLength: %d\n", in, f.maxLen)
	}
	if len(f.children) > 0 {
		fmt.Fprintf(b, "%sfields:\n", in)
		for _, c := range f.children {
			writeField(b, c, in+"  ")
		}
	}
	if f.quality {
		fmt.Fprintf(b, "%squality:\n%s  - type: sql\n%s    description: no nulls in %s\n%s    query: %s\n%s    mustBe: 0\n",
			in, in, in, f.name, in, strconv.Quote("SELECT COUNT(*) FROM t WHERE "+f.name+" IS NULL"), in)
	}
}

// Paths returns the slash paths of every file of a generated mesh, sorted.
func Paths(opts Options) ([]string, error) {
	files, err := files(opts)
	if err != nil {
		return nil, err
	}
	return slices.Sorted(maps.Keys(files)), nil
}
