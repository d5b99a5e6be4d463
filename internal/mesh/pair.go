package mesh

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"strings"
)

// stub is the unread content of a contract LoadPair found identical in both
// checkouts.
type stub struct {
	src []byte
	doc *Document
}

// Stub reports whether c has not been parsed yet (LoadPair left it for
// later because both checkouts hold the same bytes).
func (c *Contract) Stub() bool { return c.stub != nil }

// Parse reads a contract LoadPair left unparsed; it does nothing on a
// contract already read. Problems of the file are not reported: the file is
// the same in both checkouts, so the change under review did not cause them.
// Parse is not safe for concurrent use: LoadPair calls it before returning.
func (c *Contract) Parse() {
	if c == nil || c.stub == nil {
		return
	}
	st := c.stub
	parsed, doc, _ := ReadContract(c.File, st.src)
	if parsed == nil {
		c.stub = nil
		return
	}
	*c = *parsed
	if doc != nil {
		*st.doc = *doc
	}
}

// LoadPair reads the head and the base checkout of one change. A contract
// whose bytes are the same at the same path on both sides is read once,
// shared by both meshes (the same *Contract and *Document), and parsed only
// where its content matters: comparing identical bytes finds no change, and
// policy judges the files that changed, so on a change to a few products of
// a large mesh most contracts are never parsed. A port whose contract
// differs between the sides gets both parsed; so do contracts named by id
// (ODPS, DPS), which are found by reading their ids. Problems in files the
// change does not touch are not reported.
func LoadPair(ctx context.Context, headFS, baseFS fs.FS) (head, base *Mesh, err error) {
	sums, err := fileSums(ctx, baseFS)
	if err != nil {
		return nil, nil, fmt.Errorf("load base: %w", err)
	}
	head, err = load(ctx, headFS, &reuser{same: sums})
	if err != nil {
		return nil, nil, fmt.Errorf("load head: %w", err)
	}
	base, err = LoadReusing(ctx, baseFS, head)
	if err != nil {
		return nil, nil, fmt.Errorf("load base: %w", err)
	}
	baseByID := map[string]*Product{}
	for _, p := range base.Products {
		baseByID[p.ID()] = p
	}
	for _, hp := range head.Products {
		bp := baseByID[hp.ID()]
		if bp == nil {
			continue
		}
		for _, ho := range hp.OutputPorts {
			if bo := bp.OutputPort(ho.Name); bo != nil && bo.Contract != ho.Contract {
				bo.Contract.Parse()
				ho.Contract.Parse()
			}
		}
	}
	return head, base, nil
}

// fileSums hashes every YAML and JSON file of a checkout (where contracts
// can be), skipping what Load skips.
func fileSums(ctx context.Context, fsys fs.FS) (map[string][32]byte, error) {
	var paths []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == "." {
				return err
			}
			return nil
		}
		if d.IsDir() {
			if p != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules") {
				return fs.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml") || strings.HasSuffix(p, ".json")) {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sums := make([][32]byte, len(paths))
	ok := make([]bool, len(paths))
	if err := parallel(ctx, len(paths), func(i int) {
		if src, err := readCapped(fsys, paths[i]); err == nil {
			sums[i], ok[i] = sha256.Sum256(src), true
		}
	}); err != nil {
		return nil, err
	}
	out := make(map[string][32]byte, len(paths))
	for i, p := range paths {
		if ok[i] {
			out[p] = sums[i]
		}
	}
	return out, nil
}
