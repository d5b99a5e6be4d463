package store

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/meshbot/meshbot/internal/mesh"
)

// Sources are the documents a repository's products were read from
// (descriptors and contracts, every format) and the commit they were read
// at. They are what a policy preview evaluates: with them the registry
// answers "what would this policy say about every product" without
// fetching thousands of files from GitHub, with the inputs a pull request's
// check uses. The store keeps the bytes it is given; the indexer gives the
// documents parsed (mesh.EncodeFiles), files that do not parse as written.
type Sources struct {
	SHA   string            // the default branch's commit the files were read at
	Files map[string][]byte // slash path in the repository → contents
}

// RepoSources is one repository's stored documents, still compressed:
// Files inflates them. Listing an installation's sources therefore costs
// no decompression, and a caller inflates each repository where it uses it
// (a preview does, in parallel).
type RepoSources struct {
	Repo  string
	SHA   string
	Count int // files stored
	Bytes int // their size uncompressed
	// Stored is what they take in the registry record (compressed, with
	// their paths): the cost of keeping documents for previews.
	Stored int
	// Unreadable is set when the repository's documents cannot be had from
	// the record: it does not decode (ErrFormatVersion, ErrCorruptRecord),
	// or it was written without them (ErrNoSources). Indexing the
	// repository again writes them. errors.Is(Unreadable, ErrUnreadableRecord)
	// holds.
	Unreadable error

	files   []sourceFile
	deflate []byte
	// The repository's products, as the same read saw them: decoded on
	// demand from record (Redis), or kept (memory).
	record   []byte
	products []*mesh.Product
	kept     bool
}

// Products returns the repository's products from the same record as the
// documents, so a reader of both sees one consistent registry. They are
// there when only the documents are missing (ErrNoSources); a record that
// does not decode has neither.
func (r RepoSources) Products() ([]*mesh.Product, error) {
	if r.kept {
		return r.products, nil
	}
	if r.record == nil {
		if r.Unreadable != nil {
			return nil, r.Unreadable
		}
		return nil, nil
	}
	ps, err := decodeProducts(r.record)
	if err != nil {
		return nil, fmt.Errorf("registry: %s: %w", r.Repo, err)
	}
	return ps, nil
}

type sourceFile struct {
	path string
	size int
}

// ErrNoSources: the record holds a repository's products but not the
// documents they were read from (written by PutRepo rather than
// PutRepoSources).
var ErrNoSources = fmt.Errorf("%w: written without its documents", ErrUnreadableRecord)

// Paths lists the stored files, sorted.
func (r RepoSources) Paths() []string {
	out := make([]string, len(r.files))
	for i, f := range r.files {
		out[i] = f.path
	}
	return out
}

// Files inflates the repository's documents.
func (r RepoSources) Files() (map[string][]byte, error) {
	if r.Unreadable != nil {
		return nil, r.Unreadable
	}
	all := make([]byte, r.Bytes)
	zr := flate.NewReader(bytes.NewReader(r.deflate))
	defer zr.Close()
	if _, err := io.ReadFull(zr, all); err != nil {
		return nil, fmt.Errorf("sources of %s: %w: inflate: %w", r.Repo, ErrCorruptRecord, err)
	}
	if n, _ := zr.Read(make([]byte, 1)); n > 0 {
		return nil, fmt.Errorf("sources of %s: %w: more bytes than recorded", r.Repo, ErrCorruptRecord)
	}
	out := make(map[string][]byte, len(r.files))
	off := 0
	for _, f := range r.files {
		out[f.path] = all[off : off+f.size : off+f.size]
		off += f.size
	}
	return out, nil
}

// packSources writes the sources section of a record:
//
//	uvarint(len(sha)) sha uvarint(n) n×(uvarint(len(path)) path uvarint(size)) uvarint(len(z)) z
//
// where z is every file's bytes, in path order, deflated as one stream:
// descriptors and contracts of one repository repeat each other's keys, so
// one stream compresses them far better than one per file.
func packSources(src Sources) ([]byte, error) {
	paths := slices.Sorted(maps.Keys(src.Files))
	var raw bytes.Buffer
	out := binary.AppendUvarint(nil, uint64(len(src.SHA)))
	out = append(out, src.SHA...)
	out = binary.AppendUvarint(out, uint64(len(paths)))
	for _, p := range paths {
		b := src.Files[p]
		if len(b) > mesh.MaxFileBytes {
			return nil, fmt.Errorf("source %s is %d bytes, over the %d-byte limit of a document", p, len(b), mesh.MaxFileBytes)
		}
		out = binary.AppendUvarint(out, uint64(len(p)))
		out = append(out, p...)
		out = binary.AppendUvarint(out, uint64(len(b)))
		raw.Write(b)
	}
	var z bytes.Buffer
	zw, err := flate.NewWriter(&z, flate.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(raw.Bytes()); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	out = binary.AppendUvarint(out, uint64(z.Len()))
	return append(out, z.Bytes()...), nil
}

// unpackSources reads a sources section (without inflating it).
func unpackSources(repo string, sec []byte) (RepoSources, error) {
	r := RepoSources{Repo: repo, Stored: len(sec)}
	d := &decoder{b: sec}
	r.SHA = string(d.bytes(d.uint()))
	n := d.uint()
	if n > uint64(len(d.b))/2 { // a path length and a size at least
		d.fail(fmt.Errorf("%d files exceed the input", n))
	}
	r.files = make([]sourceFile, 0, n)
	prev := ""
	for i := range n {
		p := string(d.bytes(d.uint()))
		size := d.uint()
		if d.err != nil {
			break
		}
		if size > mesh.MaxFileBytes {
			d.fail(fmt.Errorf("file %s of %d bytes", p, size))
			break
		}
		if i > 0 && p <= prev {
			d.fail(fmt.Errorf("files out of order at %s", p))
			break
		}
		prev = p
		r.files = append(r.files, sourceFile{path: p, size: int(size)})
		r.Bytes += int(size)
	}
	r.deflate = d.bytes(d.uint())
	if d.err == nil && len(d.b) > 0 {
		d.err = fmt.Errorf("%d trailing bytes", len(d.b))
	}
	if d.err != nil {
		return RepoSources{Repo: repo}, fmt.Errorf("decode sources: %w: %w", ErrCorruptRecord, d.err)
	}
	r.Count = len(r.files)
	return r, nil
}

// recordSources reads the sources of a whole record; Unreadable says why
// they cannot be had, for the caller to wrap.
func recordSources(repo string, rec []byte) RepoSources {
	sec, has, _, err := recordParts(rec)
	if err == nil && !has {
		return RepoSources{Repo: repo, Unreadable: ErrNoSources, record: rec}
	}
	if err != nil {
		return RepoSources{Repo: repo, Unreadable: err}
	}
	r, err := unpackSources(repo, sec)
	if err != nil {
		r.Unreadable = err
	}
	r.record = rec
	return r
}
