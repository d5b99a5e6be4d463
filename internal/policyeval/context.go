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
