package backstage

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// Paging (?limit=N, then ?cursor=C&limit=N) walks one snapshot of the
// registry: the body built for the registry versions of the first page, in
// the order of the unpaged answer. Pages are cut out of the cached gzip body
// (see pageIndex), so a walk costs one build however many pages it has, and
// a walk keeps reading its snapshot while the registry moves on, as long as
// the snapshot is cached. A cursor whose snapshot is gone (evicted, or
// another replica that has only the newer one) answers 410 Gone: the client
// starts again from the first page.

// cursorPrefix versions the cursor's form.
const cursorPrefix = "m1:"

// snapshotLen is how much of a body's key names its snapshot, in ETags and
// cursors.
const snapshotLen = 40

func encodeCursor(snapshot string, from int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + snapshot + ":" + strconv.Itoa(from)))
}

func decodeCursor(s string) (snapshot string, from int, err error) {
	bad := fmt.Errorf("cursor=%q: not a cursor of this endpoint (use nextCursor of the previous page as given)", s)
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || !strings.HasPrefix(string(raw), cursorPrefix) {
		return "", 0, bad
	}
	snap, off, ok := strings.Cut(strings.TrimPrefix(string(raw), cursorPrefix), ":")
	if !ok || len(snap) != snapshotLen || strings.Trim(snap, "0123456789abcdef") != "" {
		return "", 0, bad
	}
	n, err := strconv.Atoi(off)
	if err != nil || n < 1 || strconv.Itoa(n) != off {
		return "", 0, bad
	}
	return snap, n, nil
}

// cursorBody is the body a cursor walks: the cached snapshot, or, when it
// is not cached, the current one if that is the cursor's (another replica
// started the walk, or the cache was evicted while nothing changed).
func (p *Provider) cursorBody(ctx context.Context, q query) (*body, string, error) {
	if b := p.cachedSnapshot(q.cursor); b != nil {
		if b.q != q.scopeOnly() {
			return nil, "", apiError{http.StatusBadRequest, "the cursor belongs to another query: keep installation, org and groups as on the first page"}
		}
		return b, b.key, nil
	}
	insts, err := p.scope(ctx, q)
	if err != nil {
		return nil, "", err
	}
	key := p.key(q, insts)
	if key[:snapshotLen] != q.cursor {
		return nil, "", apiError{http.StatusGone, "the registry changed since the first page and its snapshot is gone: start again from the first page (without cursor)"}
	}
	return &body{key: key, q: q.scopeOnly(), insts: insts}, key, nil
}

func (p *Provider) cachedSnapshot(snapshot string) *body {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, b := range p.cache {
		if b.key[:snapshotLen] == snapshot {
			return b
		}
	}
	return nil
}

// writePage answers one page of b.
func (p *Provider) writePage(w http.ResponseWriter, r *http.Request, b *body, q query, gz bool) {
	total := len(b.index.starts)
	if q.from > total {
		jsonError(w, http.StatusBadRequest, fmt.Sprintf("the cursor points past the end of its snapshot (%d entities)", total))
		return
	}
	to := min(q.from+q.limit, total)
	head := struct {
		APIVersion    string         `json:"apiVersion"`
		Installations []Installation `json:"installations"`
		Snapshot      string         `json:"snapshot"`
		Total         int            `json:"total"`
		NextCursor    string         `json:"nextCursor,omitempty"`
	}{ResponseVersion, append([]Installation{}, b.insts...), b.key[:snapshotLen], total, ""}
	if to < total {
		head.NextCursor = encodeCursor(b.key[:snapshotLen], to)
	}
	hb, err := json.Marshal(head)
	if err != nil {
		jsonError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if gz {
		w.Header().Set("Content-Encoding", "gzip")
	}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	var out io.Writer = w
	var zw *gzip.Writer
	if gz {
		zw, _ = gzip.NewWriterLevel(w, gzip.BestSpeed)
		out = zw
	}
	_, err = out.Write(append(hb[:len(hb)-1], `,"entities":[`...))
	if err == nil {
		err = b.copyEntities(out, q.from, to)
	}
	if err == nil {
		_, err = io.WriteString(out, "]}\n")
	}
	if err == nil && zw != nil {
		err = zw.Close()
	}
	if err != nil && r.Context().Err() == nil {
		p.log.Warn("backstage: writing a page", "err", err)
	}
}

// copyEntities writes entities [from, to) of b, comma-separated as in the
// body, inflating from the chunk that holds the first.
func (b *body) copyEntities(w io.Writer, from, to int) error {
	if from >= to {
		return nil
	}
	ix := &b.index
	start, end := ix.starts[from], ix.end
	if to < len(ix.starts) {
		end = ix.starts[to] - int64(len(",\n"))
	}
	i := sort.Search(len(ix.chunks), func(i int) bool { return ix.chunks[i].plain > start }) - 1
	c := ix.chunks[i]
	fr := flate.NewReader(bytes.NewReader(b.gz[c.z:]))
	defer fr.Close()
	if _, err := io.CopyN(io.Discard, fr, start-c.plain); err != nil {
		return fmt.Errorf("seek to entity %d: %w", from, err)
	}
	if _, err := io.CopyN(w, fr, end-start); err != nil {
		return fmt.Errorf("copy entities %d to %d: %w", from, to, err)
	}
	return nil
}
