package policyeval

// The context a policy reads at data.meshbot.context. These types are the
// contract with policy authors: the table in policy/README.md is generated
// from them, field comments included (go test ./internal/policyeval -run
// TestContextDoc -update), and a test fails when it is stale or when a field
// is not mounted under its json name.

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
	// the data residency, e.g. `EU` (`""` when none)
	Residency string `json:"residency"`
	// the output ports
	OutputPorts []Port `json:"output_ports"`
	// the line of the product in the descriptor (for a message's `_loc`)
	Line int `json:"line"`
}

// Port is an output port of a Product.
type Port struct {
	// the port's name
	Name string `json:"name"`
	// the port's type as written (`iceberg`, `kafka`, ...)
	Type string `json:"type"`
	// where the data is: `location`, else `topic` (`""` when neither)
	Location string `json:"location"`
	// the port's contract: its path from the repository root, or its id (ODPS `contractId`); `""` when none
	Contract string `json:"contract"`
	// whether meshbot read the port's contract (false when the port names none, or one meshbot cannot find)
	ContractRead bool `json:"contract_read"`
	// the freshness its contract promises (DCS `servicelevels.freshness`, ODCS `slaProperties` freshness, else latency); `""` when none or unread
	Freshness string `json:"freshness"`
	// the port's lifecycle as written (`""` when absent)
	Lifecycle string `json:"lifecycle"`
	// the line of the port in the descriptor
	Line int `json:"line"`
	// the column of the port in the descriptor (with `line`, a message's `_loc`)
	Column int `json:"column"`
	// the line of the port's `location` (else `topic`) key; `0` when it writes neither
	LocationLine int `json:"location_line"`
	// the column of that key (with `location_line`, the `_loc` of a finding about the location)
	LocationColumn int `json:"location_column"`
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
	// every field of every model, nested fields included
	Fields []Field `json:"fields"`
	// the line of the contract's id in the file
	Line int `json:"line"`
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
	return map[string]any{
		"path": c.Path, "kind": string(c.Kind), "base": c.Base,
		"changes": changes, "consumers": consumers, "today": c.Today,
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
			"name": o.Name, "type": o.Type, "location": o.Location, "contract": o.Contract, "contract_read": o.ContractRead,
			"freshness": o.Freshness, "lifecycle": o.Lifecycle, "line": int64(o.Line), "column": int64(o.Column),
			"location_line": int64(o.LocationLine), "location_column": int64(o.LocationColumn),
		}
	}
	return map[string]any{
		"id": p.ID, "name": p.Name, "domain": p.Domain, "owner": p.Owner, "format": p.Format,
		"lifecycle": p.Lifecycle, "freshness": p.Freshness, "contains_pii": p.ContainsPII,
		"pii_fields": names(p.PIIFields), "residency": p.Residency, "output_ports": ports, "line": int64(p.Line),
	}
}

func (c *Contract) doc() any {
	if c == nil {
		return nil
	}
	fields := make([]any, len(c.Fields))
	for i, f := range c.Fields {
		fields[i] = map[string]any{
			"model": f.Model, "path": f.Path, "type": f.Type, "pii": f.PII,
			"classification": f.Classification, "line": int64(f.Line),
		}
	}
	return map[string]any{
		"id": c.ID, "title": c.Title, "version": c.Version, "owner": c.Owner, "format": c.Format,
		"freshness": c.Freshness, "fields": fields, "line": int64(c.Line),
	}
}

// names keeps a list of names an array, never null. OPA converts a
// []string without boxing each name.
func names(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}
