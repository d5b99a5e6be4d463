package backstage

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/meshbot/meshbot/internal/mesh"
)

// definition is an API entity's spec.definition: the port's contract as YAML
// text. The registry keeps the parsed contract, not its bytes, so the text
// is rendered from the model in one shape whatever the contract's format
// (DCS or ODCS): what a reader in Backstage needs is the schema and its
// guarantees, and one shape reads the same across the catalog. Backstage
// requires a non-empty string, so a port without a readable contract gets a
// comment saying so.
func definition(p *mesh.Product, o *mesh.OutputPort) string {
	c := o.Contract
	if c == nil {
		switch {
		case o.ContractPath != "":
			return "# The contract " + o.ContractPath + " of output port " + o.Name + " (" + p.ID() + ") could not be read; meshbot reports why in the repository's check runs.\n"
		case o.ContractID != "":
			return "# Output port " + o.Name + " (" + p.ID() + ") names contract id " + o.ContractID + ", which meshbot did not find in the repository.\n"
		default:
			return "# Output port " + o.Name + " (" + p.ID() + ") declares no data contract.\n"
		}
	}
	var y yamlWriter
	y.comment("Rendered by meshbot from " + c.File + " (" + string(c.Format) + " " + c.SpecVersion + ").")
	y.str(0, "id", c.ID)
	y.str(0, "title", c.Title)
	y.str(0, "version", c.Version)
	y.str(0, "status", c.Status)
	y.str(0, "owner", c.Owner)
	sla := c.ServiceLevels
	if sla.Freshness != "" || sla.Availability != "" || sla.Completeness != "" || sla.Retention != "" || sla.Latency != "" {
		y.key(0, "serviceLevels")
		y.str(1, "freshness", sla.Freshness)
		y.str(1, "availability", sla.Availability)
		y.str(1, "completeness", sla.Completeness)
		y.str(1, "retention", sla.Retention)
		y.str(1, "latency", sla.Latency)
	}
	if len(c.Models) > 0 {
		y.key(0, "models")
		for _, m := range c.Models {
			y.key(1, m.Name)
			y.str(2, "type", m.Type)
			y.str(2, "description", m.Description)
			if len(m.Fields) > 0 {
				y.key(2, "fields")
				for _, f := range m.Fields {
					y.field(3, f)
				}
			}
			y.quality(2, m.Quality)
		}
	}
	y.quality(0, c.Quality)
	return y.b.String()
}

// yamlWriter writes the small, fixed YAML shape above. Keys and values are
// quoted unless they are plainly safe, so any text a contract holds comes
// out as a string and never as YAML structure.
type yamlWriter struct{ b strings.Builder }

func (y *yamlWriter) indent(level int) {
	for range level {
		y.b.WriteString("  ")
	}
}

func (y *yamlWriter) comment(s string) {
	y.b.WriteString("# ")
	y.b.WriteString(strings.ReplaceAll(s, "\n", " "))
	y.b.WriteByte('\n')
}

func (y *yamlWriter) key(level int, k string) {
	y.indent(level)
	y.b.WriteString(scalar(k))
	y.b.WriteString(":\n")
}

func (y *yamlWriter) raw(level int, k, v string) {
	y.indent(level)
	y.b.WriteString(scalar(k))
	y.b.WriteString(": ")
	y.b.WriteString(v)
	y.b.WriteByte('\n')
}

func (y *yamlWriter) str(level int, k, v string) {
	if v != "" {
		y.raw(level, k, scalar(v))
	}
}

func (y *yamlWriter) flag(level int, k string, v bool) {
	if v {
		y.raw(level, k, "true")
	}
}

func (y *yamlWriter) num(level int, k string, v *float64) {
	if v != nil {
		y.raw(level, k, strconv.FormatFloat(*v, 'g', -1, 64))
	}
}

func (y *yamlWriter) field(level int, f *mesh.Field) {
	y.key(level, f.Name)
	y.fieldBody(level+1, f)
}

func (y *yamlWriter) fieldBody(level int, f *mesh.Field) {
	y.str(level, "type", f.Type)
	y.str(level, "physicalType", f.PhysicalType)
	y.str(level, "format", f.Format)
	y.str(level, "description", f.Description)
	y.flag(level, "required", f.Required)
	y.flag(level, "unique", f.Unique)
	y.flag(level, "primaryKey", f.PrimaryKey)
	y.flag(level, "pii", f.PII)
	y.str(level, "classification", f.Classification)
	if len(f.Enum) > 0 {
		vs := make([]string, len(f.Enum))
		for i, e := range f.Enum {
			vs[i] = quoted(e)
		}
		y.raw(level, "enum", "["+strings.Join(vs, ", ")+"]")
	}
	y.str(level, "pattern", f.Pattern)
	y.num(level, "minLength", f.MinLength)
	y.num(level, "maxLength", f.MaxLength)
	y.num(level, "minimum", f.Minimum)
	y.num(level, "maximum", f.Maximum)
	y.num(level, "exclusiveMinimum", f.ExclusiveMinimum)
	y.num(level, "exclusiveMaximum", f.ExclusiveMaximum)
	y.str(level, "references", f.References)
	y.str(level, "$ref", f.Ref)
	if len(f.Fields) > 0 {
		y.key(level, "fields")
		for _, c := range f.Fields {
			y.field(level+1, c)
		}
	}
	if f.Items != nil {
		y.key(level, "items")
		y.fieldBody(level+1, f.Items)
	}
	y.quality(level, f.Quality)
}

func (y *yamlWriter) quality(level int, qs []mesh.QualityRule) {
	if len(qs) == 0 {
		return
	}
	y.key(level, "quality")
	for _, q := range qs {
		y.indent(level)
		y.b.WriteString("- ")
		first := true
		item := func(k, v string) {
			if v == "" {
				return
			}
			if !first {
				y.indent(level + 1)
			}
			first = false
			y.b.WriteString(scalar(k))
			y.b.WriteString(": ")
			y.b.WriteString(scalar(v))
			y.b.WriteByte('\n')
		}
		item("type", q.Type)
		item("name", q.Name)
		item("description", q.Description)
		if c := q.Canonical; strings.HasPrefix(c, "{") && !strings.ContainsAny(c, "\n\r") && json.Valid([]byte(c)) {
			// JSON is YAML: the rule reads as a flow mapping, not as an
			// escaped string.
			if !first {
				y.indent(level + 1)
			}
			first = false
			y.b.WriteString("rule: ")
			y.b.WriteString(c)
			y.b.WriteByte('\n')
		} else {
			item("rule", c)
		}
		if first {
			y.b.WriteString("{}\n")
		}
	}
}

// scalar writes s plain when YAML would read it back as the same string,
// double-quoted otherwise.
func scalar(s string) string {
	if plainSafe(s) {
		return s
	}
	return quoted(s)
}

// quoted is a YAML double-quoted scalar. strconv.Quote's escapes (\n, \t,
// \uNNNN, \UNNNNNNNN, \a, \b, \f, \v, \\, \") are all YAML escapes; its \xNN
// for a byte of invalid UTF-8 would read back as a different character, so
// such bytes become U+FFFD first, as JSON does.
func quoted(s string) string { return strconv.Quote(strings.ToValidUTF8(s, "\uFFFD")) }

func plainSafe(s string) bool {
	if s == "" || len(s) > 200 {
		return false
	}
	switch strings.ToLower(s) {
	case "true", "false", "yes", "no", "on", "off", "y", "n", "null", "~":
		return false
	}
	c := s[0]
	if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_') {
		return false // digits could read as numbers, symbols as indicators
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(alnum(c) || c == '_' || c == '-' || c == '.' || c == '/' || c == ' ') {
			return false
		}
	}
	return s[len(s)-1] != ' '
}
