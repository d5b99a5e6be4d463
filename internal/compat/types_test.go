package compat

import "testing"

func TestCompareTypes(t *testing.T) {
	tests := []struct {
		old, new string
		want     typeVerdict
	}{
		{"int", "int", typeSame},
		{"INT", "int", typeSame},
		{"int", "integer", typeRespelled},
		{"varchar", "string", typeRespelled},
		{"text", "string", typeRespelled},
		{"bool", "boolean", typeRespelled},
		{"record", "object", typeRespelled},
		{"timestamp", "timestamp_tz", typeRespelled},

		{"int", "long", typeWidened},
		{"int", "bigint", typeWidened},
		{"integer", "long", typeWidened},
		{"smallint", "int", typeWidened},
		{"float", "double", typeWidened},
		{"int", "decimal", typeWidened},
		{"long", "decimal", typeWidened},
		{"int", "decimal(12,2)", typeWidened},
		{"long", "decimal(12,2)", typeNarrowed},
		{"decimal(10,2)", "decimal(12,2)", typeWidened},
		{"decimal(10,2)", "decimal(12,4)", typeWidened},
		{"decimal(12,2)", "decimal(10,2)", typeNarrowed},
		{"decimal(10,2)", "decimal(10,4)", typeChanged},
		{"decimal(10,2)", "decimal", typeWidened},
		{"number(10,2)", "number(12,2)", typeWidened},
		{"integer", "number", typeWidened},
		{"double", "number", typeWidened},
		{"int", "double", typeWidened},
		{"varchar(10)", "varchar(20)", typeWidened},
		{"varchar(10)", "string", typeWidened},

		{"int", "float", typeChanged},
		{"long", "double", typeChanged},
		{"int", "string", typeChanged},
		{"boolean", "int", typeChanged},
		{"float", "decimal", typeChanged},
		{"decimal", "double", typeChanged},
		{"uuid", "guid", typeChanged},
		{"geography", "geography", typeSame},

		{"long", "int", typeNarrowed},
		{"double", "float", typeNarrowed},
		{"timestamp", "date", typeNarrowed},
		{"timestamp_ntz", "date", typeNarrowed},
		{"string", "int", typeNarrowed},
		{"string", "date", typeNarrowed},
		{"number", "integer", typeNarrowed},
		{"double", "long", typeNarrowed},
		{"decimal(10,2)", "int", typeNarrowed},
		{"varchar(20)", "varchar(10)", typeNarrowed},
		{"string", "varchar(10)", typeNarrowed},

		{"date", "timestamp", typeReinterpreted},
		{"date", "timestamp_ntz", typeReinterpreted},
		{"timestamp", "timestamp_ntz", typeReinterpreted},
		{"timestamp_ntz", "timestamp", typeReinterpreted},
		{"datetime", "timestamp", typeReinterpreted},
	}
	for _, tt := range tests {
		if got := compareTypes(tt.old, tt.new); got != tt.want {
			t.Errorf("compareTypes(%q, %q) = %d, want %d", tt.old, tt.new, got, tt.want)
		}
	}
}

func TestParseTypeParameters(t *testing.T) {
	tests := []struct {
		in   string
		kind kind
		p, s int
	}{
		{"VARCHAR(255)", kString, 255, -1},
		{"varchar( 10 )", kString, 10, -1},
		{"NUMBER(38,0)", kDecimal, 38, 0},
		{"decimal(10, 2)", kDecimal, 10, 2},
		{"decimal(2,10)", kUnknown, -1, -1}, // scale above precision is not a decimal we can order
		{"varchar(max)", kUnknown, -1, -1},
		{"character varying", kString, -1, -1},
		{"double precision", kFloat, -1, -1},
		{"array<string>", kUnknown, -1, -1},
	}
	for _, tt := range tests {
		got := parseType(tt.in)
		if got.kind != tt.kind || got.p != tt.p || got.s != tt.s {
			t.Errorf("parseType(%q) = %+v, want kind %d p %d s %d", tt.in, got, tt.kind, tt.p, tt.s)
		}
	}
}

// FuzzCompareTypes checks that type strings from outside never panic the
// comparison and that comparing a type with itself is never a change.
func FuzzCompareTypes(f *testing.F) {
	for _, s := range [][2]string{{"int", "long"}, {"VARCHAR(10)", "varchar(20)"}, {"NUMBER(10,2)", "decimal(12, 4)"}, {"timestamp", "date"}, {"decimal(", "x)"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		_ = compareTypes(a, b)
		if v := compareTypes(a, a); v != typeSame {
			t.Fatalf("compareTypes(%q, itself) = %d", a, v)
		}
	})
}
