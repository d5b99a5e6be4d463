package mesh

import (
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"
)

// ReadDescriptor parses a data product descriptor in any format meshbot
// reads:
//
//   - native (FormatNative): kind DataProduct with metadata/spec, whatever the
//     apiVersion (mesh/v1, seed 004's dataproduct.kloudvin.io/v1, ...);
//   - ODPS v0.9.0/v1.0.0 (FormatODPS): kind DataProduct with apiVersion vN.N.N
//     and top-level id, name, domain, status, inputPorts, outputPorts, team;
//   - dataproduct-specification.com 0.0.1 (FormatDPS): dataProductSpecification,
//     id, info.
//
// Structural problems come back as Problems positioned on the offending key,
// with the Product read as far as possible. The Product is nil only when the
// file is not YAML or its top level is not a mapping. Inputs are capped as
// ParseYAML documents (MaxFileBytes, MaxDepth, MaxNodes).
//
// A native output port's contract path is resolved relative to the
// descriptor into OutputPort.ContractPath; a path that is absolute or leaves
// the checkout is a contract-path-escapes Problem and stays unresolved. A
// contract written as a URL (scheme://...) is not a file and is left
// unresolved without a Problem.
func ReadDescriptor(path string, src []byte) (*Product, *Document, []Problem) {
	return readDescriptor(path, src, ParseYAML)
}

func readDescriptor(path string, src []byte, parse parser) (*Product, *Document, []Problem) {
	doc, err := parse(path, src)
	if err != nil {
		return nil, nil, []Problem{asProblem(path, err)}
	}
	r := &reader{file: path}
	o, ok := r.root(doc)
	if !ok {
		r.add(CodeWrongType, doc.Index.Root(), "a data product descriptor must be a mapping, not %s", kindOf(doc.Value))
		return nil, doc, r.probs
	}
	p := &Product{File: path, Pos: o.pos(), Locs: Locs{}}
	switch f := detectDescriptor(o); f {
	case FormatNative:
		readNative(o, p)
	case FormatODPS:
		readODPS(o, p)
	case FormatDPS:
		readDPS(o, p)
	default:
		unknownDescriptor(o)
	}
	return p, doc, r.probs
}

func detectDescriptor(o obj) Format {
	if _, ok := o.m["dataProductSpecification"]; ok {
		return FormatDPS
	}
	kind, _ := o.m["kind"].(string)
	if kind != "DataProduct" {
		return ""
	}
	_, hasMeta := o.m["metadata"]
	_, hasSpec := o.m["spec"]
	api, _ := o.m["apiVersion"].(string)
	if !hasMeta && !hasSpec && isSemverTag(api) {
		return FormatODPS
	}
	return FormatNative
}

// isSemverTag matches ODPS/ODCS apiVersions: "v" then digits and dots.
func isSemverTag(s string) bool {
	if len(s) < 2 || s[0] != 'v' || s[1] < '0' || s[1] > '9' {
		return false
	}
	for _, c := range s[1:] {
		if c != '.' && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

const descriptorFormats = "a native descriptor (kind: DataProduct with metadata and spec), " +
	"ODPS (apiVersion: v1.0.0 or v0.9.0, kind: DataProduct, id, status) or " +
	"the Data Product Specification (dataProductSpecification: 0.0.1)"

func unknownDescriptor(o obj) {
	switch kind := o.m["kind"]; {
	case kind == "DataContract":
		o.r.add(CodeUnknownFormat, o.keyPos("kind"), "this is a data contract (kind: DataContract), not a data product descriptor; expected %s", descriptorFormats)
	case kind != nil:
		o.r.add(CodeUnknownFormat, o.keyPos("kind"), "kind is %v; expected %s", kind, descriptorFormats)
	default:
		o.r.add(CodeUnknownFormat, o.pos(), "not a data product descriptor: expected %s", descriptorFormats)
	}
}

var lifecycles = []string{LifecycleExperimental, LifecycleProduction, LifecycleDeprecated}

func readNative(o obj, p *Product) {
	p.Format = FormatNative
	p.APIVersion = o.reqStr("apiVersion")
	p.Kind = o.str("kind")
	o.locs(p.Locs, "")
	if meta, ok := o.reqSub("metadata"); ok {
		meta.locs(p.Locs, "metadata.")
		p.Name = meta.reqStr("name")
		p.Domain = meta.str("domain")
		p.Owner = meta.str("owner")
		p.Description = meta.str("description")
		if meta.has("name") {
			p.Pos = meta.keyPos("name")
		}
	}
	spec, ok := o.sub("spec")
	if !ok {
		return
	}
	spec.locs(p.Locs, "spec.")
	if d := spec.str("description"); d != "" {
		p.Description = d
	}
	p.Lifecycle = spec.str("lifecycle")
	spec.oneOf("lifecycle", p.Lifecycle, lifecycles...)
	if d, ok := spec.sub("deprecation"); ok {
		d.locs(p.Locs, "spec.deprecation.")
		p.Deprecation = readDeprecation(d)
	}
	for _, ip := range spec.objects("inputPorts") {
		p.InputPorts = append(p.InputPorts, readNativeInput(ip))
	}
	seen := map[string]Pos{}
	for _, op := range spec.objects("outputPorts") {
		port := readNativeOutput(op, p.File)
		if first, dup := seen[port.Name]; dup && port.Name != "" {
			op.r.add(CodeDuplicateName, op.keyPos("name"), "output port %q is declared twice (first at line %d)", port.Name, first.Line)
		}
		seen[port.Name] = port.Pos
		p.OutputPorts = append(p.OutputPorts, port)
	}
	if s, ok := spec.sub("sla"); ok {
		s.locs(p.Locs, "spec.sla.")
		p.SLA = readSLA(s)
	}
	if c, ok := spec.sub("classification"); ok {
		c.locs(p.Locs, "spec.classification.")
		p.Classification = Classification{Pos: c.pos(), Locs: c.locs(nil, "")}
		p.Classification.ContainsPII = c.boolean("contains_pii")
		p.Classification.PIIFields, _ = c.strings("pii_fields")
		p.Classification.Residency = c.str("residency")
	}
}

func readNativeInput(o obj) *InputPort {
	ip := &InputPort{Pos: o.pos(), Locs: o.locs(nil, "")}
	ip.Name = o.str("name")
	ip.Product = o.reqStr("product")
	ip.Port = o.reqStr("port")
	names, pos := o.strings("fields")
	for i, n := range names {
		ip.Fields = append(ip.Fields, FieldRef{Name: n, Pos: pos[i]})
	}
	return ip
}

func readNativeOutput(o obj, file string) *OutputPort {
	op := &OutputPort{Pos: o.pos(), Locs: o.locs(nil, "")}
	op.Name = o.reqStr("name")
	op.Type = o.str("type")
	op.Location = o.str("location")
	op.Topic = o.str("topic")
	op.Version = o.scalarStr("version")
	op.Lifecycle = o.str("lifecycle")
	o.oneOf("lifecycle", op.Lifecycle, lifecycles...)
	if d, ok := o.sub("deprecation"); ok {
		op.Deprecation = readDeprecation(d)
	}
	op.ContractRef = o.str("contract")
	if op.ContractRef != "" {
		resolved, msg := ResolveContractPath(file, op.ContractRef)
		if msg != "" {
			o.r.add(CodeContractPathEscapes, o.keyPos("contract"), "%s %q %s", o.path("contract"), op.ContractRef, msg)
		}
		op.ContractPath = resolved
	}
	return op
}

// ResolveContractPath resolves ref, written in the descriptor at slash path
// descriptor, to a clean slash path relative to the checkout root. It returns
// "" and a reason when ref is absolute or leaves the root, and "" with no
// reason when ref is a URL rather than a file.
func ResolveContractPath(descriptor, ref string) (string, string) {
	ref = strings.TrimSpace(ref)
	if strings.Contains(ref, "://") {
		return "", ""
	}
	slashed := strings.ReplaceAll(ref, `\`, "/")
	if strings.HasPrefix(slashed, "/") || (len(slashed) > 1 && slashed[1] == ':') {
		return "", "is absolute; write it relative to the descriptor"
	}
	p := path.Clean(path.Join(path.Dir(descriptor), slashed))
	if p == ".." || strings.HasPrefix(p, "../") || p == "." {
		return "", "leaves the repository; contracts must live in the same checkout"
	}
	return p, ""
}

var odpsVersions = []string{"v0.9.0", "v1.0.0"}

func readODPS(o obj, p *Product) {
	p.Format = FormatODPS
	o.locs(p.Locs, "")
	p.APIVersion = o.reqStr("apiVersion")
	switch {
	case p.APIVersion == "" || slices.Contains(odpsVersions, p.APIVersion):
	case newerThan(p.APIVersion, odpsVersions[len(odpsVersions)-1]):
		// Public tools already write versions after the newest schema
		// meshbot has; the document is read with that schema.
		o.r.notice(CodeNewerVersion, o.keyPos("apiVersion"), "ODPS apiVersion %q is newer than the versions meshbot knows (%s); read as %s",
			p.APIVersion, strings.Join(odpsVersions, ", "), odpsVersions[len(odpsVersions)-1])
	default:
		o.r.add(CodeUnsupportedVersion, o.keyPos("apiVersion"), "ODPS apiVersion %q is not supported; meshbot reads %s", p.APIVersion, strings.Join(odpsVersions, ", "))
	}
	p.Kind = o.reqStr("kind")
	// The id identifies the product; name is its display name, which
	// may change without the product going away.
	p.Name = o.reqStr("id")
	if n := o.str("name"); n != p.Name {
		p.Title = n
	}
	if o.has("name") {
		p.Pos = o.keyPos("name")
	}
	p.Domain = o.str("domain")
	p.Lifecycle = o.reqStr("status")
	p.Deprecation = customDeprecation(o)
	o.str("version")
	p.Description = describe(o, "description")
	switch o.m["team"].(type) {
	case []any: // ODPS 0.9: the members themselves
		for _, m := range o.objects("team") {
			if strings.EqualFold(m.str("role"), "owner") && p.Owner == "" {
				p.Owner = m.reqStr("username")
			}
		}
	default:
		if t, ok := o.sub("team"); ok {
			t.locs(p.Locs, "team.")
			p.Owner = t.str("name")
			for _, m := range t.objects("members") {
				if strings.EqualFold(m.str("role"), "owner") && p.Owner == "" {
					p.Owner = m.reqStr("username")
				}
			}
		}
	}
	for _, ip := range o.objects("inputPorts") {
		in := &InputPort{Pos: ip.pos(), Locs: ip.locs(nil, "")}
		in.Name = ip.reqStr("name")
		ip.reqStr("version")
		in.ContractID = ip.reqStr("contractId")
		p.InputPorts = append(p.InputPorts, in)
	}
	for _, op := range o.objects("outputPorts") {
		out := &OutputPort{Pos: op.pos(), Locs: op.locs(nil, "")}
		out.Name = op.reqStr("name")
		out.Version = op.reqStr("version")
		out.Type = op.str("type")
		out.ContractID = op.str("contractId")
		// ODPS ports have no status: /mesh deprecate writes one as a
		// custom property beside the deprecation.
		if st, ok := customProperty(op, "status"); ok {
			out.Lifecycle = st.str("value")
		}
		out.Deprecation = customDeprecation(op)
		p.OutputPorts = append(p.OutputPorts, out)
	}
}

// newerThan reports whether version v ("v1.1.0", "1.3.0") is later than
// known within the same major version. Pre-release suffixes are ignored.
func newerThan(v, known string) bool {
	parse := func(s string) []int {
		s = strings.TrimPrefix(s, "v")
		if i := strings.IndexAny(s, "-+"); i >= 0 {
			s = s[:i]
		}
		parts := strings.Split(s, ".")
		if len(parts) != 3 {
			return nil
		}
		out := make([]int, 3)
		for i, p := range parts {
			n, err := strconv.Atoi(p)
			if err != nil || n < 0 {
				return nil
			}
			out[i] = n
		}
		return out
	}
	a, b := parse(v), parse(known)
	if a == nil || b == nil || a[0] != b[0] {
		return false
	}
	return a[1] > b[1] || a[1] == b[1] && a[2] > b[2]
}

// describe reads an ODPS/ODCS description: an object whose purpose is the
// summary, or (leniently) a plain string.
func describe(o obj, k string) string {
	if s, ok := o.m[k].(string); ok {
		return s
	}
	if d, ok := o.sub(k); ok {
		return d.str("purpose")
	}
	return ""
}

func readDPS(o obj, p *Product) {
	p.Format = FormatDPS
	o.locs(p.Locs, "")
	p.APIVersion = o.scalarStr("dataProductSpecification")
	if p.APIVersion != "0.0.1" {
		o.r.add(CodeUnsupportedVersion, o.keyPos("dataProductSpecification"), "dataProductSpecification %q is not supported; meshbot reads 0.0.1", p.APIVersion)
	}
	p.Name = o.reqStr("id")
	if o.has("id") {
		p.Pos = o.keyPos("id")
	}
	if info, ok := o.reqSub("info"); ok {
		info.locs(p.Locs, "info.")
		info.reqStr("title")
		p.Owner = info.reqStr("owner")
		p.Domain = info.str("domain")
		p.Description = info.str("description")
		p.Lifecycle = info.str("status")
	}
	for _, ip := range o.objects("inputPorts") {
		in := &InputPort{Pos: ip.pos(), Locs: ip.locs(nil, "")}
		in.Name = ip.reqStr("id")
		ip.reqStr("name")
		ip.reqStr("sourceSystemId")
		p.InputPorts = append(p.InputPorts, in)
	}
	for _, op := range o.objects("outputPorts") {
		out := &OutputPort{Pos: op.pos(), Locs: op.locs(nil, "")}
		out.Name = op.reqStr("id")
		op.reqStr("name")
		out.Type = op.str("type")
		out.Lifecycle = op.str("status")
		out.Location = op.str("location")
		if s, ok := op.sub("server"); ok {
			out.Topic = s.str("topic")
			// Every addressing attribute of the server (project, dataset,
			// account, database, schema, host, catalog, path, ...) is where
			// consumers read from: any of them changing is a move.
			addr := obj{r: s.r, m: maps.Clone(s.m), n: s.n, name: s.name}
			delete(addr.m, "topic")
			if l, only := addr.m["location"].(string); only && len(addr.m) == 1 {
				out.Location = l
			} else if sv := readServer(addr, ""); sv.Location != "" {
				out.Location = sv.Location
			}
			if t := s.str("type"); t != "" && out.Type == "" {
				out.Type = t
			}
		}
		out.ContractID = op.str("dataContractId")
		if op.boolean("containsPii") {
			p.Classification.ContainsPII = true
		}
		p.OutputPorts = append(p.OutputPorts, out)
	}
}
