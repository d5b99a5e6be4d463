package policyeval

import (
	"reflect"
	"strings"
	"testing"

	"github.com/meshbot/meshbot/internal/mesh"
)

func readProduct(t *testing.T, path, src string, contracts ...string) *Product {
	t.Helper()
	p, doc, probs := mesh.ReadDescriptor(path, []byte(src))
	if p == nil {
		t.Fatalf("%s: %v", path, probs)
	}
	byPath := map[string]*mesh.Contract{}
	for i := 0; i+1 < len(contracts); i += 2 {
		c, _, _ := mesh.ReadContract(contracts[i], []byte(contracts[i+1]))
		byPath[c.File] = c
	}
	return ProductOf(p, doc, byPath)
}

func readContractModel(t *testing.T, path, src string) *Contract {
	t.Helper()
	c, doc, probs := mesh.ReadContract(path, []byte(src))
	if c == nil {
		t.Fatalf("%s: %v", path, probs)
	}
	return ContractOf(c, doc)
}

// The model points at the key each format writes a concept under, and a
// key the file does not write is absent.
func TestProductOfLocsEveryFormat(t *testing.T) {
	native := readProduct(t, "d/dataproduct.yaml", `apiVersion: mesh/v1
kind: DataProduct
metadata:
  name: revenue
  domain: finance
  owner: team-finance
spec:
  lifecycle: deprecated
  deprecation:
    sunset: 2027-03-31
  inputPorts:
    - name: orders
      product: orders.order-events
      port: iceberg-curated
  outputPorts:
    - name: iceberg-curated
      type: iceberg
      location: s3://eu-mesh-finance/revenue/
      contract: ./c.yaml
  classification:
    residency: EU
`, "d/c.yaml", `dataContractSpecification: 1.1.0
id: finance.revenue
info: {title: Revenue, version: 1.0.0}
servers:
  production:
    type: kafka
    host: pkc-1.eu-central-1.aws.confluent.cloud:9092
`)
	odps := readProduct(t, "p/x.odps.yaml", `apiVersion: v1.0.0
kind: DataProduct
id: 064c4630-8aad-4dc0-ba95-0f69940e6b18
name: Simple Data Product
status: active
domain: seller
customProperties:
  - property: tier
    value: gold
  - property: Residency
    value: " EU "
team:
  name: data-team
inputPorts:
  - name: source-data
    version: 1.0.0
    contractId: 12345678-1234-1234-1234-123456789abc
outputPorts:
  - name: processed-data
    version: 1.0.0
    contractId: https://contracts.example.com/x.yaml
`)
	for _, tc := range []struct {
		name string
		got  any
		want any
	}{
		{"native product", native.Locs, Locs{
			"name": {4, 3}, "domain": {5, 3}, "owner": {6, 3}, "lifecycle": {8, 3}, "deprecation": {9, 3}, "residency": {21, 5},
		}},
		{"native deprecation", *native.Deprecation, Deprecation{Sunset: "2027-03-31", Line: 9, Locs: Locs{"sunset": {10, 5}}}},
		{"native input port", native.InputPorts, []InputPort{{
			Name: "orders", Product: "orders.order-events", Port: "iceberg-curated", Line: 12,
			Locs: Locs{"name": {12, 7}, "product": {13, 7}, "port": {14, 7}},
		}}},
		{"native output port locs", native.OutputPorts[0].Locs, Locs{"name": {16, 7}, "type": {17, 7}, "location": {18, 7}, "contract": {19, 7}}},
		{"native port servers", native.OutputPorts[0].Servers, []Server{{
			Name: "production", Type: "kafka", Location: "host=pkc-1.eu-central-1.aws.confluent.cloud:9092", Region: "eu-central-1", Line: 5,
		}}},
		{"native residency", native.Residency, "EU"},
		{"odps product", odps.Locs, Locs{"name": {3, 1}, "domain": {6, 1}, "owner": {13, 3}, "lifecycle": {5, 1}, "residency": {10, 5}}},
		{"odps residency, from a custom property", odps.Residency, "EU"},
		{"odps input port", odps.InputPorts, []InputPort{{
			Name: "source-data", Contract: "12345678-1234-1234-1234-123456789abc", Line: 15,
			Locs: Locs{"name": {15, 5}, "contract": {17, 5}},
		}}},
		{"odps port contract by id", odps.OutputPorts[0].Contract, "https://contracts.example.com/x.yaml"},
		{"odps unread port has no servers", odps.OutputPorts[0].Servers, []Server{}},
	} {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.name, tc.got, tc.want)
		}
	}
}

// A native port whose contract is a URL has a contract: the model must not
// say it has none (pii-contract-required would cry wolf).
func TestProductOfContractURL(t *testing.T) {
	p := readProduct(t, "d/dataproduct.yaml", `apiVersion: mesh/v1
kind: DataProduct
metadata: {name: revenue, domain: finance}
spec:
  outputPorts:
    - {name: a, type: kafka, topic: finance.revenue, contract: "https://contracts.example.com/revenue.yaml"}
`)
	if got := p.OutputPorts[0]; got.Contract != "https://contracts.example.com/revenue.yaml" || got.ContractRead || got.Location != "" || got.Topic != "finance.revenue" {
		t.Errorf("port %+v", got)
	}
}

// A DPS port addressed by catalog and table has no location an iceberg
// rule could judge; one whose server writes a location has it.
func TestProductOfDPSLocation(t *testing.T) {
	p := readProduct(t, "d/dataproduct.yaml", `dataProductSpecification: 0.0.1
id: search-queries
info: {title: Search queries, owner: search-team}
outputPorts:
  - id: by-table
    name: By table
    type: iceberg
    server: {catalog: glue, database: search, table: queries}
  - id: by-location
    name: By location
    type: iceberg
    server: {location: "s3://eu-search/queries"}
  - id: by-path
    name: By path
    type: iceberg
    server: {account: acme, path: "s3://eu-search/q/"}
`)
	var got []string
	for _, o := range p.OutputPorts {
		got = append(got, o.Location)
	}
	if want := []string{"", "s3://eu-search/queries", "s3://eu-search/q/"}; !reflect.DeepEqual(got, want) {
		t.Errorf("locations %q, want %q", got, want)
	}
}

func TestContractOfResidencyAndServers(t *testing.T) {
	odcs := readContractModel(t, "c/x.odcs.yaml", `apiVersion: v3.1.0
kind: DataContract
id: abc123
version: 1.0.0
status: active
customProperties:
  - property: residency
    value: EU
servers:
  - server: athena
    type: athena
    regionName: us-east-1
  - server: local
    type: postgres
    host: localhost
team:
  name: my-team
`)
	if odcs.Residency != "EU" || odcs.Locs["residency"] != (Loc{7, 5}) || odcs.Locs["owner"] != (Loc{16, 1}) {
		t.Errorf("odcs residency %q, locs %+v", odcs.Residency, odcs.Locs)
	}
	want := []Server{
		{Name: "athena", Type: "athena", Location: "regionName=us-east-1", Region: "us-east-1", Line: 10},
		{Name: "local", Type: "postgres", Location: "host=localhost", Region: "", Line: 13},
	}
	if !reflect.DeepEqual(odcs.Servers, want) {
		t.Errorf("servers %+v", odcs.Servers)
	}
	// DCS has no customProperties: a key of that name is not a residency.
	dcs := readContractModel(t, "c/datacontract.yaml", `dataContractSpecification: 1.1.0
id: x
info: {title: X, version: 1.0.0, owner: team-x}
customProperties:
  - property: residency
    value: EU
`)
	if dcs.Residency != "" || dcs.Servers == nil || len(dcs.Servers) != 0 || dcs.Locs["owner"] != (Loc{3, 34}) {
		t.Errorf("dcs %+v", dcs)
	}
}

func TestRegionOf(t *testing.T) {
	for loc, want := range map[string]string{
		"":                                   "",
		"host=localhost, port=5432":          "",
		"regionName=eu-central-1, schema=db": "eu-central-1",
		"region=westeurope":                  "westeurope",
		"host=pkc-7xoy1.eu-central-1.aws.confluent.cloud:9092":        "eu-central-1",
		"host=b-1.msk.us-west-2.amazonaws.com:9092":                   "us-west-2",
		"location=gs://bucket/x, project=p, region=europe-west3":      "europe-west3",
		"endpointUrl=https://storage.europe-west3.rep.googleapis.com": "europe-west3",
		"location=s3://datacontract-example-orders-latest/v2/":        "",
		"host=us-gov-west-1.example.com":                              "us-gov-west-1",
		"location=s3://menu-east-1x/":                                 "",
	} {
		if got := regionOf(loc); got != want {
			t.Errorf("regionOf(%q) = %q, want %q", loc, got, want)
		}
	}
}

// Server addresses come from outside: regionOf never panics and what it
// returns is in its input.
func FuzzRegionOf(f *testing.F) {
	for _, s := range []string{"region=eu-west-1", "host=a.us-east-1.x", "regionName=, region=", "=,=, ,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, loc string) {
		if r := regionOf(loc); r != "" && !strings.Contains(loc, r) {
			t.Errorf("regionOf(%q) = %q, not in the input", loc, r)
		}
	})
}
