package mesh

import (
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Load reads a whole checkout. See LoadSource.
func Load(ctx context.Context, fsys fs.FS) (*Mesh, error) {
	return LoadSource(ctx, FS(fsys))
}

// LoadSource reads one version of a mesh:
//
//   - the files Discovery considers (by default every YAML and JSON file
//     outside hidden folders and node_modules; ConfigFile at the root may
//     narrow or widen that) are read once each, and their content says what
//     they are (Sniff): descriptors and contracts in any format meshbot
//     reads, whatever their names. A file without a marker is still read as
//     a descriptor or contract when its name says it is one
//     (dataproduct.yaml, *.odps.yaml, datacontract.yaml, *.odcs.yaml), so
//     a broken one is reported rather than skipped;
//   - every file an output port's contract path names, whatever its content
//     or name, once however many ports share it.
//
// Only regular files are read: a descriptor or contract that is a symbolic
// link (named like one, or named by a port), or a contract path that goes
// through a linked folder, is a CodeSymlink problem at that file, never
// followed; other links are listed as skipped. A Source says which entries
// are links (File.Link), or its Read answers a *SymlinkError.
//
// Mesh.Files lists what was read and, with the reason, every file and
// folder that was not. ODPS and DPS ports name their contract by id; when
// exactly one contract of the source has that id the port is linked to it.
//
// Everything wrong with an individual file becomes a Problem in
// Mesh.Problems (sorted by position). LoadSource returns an error only when
// the source cannot be listed at all or ctx ends. Mesh.Root is left for the
// caller.
func LoadSource(ctx context.Context, src Source) (*Mesh, error) {
	files, err := src.List(ctx)
	if err != nil {
		return nil, err
	}
	m, _, err := loadAll(ctx, src, files, loadOptions{reuse: newReuser(nil)})
	return m, err
}

// LoadReusing is Load, sharing with prev every contract whose bytes are
// identical at the same path: a base and a head checkout mostly hold the same
// files, and contracts are what costs to parse. Contracts and documents are
// not changed after reading, so sharing them is safe; descriptors are read
// again, since linking writes to their ports.
func LoadReusing(ctx context.Context, fsys fs.FS, prev *Mesh) (*Mesh, error) {
	src := FS(fsys)
	files, err := src.List(ctx)
	if err != nil {
		return nil, err
	}
	m, _, err := loadAll(ctx, src, files, loadOptions{reuse: newReuser(prev)})
	return m, err
}

// loadOptions are what a pair's two loads share.
type loadOptions struct {
	reuse *reuser
	// same, on the head of a pair, says whether a file just read is the
	// same in the base (so a contract is left unparsed until needed).
	same func(f File, src []byte) bool
	// known, on the base of a pair, is the head's outcome for a file that is
	// the same on both sides, so it is not read again.
	known func(path string) *outcome
}

// outcome is what became of one file.
type outcome struct {
	role     Role
	src      []byte // kept for descriptors and for files read but not used
	same     bool   // identical in the other side of a pair
	product  *Product
	pristine *Product // a descriptor the other side shares, as read, before linking
	contract *Contract
	doc      *Document
	probs    []Problem
	skip     string
	big      bool // not fetched: over MaxFileBytes
	readErr  error
}

// loadAll loads files of src and returns, beside the mesh, the outcome of
// every file read (by path), for the other side of a pair.
func loadAll(ctx context.Context, src Source, files []File, o loadOptions) (*Mesh, map[string]*outcome, error) {
	m := &Mesh{Contracts: map[string]*Contract{}, Documents: map[string]*Document{}}
	disc := Discovery{}
	for _, f := range files {
		if f.Path == ConfigFile && !f.Folder {
			if f.Link {
				// The discovery configuration is meshbot's own file: a
				// link is refused like a linked descriptor.
				m.add(f.Path, &outcome{readErr: &SymlinkError{Link: f.Path, Target: f.Target}})
				break
			}
			b, err := src.Read(ctx, f.Path)
			if err != nil {
				m.Problems = append(m.Problems, Problem{Code: CodeReadError, Pos: Pos{File: f.Path}, Message: fmt.Sprintf("cannot read %s: %v", f.Path, err)})
				break
			}
			var probs []Problem
			disc, probs = ReadDiscovery(b)
			m.Problems = append(m.Problems, probs...)
			m.Files.Read = append(m.Files.Read, ReadFile{Path: f.Path, As: RoleConfig})
		}
	}
	skippedDirs := map[string]bool{}
	skipDir := func(dir, why string) {
		if !skippedDirs[dir] {
			skippedDirs[dir] = true
			if dir != ".git" { // every checkout has one
				m.Files.Skipped = append(m.Files.Skipped, SkippedFile{Path: dir + "/", Reason: why})
			}
		}
	}
	var cands []File
	for _, f := range files {
		switch {
		case f.Folder && f.Err != nil:
			// One unreadable folder costs its files, not the whole source.
			m.Problems = append(m.Problems, Problem{Code: CodeReadError, Pos: Pos{File: f.Path},
				Message: fmt.Sprintf("cannot read %s: %v", f.Path, f.Err)})
			m.Files.Skipped = append(m.Files.Skipped, SkippedFile{Path: f.Path + "/", Reason: "folder cannot be read"})
			continue
		case f.Folder:
			skipDir(f.Path, SkipFolder(path.Base(f.Path)))
			continue
		case f.Path == ConfigFile:
			continue
		}
		if dir, why := skippedFolderOf(f.Path); dir != "" {
			skipDir(dir, why)
			continue
		}
		if ok, why := disc.Consider(f.Path); !ok {
			m.Files.Skipped = append(m.Files.Skipped, SkippedFile{Path: f.Path, Reason: why})
			continue
		}
		if f.Link && !IsDescriptorName(path.Base(f.Path)) && !IsContractName(path.Base(f.Path)) {
			// Its content is not read, so it cannot say what it is: a
			// finding only where its name or a port says it is a
			// descriptor or contract, never a false alarm on other links.
			m.Files.Skipped = append(m.Files.Skipped, SkippedFile{Path: f.Path, Reason: skipLink})
			continue
		}
		cands = append(cands, f)
	}

	width := runtime.GOMAXPROCS(0)
	if p, ok := src.(Parallel); ok {
		width = max(width, p.Parallel())
	}
	got := make([]outcome, len(cands))
	if err := parallel(ctx, width, len(cands), func(i int) { got[i] = o.one(ctx, src, cands[i], "") }); err != nil {
		return nil, nil, err
	}
	done := make(map[string]*outcome, len(cands))
	for i := range got {
		done[cands[i].Path] = &got[i]
		m.add(cands[i].Path, &got[i])
	}

	// Then every contract a port names that was not read as one, once.
	var refs []string
	listed := make(map[string]File, len(files))
	for _, f := range files {
		listed[f.Path] = f
	}
	for _, p := range m.Products {
		for _, op := range p.OutputPorts {
			c := op.ContractPath
			if c == "" || m.Contracts[c] != nil || slices.Contains(refs, c) {
				continue
			}
			if r := done[c]; r != nil && (r.role == RoleContract || r.readErr != nil || r.big) {
				continue // read as a contract already, or unreadable: its own Problems say why
			}
			refs = append(refs, c)
		}
	}
	second := make([]outcome, len(refs))
	if err := parallel(ctx, width, len(refs), func(i int) {
		f, ok := listed[refs[i]]
		if !ok {
			f = File{Path: refs[i]}
			// Not listed: it may lie below a folder that is a link.
			if se := linkOn(listed, refs[i]); se != nil {
				second[i] = outcome{readErr: se}
				return
			}
		}
		var src0 []byte
		if r := done[refs[i]]; r != nil {
			src0 = r.src // read already, and skipped for its content
		}
		second[i] = o.one(ctx, src, f, RoleContract, src0...)
	}); err != nil {
		return nil, nil, err
	}
	readErrs := make(map[string]error)
	for i := range second {
		p := refs[i]
		if se, ok := asSymlink(second[i].readErr); ok {
			// A problem at the file, once, and none on the ports naming
			// it, as for a file too large to read.
			m.Problems = append(m.Problems, SymlinkProblem(p, se))
			continue
		}
		if second[i].readErr != nil {
			readErrs[p] = second[i].readErr
			continue
		}
		m.Files.Skipped = slices.DeleteFunc(m.Files.Skipped, func(s SkippedFile) bool { return s.Path == p })
		m.add(p, &second[i])
		done[p] = &second[i]
	}

	if byID(m.Products) {
		// Contracts named by id are found by reading their ids.
		for _, c := range m.Contracts {
			c.Parse()
		}
	}
	link(m, readErrs)
	slices.SortFunc(m.Products, func(a, b *Product) int { return strings.Compare(a.File, b.File) })
	slices.SortStableFunc(m.Problems, func(a, b Problem) int {
		return cmp.Or(strings.Compare(a.Pos.File, b.Pos.File), cmp.Compare(a.Pos.Line, b.Pos.Line),
			cmp.Compare(a.Pos.Col, b.Pos.Col), strings.Compare(a.Code, b.Code))
	})
	m.Files.sort()
	return m, done, nil
}

// add records one file's outcome in m.
func (m *Mesh) add(p string, r *outcome) {
	m.Problems = append(m.Problems, r.probs...)
	if se, ok := asSymlink(r.readErr); ok {
		m.Problems = append(m.Problems, SymlinkProblem(p, se))
		m.Files.Skipped = append(m.Files.Skipped, SkippedFile{Path: p, Reason: skipLink})
		return
	}
	switch {
	case r.readErr != nil:
		m.Problems = append(m.Problems, Problem{Code: CodeReadError, Pos: Pos{File: p}, Message: fmt.Sprintf("cannot read %s: %v", p, r.readErr)})
		m.Files.Skipped = append(m.Files.Skipped, SkippedFile{Path: p, Reason: "cannot be read"})
		return
	case r.skip != "":
		m.Files.Skipped = append(m.Files.Skipped, SkippedFile{Path: p, Reason: r.skip})
		return
	}
	m.Files.Read = append(m.Files.Read, ReadFile{Path: p, As: r.role})
	if r.doc != nil {
		m.Documents[r.doc.Path] = r.doc
	}
	if r.product != nil {
		m.Products = append(m.Products, r.product)
	}
	if r.contract != nil {
		m.Contracts[p] = r.contract
	}
}

// one reads a file and makes of it what its content (or, failing that,
// its name; or as, when a port names it) says it is. pre is its content
// when it was read already.
func (o loadOptions) one(ctx context.Context, src Source, f File, as Role, pre ...byte) outcome {
	if f.Link {
		return outcome{readErr: &SymlinkError{Link: f.Path, Target: f.Target}}
	}
	if o.known != nil {
		if k := o.known(f.Path); k != nil {
			return o.fromKnown(f.Path, k, as)
		}
	}
	b := pre
	if b == nil {
		var err error
		if b, err = src.Read(ctx, f.Path); err != nil {
			var big *TooLargeError
			if errors.As(err, &big) {
				// Not fetched: reported as a file read and refused is, and
				// nothing on a port that names it.
				return outcome{big: true, skip: "over the size limit", probs: []Problem{{Code: CodeFileTooLarge, Pos: Pos{File: f.Path}, Message: big.Error()}}}
			}
			name := path.Base(f.Path)
			if _, ok := asSymlink(err); ok && as == "" && !IsDescriptorName(name) && !IsContractName(name) {
				// A link the listing did not show as one: as for a listed
				// link, a finding only where a name or a port says it is a
				// document (a port naming it reads it again, as a contract).
				return outcome{skip: skipLink}
			}
			return outcome{readErr: err}
		}
	}
	r := outcome{role: as, src: b}
	if o.same != nil {
		r.same = o.same(f, b)
	}
	parse := o.reuse.parser()
	if r.role == "" {
		var why string
		if o.reuse.parse != nil && IsEncodedDocument(b) {
			// A stored document (LoadStored): its content is parsed
			// already, and says what it is as the YAML did. It is decoded
			// once, here.
			if doc, err := o.reuse.parse(f.Path, b); err == nil {
				r.role, why = sniffDocument(doc.Value)
				parse = func(string, []byte) (*Document, error) { return doc, nil }
			}
		} else {
			r.role, why = Sniff(b)
		}
		if r.role == "" {
			name := path.Base(f.Path)
			switch {
			case IsDescriptorName(name):
				r.role = RoleDescriptor
			case IsContractName(name):
				r.role = RoleContract
			default:
				r.skip = why
				return r
			}
		}
	}
	switch r.role {
	case RoleDescriptor:
		r.product, r.doc, r.probs = readDescriptor(f.Path, b, parse)
		if r.same && r.product != nil {
			// The base holds the same descriptor: it gets a copy of this
			// one as read, before linking writes to its ports.
			r.pristine = r.product.clone()
		}
	case RoleContract:
		r.src = nil
		r.contract, r.doc, r.probs = o.reuse.contract(f.Path, b, r.same, parse)
	}
	return r
}

// fromKnown is the base's outcome of a file identical to the head's k: a
// contract is shared, a descriptor read again from the same bytes (linking
// writes to its ports), a skipped file skipped for the same reason.
func (o loadOptions) fromKnown(p string, k *outcome, as Role) outcome {
	switch {
	case k.readErr != nil:
		return outcome{readErr: k.readErr}
	case k.contract != nil && (as == "" || as == RoleContract):
		return outcome{role: RoleContract, contract: k.contract, doc: k.doc, probs: k.probs, same: true}
	case k.role == RoleDescriptor && as == "":
		r := outcome{role: RoleDescriptor, src: k.src, same: true, doc: k.doc, probs: k.probs}
		if k.pristine != nil {
			r.product = k.pristine.clone()
		} else {
			r.product, r.doc, r.probs = readDescriptor(p, k.src, o.reuse.parser())
		}
		return r
	case k.skip != "" && as == "":
		return outcome{skip: k.skip, src: k.src, same: true}
	}
	// Read as something else on this side (a port names it here only).
	r := outcome{role: as, src: k.src, same: true}
	if as == RoleContract {
		r.contract, r.doc, r.probs = o.reuse.contract(p, k.src, false, o.reuse.parser())
	}
	return r
}

// skipLink is why a symbolic link is not read.
const skipLink = "symbolic link: meshbot reads regular files only"

// linkOn says whether p, or a folder on the way to it, is a symbolic link
// the listing showed.
func linkOn(listed map[string]File, p string) *SymlinkError {
	for i := 0; ; {
		j := strings.IndexByte(p[i:], '/')
		sub := p
		if j >= 0 {
			sub = p[:i+j]
		}
		if f, ok := listed[sub]; ok && f.Link {
			return &SymlinkError{Link: sub, Target: f.Target}
		}
		if j < 0 {
			return nil
		}
		i += j + 1
	}
}

// skippedFolderOf is the first folder of p that is not read, if any (a
// listing from git names files in every folder).
func skippedFolderOf(p string) (string, string) {
	dirs := strings.Split(p, "/")
	for i, name := range dirs[:len(dirs)-1] {
		if why := SkipFolder(name); why != "" {
			return strings.Join(dirs[:i+1], "/"), why
		}
	}
	return "", ""
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
					break // read, but not a mapping: its own Problems say why
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

// parallel runs fn(0..n-1) on up to width goroutines and stops handing out
// work when ctx ends.
func parallel(ctx context.Context, width, n int, fn func(i int)) error {
	workers := min(width, n)
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

// contract reads a contract; same says the other side of a pair holds the
// same bytes, so parsing can wait until its content matters (Parse).
func (r *reuser) contract(path string, src []byte, same bool, parse parser) (*Contract, *Document, []Problem) {
	if same {
		doc := &Document{Path: path, Sum: sha256.Sum256(src)}
		return &Contract{File: path, Pos: Pos{File: path}, stub: &stub{src: src, doc: doc}}, doc, nil
	}
	if r.prev != nil {
		if doc, ok := r.prev.Documents[path]; ok {
			if c := r.prev.Contracts[path]; c != nil && doc.Sum == sha256.Sum256(src) {
				return c, doc, r.problems[path]
			}
		}
	}
	return readContract(path, src, parse)
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

// clone copies a product deeply enough for another mesh to link it: the
// output ports, which linking writes to. Everything else is read only
// after loading and is shared.
func (p *Product) clone() *Product {
	c := *p
	c.OutputPorts = make([]*OutputPort, len(p.OutputPorts))
	for i, o := range p.OutputPorts {
		oc := *o
		c.OutputPorts[i] = &oc
	}
	return &c
}
