package policyeval

// The context a policy reads at data.meshbot.context. These types are the
// contract with policy authors: the table in policy/README.md is generated
// from them, field comments included (go test ./internal/policyeval -run
// TestContextDoc -update), and a test fails when it is stale or when a field
// is not mounted under its json name.

import "github.com/open-policy-agent/opa/v1/ast"

// Context is what meshbot knows around one document, mounted for policies at
// data.meshbot.context.
type Context struct {
	// the document's path in the repository
	Path string `json:"path"`
	// `"descriptor"` or `"contract"`
	Kind Kind `json:"kind"`
	// the base version's document as written (`null` for a new file, or when nothing is compared)
	Base any `json:"base"`
	// changes computed between base and head in this file (`[]` when none)
	Changes []Change `json:"changes"`
	// registered consumers of the descriptor's product (`[]` for contracts and when none)
	Consumers []Consumer `json:"consumers"`
	// the descriptor's input ports and what each reads, with its deprecation (`[]` for contracts and when none)
	Reads []Read `json:"reads"`
	// today's date, `YYYY-MM-DD`; compare dates with it rather than `time.now_ns()`
	Today string `json:"today"`
	// the descriptor's product in meshbot's normalised model, whatever its format (`null` for a contract)
	Product *Product `json:"product"`
	// the contract in meshbot's normalised model, whatever its format (`null` for a descriptor)
	Contract *Contract `json:"contract"`
}

// Product is a data product as meshbot reads it from a native or ODPS
// descriptor: rules written against it judge every format alike.
type Product struct {
	// the global id, `domain.name`
	ID string `json:"id"`
	// the product's name
	Name string `json:"name"`
	// the product's domain
	Domain string `json:"domain"`
	// the owning team (native `metadata.owner`; ODPS `team.name` or the member with role owner); `""` when none
	Owner string `json:"owner"`
	// the descriptor's format: `"mesh/v1"` (native), `"odps"` or `"dataproduct-spec"`
	Format string `json:"format"`
	// `experimental`, `production`, `deprecated` as written (ODPS `status`); `""` when absent
	Lifecycle string `json:"lifecycle"`
	// the promised freshness as written (`sla.freshness`); `""` when the descriptor promises none
	Freshness string `json:"freshness"`
	// whether the product holds personal data
	ContainsPII bool `json:"contains_pii"`
	// the personal-data fields it names (`[]` when none)
	PIIFields []string `json:"pii_fields"`
	// the data residency, e.g. `EU` (native `spec.classification.residency`; ODPS a `residency` custom property); `""` when none
	Residency string `json:"residency"`
	// its sunset path (native `spec.deprecation`); `null` when none is written, and always in ODPS and DPS, which have no place for one
	Deprecation *Deprecation `json:"deprecation"`
	// the output ports
	OutputPorts []Port `json:"output_ports"`
	// the input ports: what the product reads
	InputPorts []InputPort `json:"input_ports"`
	// the line of the product in the descriptor (for a message's `_loc`)
	Line int `json:"line"`
	// where its keys are written in the descriptor, by model key (`name`, `domain`, `owner`, `lifecycle`, `freshness`, `residency`, `deprecation`), whatever the file calls them; a key the file does not write is absent (`lib.at` falls back to `line`)
	Locs Locs `json:"locs"`
}

// Port is an output port of a Product.
type Port struct {
	// the port's name
	Name string `json:"name"`
	// the port's type as written (`iceberg`, `kafka`, ...)
	Type string `json:"type"`
	// where the data is stored as written (`location`; DPS the server's address); `""` when none
	Location string `json:"location"`
	// the topic it is published on (`""` when none)
	Topic string `json:"topic"`
	// the port's contract: its path from the repository root, its id (ODPS `contractId`, DPS `dataContractId`), or its URL as written; `""` when none
	Contract string `json:"contract"`
	// whether meshbot read the port's contract (false when the port names none, or one meshbot cannot find)
	ContractRead bool `json:"contract_read"`
	// the freshness its contract promises (DCS `servicelevels.freshness`, ODCS `slaProperties` freshness, else latency); `""` when none or unread
	Freshness string `json:"freshness"`
	// where its contract says the data is served (the contract's `servers`); `[]` when none or unread
	Servers []Server `json:"servers"`
	// the port's lifecycle as written (`""` when absent)
	Lifecycle string `json:"lifecycle"`
	// its sunset path (native `deprecation`); `null` when none is written
	Deprecation *Deprecation `json:"deprecation"`
	// the line of the port in the descriptor
	Line int `json:"line"`
	// where its keys are written, by model key (`name`, `type`, `location`, `topic`, `contract`, `lifecycle`, `deprecation`); a key not written is absent
	Locs Locs `json:"locs"`
}

// InputPort is an input port of a Product: a registered dependency.
type InputPort struct {
	// the port's name
	Name string `json:"name"`
	// the producer it reads, `domain.name` (native `product`); `""` when it names a contract instead
	Product string `json:"product"`
	// the producer's output port it reads (`""` when none)
	Port string `json:"port"`
	// the contract it reads by id (ODPS `contractId`); `""` when none
	Contract string `json:"contract"`
	// the line of the port in the descriptor
	Line int `json:"line"`
	// where its keys are written, by model key (`name`, `product`, `port`, `contract`); a key not written is absent
	Locs Locs `json:"locs"`
}

// Deprecation is the sunset path of a product or an output port.
type Deprecation struct {
	// the sunset date as written (`YYYY-MM-DD`); `""` when none
	Sunset string `json:"sunset"`
	// what replaces it, `<domain>.<product>/<port>` (`""` when none)
	Replacement string `json:"replacement"`
	// the line of the `deprecation` key
	Line int `json:"line"`
	// where `sunset` and `replacement` are written; a key not written is absent
	Locs Locs `json:"locs"`
}

// Server is where a contract says its data is served (DCS `servers.<name>`,
// ODCS `servers[]`).
type Server struct {
	// the server's name (DCS its key, ODCS `server`)
	Name string `json:"name"`
	// its type as written (`s3`, `kafka`, `snowflake`, ...)
	Type string `json:"type"`
	// every attribute that addresses the data (host, location, region, schema, topic, ...) as `key=value` pairs joined by `, `, in key order
	Location string `json:"location"`
	// the cloud region it names: its `region` or `regionName`, else an AWS or GCP region code in its address (`eu-central-1`, `europe-west3`); `""` when it names none
	Region string `json:"region"`
	// the line of the server in its contract
	Line int `json:"line"`
}

// Locs maps a model key to where it is written in the judged file; a
// policy passes one as a finding's `_loc`.
type Locs map[string]Loc

// Loc is a place in the judged file.
type Loc struct {
	// the line, from 1
	Line int `json:"line"`
	// the column, from 1
	Column int `json:"column"`
}

// Contract is a data contract as meshbot reads it from DCS or ODCS.
type Contract struct {
	// the contract's id
	ID string `json:"id"`
	// its title (`""` when none)
	Title string `json:"title"`
	// its version
	Version string `json:"version"`
	// the owning team (DCS `info.owner`; ODCS `team.name` or the member with role owner); `""` when none
	Owner string `json:"owner"`
	// the contract's format: `"datacontract-spec"` (DCS) or `"odcs"`
	Format string `json:"format"`
	// the promised freshness (DCS `servicelevels.freshness`, ODCS `slaProperties` freshness, else latency); `""` when none
	Freshness string `json:"freshness"`
	// the data residency, e.g. `EU` (ODCS a `residency` custom property; DCS has no place for one); `""` when none
	Residency string `json:"residency"`
	// where the data is served (`[]` when the contract names no server)
	Servers []Server `json:"servers"`
	// every field of every model, nested fields included
	Fields []Field `json:"fields"`
	// the line of the contract's id in the file
	Line int `json:"line"`
	// where its keys are written, by model key (`id`, `owner`, `residency`); a key not written is absent
	Locs Locs `json:"locs"`
}

// Field is one field of a Contract's model.
type Field struct {
	// the model (table, topic) it belongs to
	Model string `json:"model"`
	// the field's path, `model.field` (`model.parent.child` when nested)
	Path string `json:"path"`
	// its logical type, lower-cased
	Type string `json:"type"`
	// whether the field holds personal data (DCS `pii: true`; ODCS a `pii` custom property)
	PII bool `json:"pii"`
	// its classification as written (`""` when unclassified)
	Classification string `json:"classification"`
	// the line of the field in the contract
	Line int `json:"line"`
}

// Kind says what a judged document is.
type Kind string

// The kinds of document meshbot judges.
const (
	KindDescriptor Kind = "descriptor"
	KindContract   Kind = "contract"
)

// Change is one change between the base and the head version of a file, as
// the breaking-change rules classified it.
type Change struct {
	// the rule's id, e.g. `field-removed` (internal/compat/RULES.md)
	Rule string `json:"rule"`
	// `"breaking"`, `"warning"` or `"info"`
	Severity string `json:"severity"`
	// the rule's message
	Message string `json:"message"`
	// the changed product's id, `domain.name`
	Product string `json:"product"`
	// the output port the change is on (`""` when not about a port)
	Port string `json:"port"`
	// the contract file the change is in (`""` when not in a contract)
	Contract string `json:"contract"`
	// the affected field paths, `model.field` (`[]` when not about fields)
	Fields []string `json:"fields"`
	// the value before, as text (`""` when there is none)
	Old string `json:"old"`
	// the value after, as text (`""` when there is none)
	New string `json:"new"`
	// the file the change points at (the base version's for a removal)
	File string `json:"file"`
	// the line the change points at in that file
	Line int `json:"line"`
}

// Consumer is a registered consumer of the judged descriptor's product.
type Consumer struct {
	// the consuming product's id, `domain.name`
	Product string `json:"product"`
	// the consuming product's owning team
	Owner string `json:"owner"`
	// the consumer's input port that reads this product
	InputPort string `json:"input_port"`
	// *this* product's output port it reads (`""` when it names none)
	Port string `json:"port"`
	// the fields it declares it reads (`[]` when it declares none)
	Fields []string `json:"fields"`
	// the consumer's descriptor file
	File string `json:"file"`
}

// Read is an input port of the judged descriptor's product and what it
// reads, looked up in the change and then in the registry.
type Read struct {
	// the input port's name
	InputPort string `json:"input_port"`
	// the producer's id, `domain.name` (for an ODPS port naming only a contract, the product publishing it; `""` when unknown)
	Product string `json:"product"`
	// the producer's output port (`""` when it names none)
	Port string `json:"port"`
	// whether this change adds the input port (false when nothing is compared)
	Added bool `json:"added"`
	// whether meshbot knows the producer (in this change or the registry)
	Known bool `json:"known"`
	// whether what it reads is deprecated: the output port, its product, or the port's ODCS contract
	Deprecated bool `json:"deprecated"`
	// the deprecation's sunset, `YYYY-MM-DD` (`""` when none)
	Sunset string `json:"sunset"`
	// the deprecation's replacement, `domain.name/port` (`""` when none)
	Replacement string `json:"replacement"`
	// the line of the input port in the descriptor
	Line int `json:"line"`
}

// doc is the context as policies read it, in Go form: both engines hand it
// to OPA as a lazy object, so the base document (as large as the input) and
// the lists are converted only where a rule reads them. It mounts every
// field under its json name; TestContextMountsEveryField holds it to that.
func (c Context) doc() map[string]any {
	changes := make([]any, len(c.Changes))
	for i, ch := range c.Changes {
		changes[i] = map[string]any{
			"rule": ch.Rule, "severity": ch.Severity, "message": ch.Message,
			"product": ch.Product, "port": ch.Port, "contract": ch.Contract, "fields": names(ch.Fields),
			"old": ch.Old, "new": ch.New, "file": ch.File, "line": int64(ch.Line),
		}
	}
	consumers := make([]any, len(c.Consumers))
	for i, co := range c.Consumers {
		consumers[i] = map[string]any{
			"product": co.Product, "owner": co.Owner, "input_port": co.InputPort,
			"port": co.Port, "fields": names(co.Fields), "file": co.File,
		}
	}
	reads := make([]any, len(c.Reads))
	for i, r := range c.Reads {
		reads[i] = map[string]any{
			"input_port": r.InputPort, "product": r.Product, "port": r.Port, "added": r.Added, "known": r.Known,
			"deprecated": r.Deprecated, "sunset": r.Sunset, "replacement": r.Replacement, "line": int64(r.Line),
		}
	}
	return map[string]any{
		"path": c.Path, "kind": string(c.Kind), "base": c.Base,
		"changes": changes, "consumers": consumers, "reads": reads, "today": c.Today,
		"product": c.Product.doc(), "contract": c.Contract.doc(),
	}
}

func (p *Product) doc() any {
	if p == nil {
		return nil
	}
	ports := make([]any, len(p.OutputPorts))
	for i, o := range p.OutputPorts {
		ports[i] = map[string]any{
			"name": o.Name, "type": o.Type, "location": o.Location, "topic": o.Topic, "contract": o.Contract, "contract_read": o.ContractRead,
			"freshness": o.Freshness, "servers": serversDoc(o.Servers), "lifecycle": o.Lifecycle, "deprecation": o.Deprecation.doc(),
			"line": int64(o.Line), "locs": o.Locs.doc(),
		}
	}
	inputs := make([]any, len(p.InputPorts))
	for i, in := range p.InputPorts {
		inputs[i] = map[string]any{
			"name": in.Name, "product": in.Product, "port": in.Port, "contract": in.Contract, "line": int64(in.Line), "locs": in.Locs.doc(),
		}
	}
	return map[string]any{
		"id": p.ID, "name": p.Name, "domain": p.Domain, "owner": p.Owner, "format": p.Format,
		"lifecycle": p.Lifecycle, "freshness": p.Freshness, "contains_pii": p.ContainsPII,
		"pii_fields": names(p.PIIFields), "residency": p.Residency, "deprecation": p.Deprecation.doc(),
		"output_ports": ports, "input_ports": inputs, "line": int64(p.Line), "locs": p.Locs.doc(),
	}
}

func (d *Deprecation) doc() any {
	if d == nil {
		return nil
	}
	return map[string]any{"sunset": d.Sunset, "replacement": d.Replacement, "line": int64(d.Line), "locs": d.Locs.doc()}
}

func serversDoc(ss []Server) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = map[string]any{"name": s.Name, "type": s.Type, "location": s.Location, "region": s.Region, "line": int64(s.Line)}
	}
	return out
}

func (l Locs) doc() map[string]any {
	out := make(map[string]any, len(l))
	for k, at := range l {
		out[k] = map[string]any{"line": int64(at.Line), "column": int64(at.Column)}
	}
	return out
}

func (c *Contract) doc() any {
	if c == nil {
		return nil
	}
	return map[string]any{
		"id": c.ID, "title": c.Title, "version": c.Version, "owner": c.Owner, "format": c.Format,
		"freshness": c.Freshness, "residency": c.Residency, "servers": serversDoc(c.Servers),
		"fields": fieldsValue(c.Fields), "line": int64(c.Line), "locs": c.Locs.doc(),
	}
}

// fieldKeys are the keys of a field's object, made once and shared by
// every field (OPA's terms are not changed once built).
var fieldKeys = [...]*ast.Term{
	ast.StringTerm("model"), ast.StringTerm("path"), ast.StringTerm("type"), ast.StringTerm("pii"),
	ast.StringTerm("classification"), ast.StringTerm("line"),
}

// fieldsValue is a contract's fields as OPA's value, built directly rather
// than as Go maps for OPA to convert: contract rules read every field (is
// it personal data, is it classified), so the list is converted in full
// whenever a rule reads it, and a contract has many fields. The value is
// the one the Go form converts to.
func fieldsValue(fs []Field) ast.Value {
	// One allocation each for every field's terms and key-value pairs.
	elems := make([]ast.Term, len(fs))
	vals := make([]ast.Term, len(fs)*len(fieldKeys))
	pairs := make([][2]*ast.Term, len(fs)*len(fieldKeys))
	terms := make([]*ast.Term, len(fs))
	// A contract's fields share a few models, types and classifications:
	// each distinct one is made an OPA string once.
	same := map[string]ast.Value{}
	repeated := func(s string) ast.Value {
		v, ok := same[s]
		if !ok {
			v = ast.String(s)
			same[s] = v
		}
		return v
	}
	for i, f := range fs {
		v := vals[i*len(fieldKeys) : (i+1)*len(fieldKeys)]
		v[0].Value, v[1].Value, v[2].Value = repeated(f.Model), ast.String(f.Path), repeated(f.Type)
		v[3].Value, v[4].Value, v[5].Value = ast.InternedTerm(f.PII).Value, repeated(f.Classification), ast.InternedTerm(f.Line).Value
		items := pairs[i*len(fieldKeys) : (i+1)*len(fieldKeys)]
		for k, key := range fieldKeys {
			items[k] = [2]*ast.Term{key, &v[k]}
		}
		elems[i].Value = ast.NewObject(items...)
		terms[i] = &elems[i]
	}
	return ast.NewArray(terms...)
}

// names keeps a list of names an array, never null. OPA converts a
// []string without boxing each name.
func names(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}
