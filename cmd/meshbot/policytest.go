package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/meshbot/meshbot/internal/policyeval"
	"github.com/meshbot/meshbot/policy"
)

func runPolicyTest(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	verbose := false
	if len(args) > 0 && (args[0] == "-v" || args[0] == "--verbose") {
		verbose, args = true, args[1:]
	}
	if len(args) > 1 {
		fmt.Fprint(stderr, "usage: meshbot policy test [-v] [DIR]\n")
		return exitUnusable
	}
	var fsys fs.FS = policy.FS()
	name := "bundled policy"
	if len(args) == 1 {
		st, err := os.Stat(args[0])
		if err != nil || !st.IsDir() {
			fmt.Fprintf(stderr, "meshbot policy test: %s is not a folder\n", args[0])
			return exitUnusable
		}
		fsys, name = os.DirFS(args[0]), args[0]
	}
	rep, err := policyeval.Test(ctx, fsys)
	if err != nil {
		printPolicyError(stderr, err)
		return exitUnusable
	}
	fmt.Fprintf(stdout, "meshbot policy test: %s\n", name)
	if err := rep.Write(stdout, verbose); err != nil {
		return exitUnusable
	}
	if !rep.OK() {
		return exitFindings
	}
	return exitOK
}
