package compat

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/meshbot/meshbot/internal/mesh"
)

// benchPair is a 30-field contract and a head with a few changes: one field
// removed, one widened, one relaxed, one enum value added, one field added.
func benchPair() (*mesh.Contract, *mesh.Contract) {
	mk := func(head bool) *mesh.Contract {
		var fs []*mesh.Field
		for i := range 30 {
			f := fieldOf(fmt.Sprintf("f%02d", i), "string", required, describe("a column"))
			switch i {
			case 3:
				f.Type = "int"
				if head {
					f.Type = "long"
				}
			case 7:
				f.Enum = []string{"a", "b"}
				if head {
					f.Enum = []string{"a", "b", "c"}
				}
			case 11:
				f.Required = !head
			case 29:
				if head {
					continue
				}
			}
			fs = append(fs, f)
		}
		if head {
			fs = append(fs, fieldOf("extra", "string"))
		}
		v := "1.0.0"
		if head {
			v = "1.1.0"
		}
		return contractOf("c.yaml", v, modelOf("m", fs...))
	}
	return mk(false), mk(true)
}

func BenchmarkContracts(b *testing.B) {
	base, head := benchPair()
	b.ReportAllocs()
	for b.Loop() {
		Contracts(base, head)
	}
}

// BenchmarkThousandPairs is the mesh-scale figure: 1,000 contract pairs
// compared per op (target: well under 100 ms). A benchmark, not a timed test.
func BenchmarkThousandPairs(b *testing.B) {
	base, head := benchPair()
	b.ReportAllocs()
	for b.Loop() {
		for range 1000 {
			Contracts(base, head)
		}
	}
}

// FuzzContracts reads two contracts from outside input and compares them:
// no panic, every change is in the rule table, and a contract compared with
// itself has no change.
func FuzzContracts(f *testing.F) {
	for _, pair := range [][2]string{
		{"golden/base/orders/contracts/order-events.v2.yaml", "golden/head/orders/contracts/order-events.v2-1.yaml"},
		{"golden/base/customer/customers.odcs.yaml", "golden/head/customer/customers.odcs.yaml"},
	} {
		a, err := os.ReadFile(filepath.Join("testdata", pair[0]))
		if err != nil {
			f.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join("testdata", pair[1]))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(a, b)
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		ca, _, _ := mesh.ReadContract("a.yaml", a)
		cb, _, _ := mesh.ReadContract("a.yaml", b)
		if ca == nil || cb == nil {
			return
		}
		checkTable(t, Contracts(ca, cb))
		if cs := Contracts(ca, ca); len(cs) != 0 {
			t.Fatalf("self-comparison found %v", cs)
		}
	})
}
