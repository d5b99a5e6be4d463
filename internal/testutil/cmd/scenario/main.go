// Command scenario lays out the head version of one example-mesh scenario:
// the mesh, with the scenario's files over it and its deletions applied. The
// Makefile's `make run` uses it; tests use testutil.Scenario.
package main

import (
	"fmt"
	"os"

	"github.com/meshbot/meshbot/internal/testutil"
)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: scenario MESH_DIR SCENARIO_DIR DEST")
		os.Exit(2)
	}
	if err := testutil.MaterializeScenario(os.Args[1], os.Args[2], os.Args[3]); err != nil {
		fmt.Fprintln(os.Stderr, "scenario:", err)
		os.Exit(1)
	}
}
