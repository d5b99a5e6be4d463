package mesh

import (
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Load reads a whole checkout:
//
//   - descriptors: every dataproduct.yaml|yml and *.odps.yaml|yml;
//   - contracts: every file an output port's contract path names, plus the
//     standalone ones named datacontract.yaml|yml, *.datacontract.yaml|yml
//     and *.odcs.yaml|yml. Each is read once however many ports share it.
//
// Folders whose name starts with a dot and node_modules are skipped; testdata
// and vendor are not (a checkout may keep its mesh anywhere). Only regular
// files are read: a descriptor or contract that is a symbolic link, or a
// contract path that goes through one, is a CodeSymlink problem at that file
// (on a file system that tells links apart, fs.ReadLinkFS: os.DirFS and
// memfs do), never followed.
//
// ODPS and DPS ports name their contract by id; when exactly one contract in
// the checkout has that id the port is linked to it.
//
// Everything wrong with an individual file becomes a Problem in
// Mesh.Problems (sorted by position). Load returns an error only when fsys
// cannot be walked at all or ctx ends. Mesh.Root is left for the caller.
func Load(ctx context.Context, fsys fs.FS) (*Mesh, error) {
	return LoadReusing(ctx, fsys, nil)
}

// LoadReusing is Load, sharing with prev every contract whose bytes are
// identical at the same path: a base and a head checkout mostly hold the same
// files, and contracts are what costs to parse. Contracts and documents are
// not changed after reading, so sharing them is safe; descriptors are read
// again, since linking writes to their ports.
func LoadReusing(ctx context.Context, fsys fs.FS, prev *Mesh) (*Mesh, error) {
	return load(ctx, fsys, newReuser(prev))
}

func load(ctx context.Context, fsys fs.FS, reuse *reuser) (*Mesh, error) {
	m := &Mesh{Contracts: map[string]*Contract{}, Documents: map[string]*Document{}}
	var descs, standalone []string
	links := map[string]bool{} // symbolic links reported by the walk
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == "." {
				return err
			}
			// One unreadable folder costs its files, not the whole checkout.
			m.Problems = append(m.Problems, Problem{Code: CodeReadError, Pos: Pos{File: p},
				Message: fmt.Sprintf("cannot read %s: %v", p, errors.Unwrap(err))})
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p != "." && (strings.HasPrefix(name, ".") || name == "node_modules") {
				return fs.SkipDir
			}
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			if IsDescriptorName(name) || IsContractName(name) {
				target := ""
				if rl, ok := fsys.(fs.ReadLinkFS); ok {
					target, _ = rl.ReadLink(p)
				}
				m.Problems = append(m.Problems, SymlinkProblem(p, &SymlinkError{Link: p, Target: target}))
				links[p] = true
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		switch {
		case IsDescriptorName(name):
			descs = append(descs, p)
		case IsContractName(name):
			standalone = append(standalone, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walk checkout: %w", err)
	}

	// First the descriptors and the standalone contracts, together.
	type result struct {
		product  *Product
		contract *Contract
		doc      *Document
		probs    []Problem
	}
	first := make([]result, len(descs)+len(standalone))
	err = parallel(ctx, len(first), func(i int) {
		var res result
		if i < len(descs) {
			src, err := readCapped(fsys, descs[i])
			if err != nil {
				res.probs = []Problem{{Code: CodeReadError, Pos: Pos{File: descs[i]}, Message: fmt.Sprintf("cannot read %s: %v", descs[i], err)}}
			} else {
				res.product, res.doc, res.probs = readDescriptor(descs[i], src, reuse.parser())
			}
		} else {
			p := standalone[i-len(descs)]
			src, err := readCapped(fsys, p)
			if err != nil {
				res.probs = []Problem{{Code: CodeReadError, Pos: Pos{File: p}, Message: fmt.Sprintf("cannot read %s: %v", p, err)}}
			} else {
				res.contract, res.doc, res.probs = reuse.contract(p, src)
			}
		}
		first[i] = res
	})
	if err != nil {
		return nil, err
	}
	for i, res := range first {
		m.Problems = append(m.Problems, res.probs...)
		if res.doc != nil {
			m.Documents[res.doc.Path] = res.doc
		}
		if res.product != nil {
			m.Products = append(m.Products, res.product)
		}
		if i >= len(descs) && res.contract != nil {
			m.Contracts[res.contract.File] = res.contract
		}
	}

	// Then every referenced contract not read yet, once.
	parsed := make(map[string]bool, len(standalone))
	for _, p := range standalone {
		parsed[p] = true
	}
	var refs []string
	for _, p := range m.Products {
		for _, o := range p.OutputPorts {
			if o.ContractPath != "" && !parsed[o.ContractPath] {
				parsed[o.ContractPath] = true
				refs = append(refs, o.ContractPath)
			}
		}
	}
	type refResult struct {
		result
		readErr error
	}
	second := make([]refResult, len(refs))
	err = parallel(ctx, len(refs), func(i int) {
		// The walk saw the other files as regular files in real folders;
		// a path a descriptor names may be, or go through, a link.
		if se := symlinkOf(fsys, refs[i]); se != nil {
			second[i].readErr = se
			return
		}
		src, err := readCapped(fsys, refs[i])
		if err != nil {
			second[i].readErr = err
			return
		}
		second[i].contract, second[i].doc, second[i].probs = reuse.contract(refs[i], src)
	})
	if err != nil {
		return nil, err
	}
	readErrs := make(map[string]error)
	for i, res := range second {
		if res.readErr != nil {
			readErrs[refs[i]] = res.readErr
			continue
		}
		m.Problems = append(m.Problems, res.probs...)
		if res.doc != nil {
			m.Documents[res.doc.Path] = res.doc
		}
		if res.contract != nil {
			m.Contracts[refs[i]] = res.contract
		}
	}

	if byID(m.Products) {
		// Contracts named by id are found by reading their ids.
		for _, c := range m.Contracts {
			c.Parse()
		}
	}
	for p, err := range readErrs {
		if se, ok := asSymlink(err); ok {
			// A problem at the file, once, and none on the ports naming
			// it, as for a file too large to read.
			if !links[p] {
				m.Problems = append(m.Problems, SymlinkProblem(p, se))
				links[p] = true
			}
			delete(readErrs, p)
		}
	}
	link(m, readErrs)
	slices.SortFunc(m.Products, func(a, b *Product) int { return strings.Compare(a.File, b.File) })
	slices.SortStableFunc(m.Problems, func(a, b Problem) int {
		return cmp.Or(strings.Compare(a.Pos.File, b.Pos.File), cmp.Compare(a.Pos.Line, b.Pos.Line),
			cmp.Compare(a.Pos.Col, b.Pos.Col), strings.Compare(a.Code, b.Code))
	})
	return m, nil
}

// link attaches contracts to output ports and reports the references that
// name no readable file, on the port's contract key.
func link(m *Mesh, readErrs map[string]error) {
	byID := make(map[string]*Contract)
	ambiguous := make(map[string]bool)
	for _, c := range m.Contracts {
		if c.ID == "" {
			continue
		}
		if _, dup := byID[c.ID]; dup {
			ambiguous[c.ID] = true
		}
		byID[c.ID] = c
	}
	for _, p := range m.Products {
		for _, o := range p.OutputPorts {
			switch {
			case o.ContractPath != "":
				if c := m.Contracts[o.ContractPath]; c != nil {
					o.Contract = c
					break
				}
				err := readErrs[o.ContractPath]
				if err == nil {
					break // read but not a mapping, or a link: the file's own Problems say why
				}
				at := o.Locs.At("contract", o.Pos)
				if errors.Is(err, fs.ErrNotExist) {
					m.Problems = append(m.Problems, Problem{Code: CodeContractMissing, Pos: at,
						Message: fmt.Sprintf("output port %q names contract %q, but %s does not exist", o.Name, o.ContractRef, o.ContractPath)})
				} else {
					m.Problems = append(m.Problems, Problem{Code: CodeReadError, Pos: at,
						Message: fmt.Sprintf("output port %q: cannot read contract %s: %v", o.Name, o.ContractPath, err)})
				}
			case o.ContractID != "" && !ambiguous[o.ContractID]:
				if c := byID[o.ContractID]; c != nil {
					o.Contract, o.ContractPath = c, c.File
				}
			}
			if o.Contract != nil && o.Version == "" {
				o.Version = o.Contract.Version
			}
		}
	}
}

// IsDescriptorName tells whether Load reads a file of this base name as a
// data product descriptor.
func IsDescriptorName(name string) bool {
	return name == "dataproduct.yaml" || name == "dataproduct.yml" ||
		strings.HasSuffix(name, ".odps.yaml") || strings.HasSuffix(name, ".odps.yml")
}

// IsContractName tells whether Load reads a file of this base name as a
// standalone data contract.
func IsContractName(name string) bool {
	return name == "datacontract.yaml" || name == "datacontract.yml" ||
		strings.HasSuffix(name, ".datacontract.yaml") || strings.HasSuffix(name, ".datacontract.yml") ||
		strings.HasSuffix(name, ".odcs.yaml") || strings.HasSuffix(name, ".odcs.yml")
}

// readCapped reads at most one byte more than MaxFileBytes, enough for
// ParseYAML to refuse an oversized file without loading all of it.
func readCapped(fsys fs.FS, p string) ([]byte, error) {
	f, err := fsys.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readAllSized(io.LimitReader(f, MaxFileBytes+1), sizeOf(f))
}

// sizeOf is the size a file says it has, capped, or 0 when it does not say.
func sizeOf(f fs.File) int {
	info, err := f.Stat()
	if err != nil || info.Size() < 0 {
		return 0
	}
	return int(min(info.Size(), MaxFileBytes+1))
}

// readAllSized is io.ReadAll into a buffer of the size the file says it
// has (plus the byte that tells the end), so that reading a file costs
// one allocation rather than one per doubling: a preview reads tens of
// thousands. The size is only a hint; a file that grows or shrinks is read
// as it is.
func readAllSized(r io.Reader, size int) ([]byte, error) {
	buf := make([]byte, 0, size+1)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// parallel runs fn(0..n-1) on up to GOMAXPROCS goroutines and stops handing
// out work when ctx ends.
func parallel(ctx context.Context, n int, fn func(i int)) error {
	workers := min(runtime.GOMAXPROCS(0), n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				fn(i)
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("load checkout: %w", err)
	}
	return nil
}

// reuser hands out contracts already read in another checkout, or, for
// LoadPair, leaves unparsed the ones identical in the other checkout.
type reuser struct {
	prev     *Mesh
	problems map[string][]Problem // prev's problems by file
	same     map[string][32]byte  // LoadPair: the other checkout's file sums
	parse    parser               // nil: ParseYAML
}

func (r *reuser) parser() parser {
	if r.parse == nil {
		return ParseYAML
	}
	return r.parse
}

func newReuser(prev *Mesh) *reuser {
	r := &reuser{prev: prev}
	if prev != nil {
		r.problems = make(map[string][]Problem)
		for _, p := range prev.Problems {
			r.problems[p.Pos.File] = append(r.problems[p.Pos.File], p)
		}
	}
	return r
}

func (r *reuser) contract(path string, src []byte) (*Contract, *Document, []Problem) {
	if r.same != nil {
		if sum, ok := r.same[path]; ok && sum == sha256.Sum256(src) {
			doc := &Document{Path: path, Sum: sum}
			return &Contract{File: path, Pos: Pos{File: path}, stub: &stub{src: src, doc: doc}}, doc, nil
		}
	}
	if r.prev != nil {
		if doc, ok := r.prev.Documents[path]; ok {
			if c := r.prev.Contracts[path]; c != nil && doc.Sum == sha256.Sum256(src) {
				return c, doc, r.problems[path]
			}
		}
	}
	return readContract(path, src, r.parser())
}

// byID reports whether a product names a contract by id (ODPS, DPS).
func byID(ps []*Product) bool {
	for _, p := range ps {
		for _, o := range p.OutputPorts {
			if o.ContractID != "" && o.ContractPath == "" {
				return true
			}
		}
	}
	return false
}
