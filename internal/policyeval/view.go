package policyeval

import (
	"cmp"
	"regexp"
	"strings"

	"github.com/meshbot/meshbot/internal/mesh"
)

// ProductOf is p, read from doc, in the normalised model policies read at
// data.meshbot.context.product. contracts are the checkout's contracts by
// path, where a port's contract is found when the loader did not attach it;
// reading a port's contract may parse it, so ProductOf is not safe to call
// in parallel on one checkout.
func ProductOf(p *mesh.Product, doc *mesh.Document, contracts map[string]*mesh.Contract) *Product {
	v := &Product{
		ID: p.ID(), Name: p.Name, Domain: p.Domain, Owner: p.Owner, Format: string(p.Format),
		Lifecycle: p.Lifecycle, Freshness: p.SLA.Freshness, ContainsPII: p.Classification.ContainsPII,
		PIIFields: p.Classification.PIIFields, Residency: p.Classification.Residency,
		Deprecation: deprecationOf(p.Deprecation),
		OutputPorts: make([]Port, 0, len(p.OutputPorts)), InputPorts: make([]InputPort, 0, len(p.InputPorts)),
		Line: p.Pos.Line, Locs: locsOf(p.Locs, productKeys[p.Format]),
	}
	if at, ok := p.Classification.Locs["residency"]; ok {
		v.Locs["residency"] = Loc{Line: at.Line, Column: at.Col}
	}
	if p.Format == mesh.FormatODPS {
		if res, at, ok := residencyOf(doc); ok {
			v.Residency, v.Locs["residency"] = res, at
		}
	}
	for _, o := range p.OutputPorts {
		port := Port{
			Name: o.Name, Type: o.Type, Location: portLocation(p.Format, o), Topic: o.Topic,
			Contract: cmp.Or(o.ContractPath, o.ContractID, strings.TrimSpace(o.ContractRef)), Servers: []Server{},
			Lifecycle: o.Lifecycle, Deprecation: deprecationOf(o.Deprecation),
			Line: o.Pos.Line, Locs: locsOf(o.Locs, portKeys[p.Format]),
		}
		c := o.Contract
		if c == nil && o.ContractPath != "" {
			c = contracts[o.ContractPath]
		}
		if c != nil {
			c.Parse()
			port.ContractRead = true
			port.Freshness = cmp.Or(c.ServiceLevels.Freshness, c.ServiceLevels.Latency)
			port.Servers = serversOf(c.Servers)
		}
		v.OutputPorts = append(v.OutputPorts, port)
	}
	for _, in := range p.InputPorts {
		v.InputPorts = append(v.InputPorts, InputPort{
			Name: in.Name, Product: in.Product, Port: in.Port, Contract: in.ContractID, Line: in.Pos.Line,
			Locs: locsOf(in.Locs, inputKeys[p.Format]),
		})
	}
	return v
}

// ContractOf is c, read from doc, in the normalised model policies read at
// data.meshbot.context.contract. It parses c (and so fills doc) when the
// loader left it unparsed, so it is not safe to call in parallel on one
// contract.
func ContractOf(c *mesh.Contract, doc *mesh.Document) *Contract {
	c.Parse()
	v := &Contract{
		ID: c.ID, Title: c.Title, Version: c.Version, Owner: c.Owner, Format: string(c.Format),
		Freshness: cmp.Or(c.ServiceLevels.Freshness, c.ServiceLevels.Latency),
		Servers:   serversOf(c.Servers), Fields: make([]Field, 0, countFields(c.Models)), Line: c.Pos.Line, Locs: locsOf(c.Locs, contractKeys[c.Format]),
	}
	var walk func(model, prefix string, fs []*mesh.Field)
	walk = func(model, prefix string, fs []*mesh.Field) {
		for _, f := range fs {
			path := prefix + "." + f.Name
			v.Fields = append(v.Fields, Field{
				Model: model, Path: path, Type: f.Type, PII: f.PII,
				Classification: f.Classification, Line: f.Pos.Line,
			})
			walk(model, path, f.Fields)
		}
	}
	for _, m := range c.Models {
		walk(m.Name, m.Name, m.Fields)
	}
	if c.Format == mesh.FormatODCS {
		if res, at, ok := residencyOf(doc); ok {
			v.Residency, v.Locs["residency"] = res, at
		}
	}
	return v
}

// countFields counts every field of models, nested ones too, so that the
// list ContractOf builds is allocated once.
func countFields(models []*mesh.Model) int {
	var count func(fs []*mesh.Field) int
	count = func(fs []*mesh.Field) int {
		n := len(fs)
		for _, f := range fs {
			n += count(f.Fields)
		}
		return n
	}
	n := 0
	for _, m := range models {
		n += count(m.Fields)
	}
	return n
}

// propResidency is the custom property under which an ODPS product or an
// ODCS contract declares its data residency: neither standard has a key for
// it, and residency rules need what the native descriptor writes in
// spec.classification.residency.
const propResidency = "residency"

// residencyOf reads the residency custom property of an ODPS or ODCS
// document as written (top-level customProperties: [{property, value}]),
// matching the property's name without regard to case, and where its entry
// is.
func residencyOf(doc *mesh.Document) (string, Loc, bool) {
	if doc == nil {
		return "", Loc{}, false
	}
	root, _ := doc.Value.(map[string]any)
	props, _ := root["customProperties"].([]any)
	for i, el := range props {
		cp, _ := el.(map[string]any)
		name, _ := cp["property"].(string)
		if !strings.EqualFold(strings.TrimSpace(name), propResidency) {
			continue
		}
		value, ok := cp["value"].(string)
		if !ok || strings.TrimSpace(value) == "" {
			continue
		}
		at, _ := doc.Index.Lookup("customProperties", i)
		return strings.TrimSpace(value), Loc{Line: at.Line, Column: at.Col}, true
	}
	return "", Loc{}, false
}

// portLocation is where a port's data is stored, as one written location.
// A DPS port addressed by its server's attributes (mesh joins them into
// key=value pairs, so that any move shows) has one only when its server
// writes a location or a path: a catalog and a table are no directory.
func portLocation(format mesh.Format, o *mesh.OutputPort) string {
	if _, written := o.Locs["location"]; format != mesh.FormatDPS || written || !strings.Contains(o.Location, "=") {
		return o.Location
	}
	for pair := range strings.SplitSeq(o.Location, ", ") {
		if k, v, _ := strings.Cut(pair, "="); k == "location" || k == "path" {
			return v
		}
	}
	return ""
}

// The keys each format writes a model key under, as mesh records them in
// Locs (dotted from the element), the first written one winning: a rule
// points at owner and lands on metadata.owner, team.name or info.owner.
var (
	productKeys = map[mesh.Format]map[string][]string{
		mesh.FormatNative: {
			"name": {"metadata.name"}, "domain": {"metadata.domain"}, "owner": {"metadata.owner"},
			"lifecycle": {"spec.lifecycle"}, "freshness": {"spec.sla.freshness"}, "deprecation": {"spec.deprecation"},
		},
		mesh.FormatODPS: {"name": {"id"}, "domain": {"domain"}, "owner": {"team.name", "team"}, "lifecycle": {"status"}},
		mesh.FormatDPS:  {"name": {"id"}, "domain": {"info.domain"}, "owner": {"info.owner"}, "lifecycle": {"info.status"}},
	}
	portKeys = map[mesh.Format]map[string][]string{
		mesh.FormatNative: {
			"name": {"name"}, "type": {"type"}, "location": {"location"}, "topic": {"topic"},
			"contract": {"contract"}, "lifecycle": {"lifecycle"}, "deprecation": {"deprecation"},
		},
		mesh.FormatODPS: {"name": {"name"}, "type": {"type"}, "contract": {"contractId"}},
		mesh.FormatDPS: {
			"name": {"id"}, "type": {"type", "server"}, "location": {"location", "server"}, "topic": {"server"},
			"contract": {"dataContractId"}, "lifecycle": {"status"},
		},
	}
	inputKeys = map[mesh.Format]map[string][]string{
		mesh.FormatNative: {"name": {"name"}, "product": {"product"}, "port": {"port"}},
		mesh.FormatODPS:   {"name": {"name"}, "contract": {"contractId"}},
		mesh.FormatDPS:    {"name": {"id"}},
	}
	contractKeys = map[mesh.Format]map[string][]string{
		mesh.FormatDCS:  {"id": {"id"}, "owner": {"info.owner"}},
		mesh.FormatODCS: {"id": {"id"}, "owner": {"team"}},
	}
	deprecationKeys = map[string][]string{"sunset": {"sunset"}, "replacement": {"replacement"}}
)

// locsOf picks from written the places of the model keys in keys.
func locsOf(written mesh.Locs, keys map[string][]string) Locs {
	out := make(Locs, len(keys))
	for model, spellings := range keys {
		for _, k := range spellings {
			if at, ok := written[k]; ok && at.Line > 0 {
				out[model] = Loc{Line: at.Line, Column: at.Col}
				break
			}
		}
	}
	return out
}

func deprecationOf(d *mesh.Deprecation) *Deprecation {
	if d == nil {
		return nil
	}
	return &Deprecation{Sunset: d.Sunset, Replacement: d.Replacement, Line: d.Pos.Line, Locs: locsOf(d.Locs, deprecationKeys)}
}

func serversOf(ss []mesh.Server) []Server {
	out := make([]Server, len(ss))
	for i, s := range ss {
		out[i] = Server{Name: s.Name, Type: s.Type, Location: s.Location, Region: regionOf(s.Location), Line: s.Pos.Line}
	}
	return out
}

// cloudRegion matches AWS (eu-central-1) and GCP (europe-west3) region
// codes inside a host name, bucket or endpoint.
var cloudRegion = regexp.MustCompile(`\b(?:(?:af|ap|ca|cn|eu|il|me|mx|sa|us)-(?:gov-)?(?:central|north|south|east|west|northeast|northwest|southeast|southwest)-[0-9]+|(?:africa|asia|australia|europe|me|northamerica|southamerica|us)-(?:central|north|south|east|west|northeast|northwest|southeast|southwest)[0-9]+)\b`)

// regionOf is the region a server's address names: a region attribute
// (ODCS region, regionName) when written, else the first cloud region code
// in it. loc is mesh.Server.Location, "key=value" pairs joined by ", ".
func regionOf(loc string) string {
	for pair := range strings.SplitSeq(loc, ", ") {
		k, v, _ := strings.Cut(pair, "=")
		if (k == "region" || k == "regionName") && strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v)
		}
	}
	return cloudRegion.FindString(loc)
}
