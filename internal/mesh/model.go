// Package mesh is meshbot's model of a data mesh and the readers of every
// file format it accepts. Everything here keeps its source position so that
// findings can point at a file, a line and a column.
package mesh

import (
	"crypto/sha256"
	"fmt"
	"time"
)

// Pos is a place in a source file. File is slash-separated and relative to
// the root of the checkout it was read from. Line and Col start at 1; zero
// means unknown (the whole file).
type Pos struct {
	File string `json:"file"`
	Line int    `json:"line,omitempty"`
	Col  int    `json:"column,omitempty"`
}

func (p Pos) String() string {
	switch {
	case p.Line == 0:
		return p.File
	case p.Col == 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	default:
		return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
	}
}

// Locs maps an attribute name as written in the file ("type", "required",
// "location", ...) to the position of its key. Findings about one attribute
// point at that key rather than at the element that owns it.
type Locs map[string]Pos

// At returns the position of attribute key, or fallback when the attribute is
// not written.
func (l Locs) At(key string, fallback Pos) Pos {
	if p, ok := l[key]; ok {
		return p
	}
	return fallback
}

// Format names a file format meshbot reads.
type Format string

const (
	FormatNative Format = "mesh/v1"           // seed 004's dataproduct.yaml
	FormatODPS   Format = "odps"              // Open Data Product Standard
	FormatDPS    Format = "dataproduct-spec"  // dataproduct-specification.com (read as ODPS-like)
	FormatDCS    Format = "datacontract-spec" // Data Contract Specification 1.x
	FormatODCS   Format = "odcs"              // Open Data Contract Standard v3
)

// Lifecycle values of products and ports.
const (
	LifecycleExperimental = "experimental"
	LifecycleProduction   = "production"
	LifecycleDeprecated   = "deprecated"
)

// Document is one parsed YAML file: the value exactly as written (what
// policies receive as input) and the position index used to locate keys.
type Document struct {
	Path  string            // slash path relative to the checkout root
	Value any               // map[string]any / []any / string / bool / int64 / float64 / nil, dates kept as written strings
	Index *Index            // positions of every key and value, addressable by path
	Sum   [sha256.Size]byte // of the source bytes: tells an unchanged file from a changed one
}

// Mesh is everything read from one checkout (a head, a base, or a consumer's
// repository).
type Mesh struct {
	Root      string               // where it was read from, for messages only
	Products  []*Product           // in path order
	Contracts map[string]*Contract // by slash path relative to the checkout root
	Documents map[string]*Document // every parsed descriptor and contract, by path
	Problems  []Problem            // files that could not be read, parsed or resolved
	Files     FileReport           // what was read, and what was skipped and why
}

// Product is a data product descriptor.
type Product struct {
	// Repo is the repository the descriptor lives in (owner/name) when it
	// came from GitHub (the App's registry); empty for a local checkout.
	Repo           string
	File           string // path of the descriptor
	Format         Format
	APIVersion     string
	Kind           string
	Name           string // the identifier: metadata.name, ODPS id, DPS id
	Title          string // ODPS display name, when it differs from Name
	Domain         string
	Owner          string
	Description    string
	Lifecycle      string // as written; "" when absent
	Deprecation    *Deprecation
	InputPorts     []*InputPort
	OutputPorts    []*OutputPort
	SLA            SLA
	Classification Classification
	Pos            Pos  // the document root (metadata/name when present)
	Locs           Locs // metadata.name, metadata.domain, metadata.owner, spec.lifecycle, ...: keyed by dotted path
}

// ContractConsumerID is the producer id under which consumers of a
// contract that no output port publishes are registered, and under which
// changes to it are reported: an ODPS input port may read a contract that
// stands alone in its repository, known only by its id.
func ContractConsumerID(contractID string) string { return "contract:" + contractID }

// ID is the product's global identifier, <domain>.<name>.
func (p *Product) ID() string {
	if p.Domain == "" {
		return p.Name
	}
	return p.Domain + "." + p.Name
}

// OutputPort finds an output port by name.
func (p *Product) OutputPort(name string) *OutputPort {
	for _, o := range p.OutputPorts {
		if o.Name == name {
			return o
		}
	}
	return nil
}

// Deprecation is the sunset path of a product or port.
type Deprecation struct {
	Sunset      string    // as written (YYYY-MM-DD)
	SunsetDate  time.Time // zero when Sunset does not parse
	Replacement string
	Reason      string
	Pos         Pos
	Locs        Locs
}

// OutputPort is how consumers read a product.
type OutputPort struct {
	Name         string
	Type         string
	Location     string
	Topic        string
	ContractRef  string    // as written, relative to the descriptor
	ContractPath string    // resolved, relative to the checkout root; "" when no contract
	ContractID   string    // ODPS contractId / DPS dataContractId: a contract named by its id, not its path
	Contract     *Contract // nil when absent or unreadable (a Problem says why)
	Version      string    // port or contract version when declared
	Lifecycle    string
	Deprecation  *Deprecation
	Pos          Pos
	Locs         Locs
}

// InputPort is what a consumer reads from a producer: this is a registered
// consumer expectation.
type InputPort struct {
	Name       string
	Product    string // producer's global id
	Port       string // producer's output port
	ContractID string // ODPS contractId: the contract this port reads, by id
	Fields     []FieldRef
	Pos        Pos
	Locs       Locs
}

// FieldRef names a field a consumer depends on. Name may be "model.field" or
// a dotted path for nested fields; a bare name matches that field in any model.
type FieldRef struct {
	Name string
	Pos  Pos
}

// SLA is a product's or contract's service levels as written, with parsed
// values where they are comparable.
type SLA struct {
	Freshness       string        // as written, e.g. "<= 15m"
	FreshnessMax    time.Duration // parsed bound; 0 when absent or unparsable
	Availability    string        // e.g. "99.5%"
	AvailabilityPct float64       // 0 when absent or unparsable
	Completeness    string
	CompletenessPct float64
	Retention       string
	RetentionMin    time.Duration // parsed; 0 when absent, unlimited or unparsable
	Latency         string
	LatencyMax      time.Duration // parsed; 0 when absent or unparsable
	// Other holds the ODCS slaProperties beyond the five above (frequency,
	// timeOfAvailability, endOfSupport, ...), in written order.
	Other []SLAProperty
	Pos   Pos
	Locs  Locs
}

// SLAProperty is one ODCS service-level property. Value is the value with
// its unit as one comparable text ("4d", "99.5%"): ODCS writes the unit in
// its own key.
type SLAProperty struct {
	Key      string // identifies the property across versions: lower-cased name, with driver and element when written
	Property string // as written
	Value    string
	Duration time.Duration // parsed when Value reads as a duration
	IsSpan   bool          // Duration is meaningful
	Pos      Pos
}

// Classification is the data-protection class of a product.
type Classification struct {
	ContainsPII bool
	PIIFields   []string
	Residency   string
	Pos         Pos
	Locs        Locs
}

// Contract is a data contract in any supported format.
type Contract struct {
	File          string
	Format        Format
	SpecVersion   string // dataContractSpecification or apiVersion
	ID            string
	Title         string
	Version       string // info.version (DCS) or version (ODCS)
	Owner         string
	Status        string
	Deprecated    bool // ODCS 3.2 deprecated: true
	Servers       []Server
	Models        []*Model
	Quality       []QualityRule // contract-level rules
	ServiceLevels SLA
	Pos           Pos
	Locs          Locs

	// Deprecation is the sunset path recorded by /mesh deprecate: the DCS
	// info.deprecation block, the ODCS custom property deprecation.
	Deprecation *Deprecation

	// stub holds the source of a contract read by LoadPair whose bytes are
	// identical in both checkouts: it is parsed only when needed (Parse).
	stub *stub
}

// Model finds a model by name.
func (c *Contract) Model(name string) *Model {
	for _, m := range c.Models {
		if m.Name == name {
			return m
		}
	}
	return nil
}

// Server is where a contract's data lives (DCS servers.<name>, ODCS
// servers[]). Location is every addressing attribute (host, database,
// schema, topic, path, ...) as "key=value" pairs in key order, so that two
// spellings of one place compare equal and any move shows.
type Server struct {
	Name     string
	Type     string
	Location string
	Pos      Pos
}

// Relationship is a foreign key of a model (ODCS relationships; DCS
// references): the fields From, as "model.field" paths, refer to To.
type Relationship struct {
	Type string
	From []string
	To   []string
	Pos  Pos
}

// Model is a table, view, topic or object schema inside a contract (DCS
// models.<name>, ODCS schema[]).
type Model struct {
	Name          string
	Type          string // physical type (table, view, topic); ODCS 3.0's plain type
	LogicalType   string // ODCS logicalType (object)
	Description   string
	Deprecated    bool
	Fields        []*Field
	Quality       []QualityRule
	Relationships []Relationship // ODCS, schema-level and property-level together
	Pos           Pos
	Locs          Locs
}

// Field is a column or property. Nested object fields are in Fields, the
// element schema of an array in Items.
type Field struct {
	Name             string
	Type             string // logical type, lower-cased as written (string, integer, long, timestamp, ...)
	PhysicalType     string
	PhysicalName     string // ODCS physicalName: the column as stored, when it differs from Name
	Deprecated       bool
	Format           string
	Description      string
	Required         bool
	Unique           bool
	PrimaryKey       bool
	Enum             []string
	Pattern          string
	MinLength        *float64
	MaxLength        *float64
	Minimum          *float64
	Maximum          *float64
	ExclusiveMinimum *float64
	ExclusiveMaximum *float64
	PII              bool
	Classification   string
	References       string
	Ref              string // $ref into definitions (DCS)
	Quality          []QualityRule
	Fields           []*Field
	Items            *Field
	Pos              Pos
	Locs             Locs
}

// QualityRule is one quality expectation. Key identifies the rule across
// versions (its name, else a canonical form of its definition).
type QualityRule struct {
	Key         string
	Type        string
	Name        string
	Description string
	Canonical   string // a canonical rendering used to tell if the rule changed
	Pos         Pos
}

// Problem is input meshbot could not use: a broken file, an unknown format, a
// missing or escaping contract reference. It becomes a finding on that file
// and line; it never panics or hangs.
type Problem struct {
	Code    string // stable id, e.g. "yaml-syntax", "duplicate-key", "contract-missing"
	Message string
	Pos     Pos
	// Notice marks input meshbot could read in full and only mentions (a
	// format version newer than the schemas it knows, read with the closest
	// one): a finding at notice level, never an error.
	Notice bool
}

func (p Problem) Error() string { return p.Pos.String() + ": " + p.Message }
