package yamledit

import (
	"os"
	"testing"

	"github.com/meshbot/meshbot/internal/mesh"
)

// BenchmarkDeprecate edits the official ODCS full example (330 lines):
// every step re-parses the file and the result is read back and compared,
// so the cost is a handful of parses of the file.
func BenchmarkDeprecate(b *testing.B) {
	src, err := os.ReadFile("testdata/odcs_full.in.yaml")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Deprecate(src, mesh.FormatODCS, Target{"a.b", "c"}, terms); err != nil {
			b.Fatal(err)
		}
	}
}
