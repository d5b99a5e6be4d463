package mesh

import (
	"strconv"
	"strings"
	"testing"
)

func TestODCSVersions(t *testing.T) {
	tests := []struct {
		api    string
		code   string // "" for no problem
		notice bool
	}{
		{"v3.0.0", "", false},
		{"v3.0.2", "", false},
		{"v3.1.0", "", false},
		{"v3.2.0", "", false},
		{"v3.3.0", CodeNewerVersion, true},
		{"v3.10.1", CodeNewerVersion, true},
		{"v2.2.2", CodeUnsupportedVersion, false},
		{"latest", CodeUnsupportedVersion, false},
	}
	for _, tt := range tests {
		src := "apiVersion: " + tt.api + "\nkind: DataContract\nid: c\nversion: 1.0.0\nstatus: active\n"
		_, _, probs := ReadContract("c.odcs.yaml", []byte(src))
		switch {
		case tt.code == "" && len(probs) != 0:
			t.Errorf("%s: unexpected %v", tt.api, probs)
		case tt.code != "" && (len(probs) != 1 || probs[0].Code != tt.code || probs[0].Notice != tt.notice):
			t.Errorf("%s: got %+v; want one %s (notice %t)", tt.api, probs, tt.code, tt.notice)
		}
	}
}

func TestODCSMeaning(t *testing.T) {
	src := `apiVersion: v3.2.0
kind: DataContract
id: c
version: 1.0.0
status: active
deprecated: true
servers:
  - server: prod
    type: postgres
    host: db.example.com
    port: 5432
    database: sales
    description: primary
schema:
  - name: orders
    type: table
    logicalType: object
    deprecated: true
    properties:
      - name: amount
        physicalName: AMT
        logicalType: number
        logicalTypeOptions:
          minimum: 0
          exclusiveMinimum: true
          maximum: 10
          exclusiveMaximum: false
      - name: status
        logicalType: string
        deprecated: true
        enum:
          - value: open
            label: Open
          - value: 2
      - name: counts
        logicalType: map
        map:
          key: {logicalType: string}
          value: {logicalType: integer}
      - name: customer_id
        logicalType: string
        relationships:
          - to: customers.id
    relationships:
      - from: [orders.customer_id, orders.status]
        to: [customers.id, customers.status]
        type: foreignKey
`
	c, _, probs := ReadContract("c.odcs.yaml", []byte(src))
	if len(probs) != 0 {
		t.Fatalf("problems: %v", probs)
	}
	if !c.Deprecated || len(c.Servers) != 1 || c.Servers[0].Location != "database=sales, host=db.example.com, port=5432" {
		t.Errorf("contract: deprecated %t servers %+v", c.Deprecated, c.Servers)
	}
	m := c.Models[0]
	if m.Type != "table" || m.LogicalType != "object" || !m.Deprecated {
		t.Errorf("model type %q logical %q deprecated %t", m.Type, m.LogicalType, m.Deprecated)
	}
	amount := m.Fields[0]
	if amount.PhysicalName != "AMT" || amount.Minimum != nil || num(amount.ExclusiveMinimum) != "0" || num(amount.Maximum) != "10" || amount.ExclusiveMaximum != nil {
		t.Errorf("amount bounds: min %v exclMin %v max %v exclMax %v", amount.Minimum, amount.ExclusiveMinimum, amount.Maximum, amount.ExclusiveMaximum)
	}
	if st := m.Fields[1]; strings.Join(st.Enum, ",") != "open,2" || !st.Deprecated {
		t.Errorf("status enum %v deprecated %t", st.Enum, st.Deprecated)
	}
	if cnt := m.Fields[2]; len(cnt.Fields) != 2 || cnt.Fields[1].Name != "value" || cnt.Fields[1].Type != "integer" {
		t.Errorf("map children %+v", cnt.Fields)
	}
	if len(m.Relationships) != 2 ||
		strings.Join(m.Relationships[0].From, ",") != "orders.customer_id" || strings.Join(m.Relationships[0].To, ",") != "customers.id" ||
		strings.Join(m.Relationships[1].From, ",") != "orders.customer_id,orders.status" {
		t.Errorf("relationships %+v", m.Relationships)
	}
}

func num(p *float64) string {
	if p == nil {
		return "nil"
	}
	return strconv.FormatFloat(*p, 'g', -1, 64)
}
