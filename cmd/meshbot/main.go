// Command meshbot is federated computational governance for a data mesh: a
// GitHub App (`meshbot serve`) and the same engine on a laptop or in CI
// (`meshbot check`, `meshbot policy test`).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes of every subcommand.
const (
	exitOK       = 0 // nothing fails
	exitFindings = 1 // findings that fail (or failing policy tests)
	exitUnusable = 2 // unusable input: a missing folder, a bad flag, a policy that does not compile
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `meshbot: data-mesh governance where domain teams work.

Usage:
  meshbot serve                 run the GitHub App: webhook intake and workers
                                (configured from the environment, see README)
  meshbot check [flags] [DIR]   judge a local checkout (DIR, default .) against policy,
                                its base version and registered consumers
  meshbot policy test [DIR]     run the Rego unit tests of a policy folder
                                (default: the bundled policy)
  meshbot version               print the version

Run 'meshbot check -h' for the flags of check.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUnusable
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], stdout, stderr)
	case "check":
		return runCheck(ctx, args[1:], stdout, stderr)
	case "policy":
		if len(args) < 2 || args[1] != "test" {
			fmt.Fprint(stderr, "usage: meshbot policy test [DIR]\n")
			return exitUnusable
		}
		return runPolicyTest(ctx, args[2:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "meshbot", version)
		return exitOK
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "meshbot: unknown command %q\n\n%s", args[0], usage)
	return exitUnusable
}
