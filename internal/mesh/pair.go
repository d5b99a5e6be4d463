package mesh

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"sync"
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

// LoadPair reads the head and the base checkout of one change. See
// LoadPairSources.
func LoadPair(ctx context.Context, headFS, baseFS fs.FS) (head, base *Mesh, err error) {
	return LoadPairSources(ctx, FS(headFS), FS(baseFS))
}

// LoadPairSources reads the head and the base version of one change. A file
// that is the same at the same path on both sides is read once, from the
// head: when the base lists its files by git blob id (a git revision) the
// head's bytes are hashed and only the base blobs that differ are read;
// when it lists them by a token both sides share (the App's files the pull
// request does not touch) the tokens are compared; otherwise (a folder) the
// base's bytes are read and compared, and kept for the base's own load.
//
// A contract the same on both sides is shared by both meshes (the same
// *Contract and *Document), and parsed only where its content matters:
// comparing identical bytes finds no change, and policy judges the files
// that changed, so on a change to a few products of a large mesh most
// contracts are never parsed. A port whose contract differs between the
// sides gets both parsed; so do contracts named by id (ODPS, DPS), which are
// found by reading their ids. Problems in files the change does not touch
// are not reported.
func LoadPairSources(ctx context.Context, headSrc, baseSrc Source) (head, base *Mesh, err error) {
	bfiles, err := baseSrc.List(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("load base: %w", err)
	}
	hfiles, err := headSrc.List(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("load head: %w", err)
	}
	bver := make(map[string]string, len(bfiles))
	for _, f := range bfiles {
		if !f.Folder {
			bver[f.Path] = f.Version
		}
	}
	cached := &onceSource{Source: baseSrc, got: map[string]*onceRead{}}
	same := func(f File, src []byte) bool {
		v, ok := bver[f.Path]
		switch {
		case !ok:
			return false
		case v != "" && f.Version != "":
			return v == f.Version
		case isGitBlobID(v):
			return GitBlobID(src) == v
		}
		b, err := cached.Read(ctx, f.Path)
		return err == nil && bytes.Equal(b, src)
	}
	var houts map[string]*outcome
	head, houts, err = loadAll(ctx, headSrc, hfiles, loadOptions{reuse: newReuser(nil), same: same})
	if err != nil {
		return nil, nil, fmt.Errorf("load head: %w", err)
	}
	known := func(p string) *outcome {
		if r := houts[p]; r != nil && r.same {
			return r
		}
		return nil
	}
	base, _, err = loadAll(ctx, cached, bfiles, loadOptions{reuse: newReuser(head), known: known})
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

// onceSource reads each file of a source at most once, keeping what it
// read: LoadPairSources compares a base file with the head's before the
// base is loaded.
type onceSource struct {
	Source
	mu  sync.Mutex
	got map[string]*onceRead
}

type onceRead struct {
	once sync.Once
	b    []byte
	err  error
}

func (s *onceSource) Read(ctx context.Context, p string) ([]byte, error) {
	s.mu.Lock()
	r := s.got[p]
	if r == nil {
		r = &onceRead{}
		s.got[p] = r
	}
	s.mu.Unlock()
	r.once.Do(func() { r.b, r.err = s.Source.Read(ctx, p) })
	return r.b, r.err
}
