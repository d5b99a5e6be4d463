package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/meshbot/meshbot/internal/engine"
	"github.com/meshbot/meshbot/internal/gitsnap"
	"github.com/meshbot/meshbot/internal/impact"
	"github.com/meshbot/meshbot/internal/mesh"
	"github.com/meshbot/meshbot/internal/policyeval"
	"github.com/meshbot/meshbot/internal/render"
	"github.com/meshbot/meshbot/policy"
)

// repeated collects a flag given several times.
type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, ",") }
func (r *repeated) Set(v string) error { *r = append(*r, v); return nil }

// checkOptions are meshbot check's flags and folder, validated.
type checkOptions struct {
	dir, base, policyDir string
	consumers            []string
	format               render.Format
	today                time.Time
}

func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	opts, code, ok := parseCheck(args, stderr)
	if !ok {
		return code
	}
	req, err := checkRequest(ctx, opts)
	if err != nil {
		fmt.Fprintf(stderr, "meshbot check: %v\n", err)
		return exitUnusable
	}
	if req.Policy, err = loadPolicy(ctx, opts.policyDir); err != nil {
		printPolicyError(stderr, err)
		return exitUnusable
	}
	rep, err := engine.Evaluate(ctx, req)
	if err != nil {
		fmt.Fprintf(stderr, "meshbot check: %v\n", err)
		return exitUnusable
	}
	rep.Reroot(repoPrefix(ctx, opts.dir), checkedFile(req))
	if err := render.Write(stdout, rep, opts.format, version); err != nil {
		fmt.Fprintf(stderr, "meshbot check: write report: %v\n", err)
		return exitUnusable
	}
	if rep.Failed() {
		return exitFindings
	}
	return exitOK
}

// parseCheck reads the command line; when it is not usable it says why
// and returns the exit code to end with.
func parseCheck(args []string, stderr io.Writer) (opts checkOptions, code int, ok bool) {
	fl := flag.NewFlagSet("meshbot check", flag.ContinueOnError)
	fl.SetOutput(stderr)
	var (
		base      = fl.String("base", "", "the version to compare with: a git ref of DIR's repository or another folder")
		consumers repeated
		policyDir = fl.String("policy", "", "policy folder (default: the bundled policy)")
		format    = fl.String("format", "text", "output: "+render.FormatNames("|"))
		todayFlag = fl.String("today", "", "judge as of this date (YYYY-MM-DD; default: today), for reproducible reports")
	)
	fl.Var(&consumers, "consumers", "a checkout whose descriptors register consumers, or a registry file (repeatable)")
	fl.Usage = func() {
		fmt.Fprint(stderr, "usage: meshbot check [flags] [DIR]\n\nExit 0 clean, 1 findings that fail, 2 unusable input.\n\nFlags:\n")
		fl.PrintDefaults()
	}
	// Flags may follow DIR (`meshbot check . --base main`): the flag
	// package stops at the first argument that is not a flag, so parsing
	// resumes after each one.
	var dirs []string
	for rest := args; ; {
		if err := fl.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return opts, exitOK, false
			}
			return opts, exitUnusable, false
		}
		if fl.NArg() == 0 {
			break
		}
		dirs = append(dirs, fl.Arg(0))
		rest = fl.Args()[1:]
	}
	if len(dirs) > 1 {
		fmt.Fprintf(stderr, "meshbot check: one DIR at most, got %q\n", dirs)
		return opts, exitUnusable, false
	}
	f, err := render.ParseFormat(*format)
	if err != nil {
		fmt.Fprintf(stderr, "meshbot check: unknown --format %q (want %s)\n", *format, render.FormatNames(", "))
		return opts, exitUnusable, false
	}
	opts = checkOptions{dir: ".", base: *base, policyDir: *policyDir, consumers: consumers, format: f, today: time.Now()}
	if len(dirs) == 1 {
		opts.dir = dirs[0]
	}
	if *todayFlag != "" {
		t, err := time.Parse(time.DateOnly, *todayFlag)
		if err != nil {
			fmt.Fprintf(stderr, "meshbot check: --today %q is not a YYYY-MM-DD date\n", *todayFlag)
			return opts, exitUnusable, false
		}
		opts.today = t
	}
	return opts, exitOK, true
}

// checkRequest loads the head, the base and the consumers the engine
// judges with.
func checkRequest(ctx context.Context, opts checkOptions) (engine.Request, error) {
	req := engine.Request{Today: opts.today}
	if err := checkDir(opts.dir); err != nil {
		return req, err
	}
	if opts.base == "" {
		var err error
		req.Head, err = loadDir(ctx, opts.dir)
		if err != nil {
			return req, err
		}
	} else {
		base, closeBase, err := resolveBase(ctx, opts.dir, opts.base)
		if err != nil {
			return req, fmt.Errorf("--base: %w", err)
		}
		// Files identical on both sides are read once and parsed only
		// where their content matters; from a git revision only the blobs
		// that differ from DIR's files are read.
		req.Head, req.Base, err = mesh.LoadPairSources(ctx, mesh.FS(os.DirFS(opts.dir)), base)
		closeBase()
		if err != nil {
			return req, err
		}
		req.Head.Root, req.Base.Root = opts.dir, opts.base
	}
	for _, c := range opts.consumers {
		products, problems, err := loadConsumers(ctx, c)
		if err != nil {
			return req, fmt.Errorf("--consumers: %w", err)
		}
		req.Consumers = append(req.Consumers, products)
		req.ConsumerProblems = append(req.ConsumerProblems, problems...)
	}
	return req, nil
}

// checkDir refuses what is not a readable folder.
func checkDir(dir string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("read %s: %w", dir, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("%s is not a folder", dir)
	}
	return nil
}

// loadDir reads one checkout.
func loadDir(ctx context.Context, dir string) (*mesh.Mesh, error) {
	if err := checkDir(dir); err != nil {
		return nil, err
	}
	m, err := mesh.Load(ctx, os.DirFS(dir))
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", dir, err)
	}
	m.Root = dir
	return m, nil
}

// resolveBase accepts a folder or a git revision of DIR's repository; a name
// that is both is taken as the folder, since that is what a user can see.
func resolveBase(ctx context.Context, dir, base string) (mesh.Source, func(), error) {
	if st, err := os.Stat(base); err == nil && st.IsDir() {
		return mesh.FS(os.DirFS(base)), func() {}, nil
	}
	if gitsnap.IsRef(ctx, dir, base) {
		src, err := gitsnap.Open(ctx, dir, base)
		if err != nil {
			return nil, nil, err
		}
		return src, func() { _ = src.Close() }, nil
	}
	return nil, nil, fmt.Errorf("%q is neither a folder nor a git revision of %s", base, dir)
}

func loadConsumers(ctx context.Context, path string) ([]*mesh.Product, []mesh.Problem, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}
	if st.IsDir() {
		m, err := loadDir(ctx, path)
		if err != nil {
			return nil, nil, err
		}
		return m.Products, labelProblems(path, m.Problems), nil
	}
	src, err := readCapped(path)
	if err != nil {
		return nil, nil, err
	}
	products, problems := impact.ReadRegistry(filepath.ToSlash(path), src)
	return products, problems, nil
}

// labelProblems prefixes positions with the checkout they came from, since
// several checkouts share relative paths.
func labelProblems(root string, ps []mesh.Problem) []mesh.Problem {
	for i := range ps {
		ps[i].Pos.File = filepath.ToSlash(filepath.Join(root, ps[i].Pos.File))
	}
	return ps
}

func readCapped(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, mesh.MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return src, nil
}

func loadPolicy(ctx context.Context, dir string) (*policyeval.Set, error) {
	var fsys fs.FS = policy.FS()
	if dir != "" {
		st, err := os.Stat(dir)
		if err != nil {
			return nil, fmt.Errorf("read policy %s: %w", dir, err)
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("policy %s is not a folder", dir)
		}
		fsys = os.DirFS(dir)
	}
	return policyeval.Load(ctx, fsys, policyeval.Options{})
}

func printPolicyError(w io.Writer, err error) {
	var ce *policyeval.CompileError
	if errors.As(err, &ce) {
		fmt.Fprintf(w, "meshbot: the policy does not compile (%d error(s)):\n", len(ce.Errors))
		for _, p := range ce.Errors {
			fmt.Fprintf(w, "  %s:%d:%d: %s\n", p.File, p.Line, p.Col, p.Message)
			if p.Fix != "" {
				fmt.Fprintf(w, "    fix: %s\n", p.Fix)
			}
		}
		return
	}
	fmt.Fprintf(w, "meshbot: policy: %v\n", err)
}

// repoPrefix is DIR's path inside its git repository ("" at the top level
// or outside any repository): findings name files from the repository's
// root, where GitHub puts annotations and code scanning alerts.
func repoPrefix(ctx context.Context, dir string) string {
	cmd := exec.CommandContext(ctx, "git", "rev-parse", "--show-prefix")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return "" // not a repository, or no git: paths stay relative to DIR
	}
	return filepath.ToSlash(strings.TrimSpace(string(out)))
}

// checkedFile says whether a finding's file is one of DIR's (head or base)
// rather than a --consumers checkout's.
func checkedFile(req engine.Request) func(string) bool {
	ours := map[string]bool{}
	for _, m := range []*mesh.Mesh{req.Head, req.Base} {
		if m == nil {
			continue
		}
		for p := range m.Documents {
			ours[p] = true
		}
		for _, p := range m.Problems {
			ours[p.Pos.File] = true
		}
		for _, p := range m.Products {
			ours[p.File] = true
		}
	}
	return func(f string) bool { return ours[f] }
}
