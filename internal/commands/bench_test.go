package commands

import (
	"fmt"
	"testing"
)

// BenchmarkDidYouMean is the did-you-mean of a misspelt product over a
// large registry (10,000 products): the cost a mistaken `/mesh deprecate`
// adds before its reply.
func BenchmarkDidYouMean(b *testing.B) {
	ids := make([]string, 0, 10000)
	for d := range 100 {
		for p := range 100 {
			ids = append(ids, fmt.Sprintf("domain-%02d.product-name-%03d", d, p))
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if s := suggest("domain-42.product-nme-017", ids); s != "domain-42.product-name-017" {
			b.Fatalf("suggest = %q", s)
		}
	}
}

// BenchmarkParseStrict is the strict reading of a full `/mesh deprecate`
// line.
func BenchmarkParseStrict(b *testing.B) {
	const text = `deprecate orders.order-events/iceberg-curated --sunset 2027-03-31 --replacement orders.order-events/kafka-realtime --reason "moving to the stream"`
	b.ReportAllocs()
	for b.Loop() {
		if _, perr := parseStrict(text, true); perr != nil {
			b.Fatal(perr)
		}
	}
}
