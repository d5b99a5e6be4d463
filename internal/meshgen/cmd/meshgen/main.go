// Command meshgen writes a synthetic mesh for benchmarks (see package
// meshgen). scripts/bench-conftest.sh uses it to give meshbot and conftest
// the same documents:
//
//	meshgen -products 1000 -fields 30 -out base
//	meshgen -products 1000 -fields 30 -change -out head
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/meshbot/meshbot/internal/meshgen"
)

func main() {
	var opts meshgen.Options
	fl := flag.NewFlagSet("meshgen", flag.ContinueOnError)
	fl.IntVar(&opts.Products, "products", 1000, "number of data products")
	fl.IntVar(&opts.Fields, "fields", 30, "fields per contract (at least 4)")
	fl.BoolVar(&opts.Consumers, "consumers", true, "products read fields of earlier products")
	fl.BoolVar(&opts.Change, "change", false, fmt.Sprintf("write the head variant: about one product in %d changed", meshgen.ChangeEvery))
	fl.Int64Var(&opts.Seed, "seed", 1, "seed of every random choice; base and head must share it")
	out := fl.String("out", "", "folder to write the mesh into (required)")
	if err := fl.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if *out == "" || fl.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: meshgen [-products N] [-fields F] [-consumers=false] [-change] [-seed S] -out DIR")
		os.Exit(2)
	}
	if err := meshgen.Generate(*out, opts); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
