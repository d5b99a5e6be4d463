package backstage

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"

	"github.com/meshbot/meshbot/internal/mesh"
	"github.com/meshbot/meshbot/internal/store"
)

// Path is where meshbot serves the entities.
const Path = "/backstage/entities"

// ResponseVersion names the shape of the response body; it is part of the
// ETag, so a meshbot that changes the shape never answers 304 to a body of
// the old one.
const ResponseVersion = "meshbot.io/v1"

// formatVersion changes whenever the mapping changes what it writes for the
// same registry, for the same reason.
const formatVersion = "3" // 2: a port whose contract is deprecated is shown deprecated; 3: status words as Backstage lifecycles

// Response is the body of GET /backstage/entities. Entities come last so the
// body can be written as they are built. Snapshot, Total and NextCursor are
// in paged answers only (?limit= or ?cursor=).
type Response struct {
	APIVersion    string         `json:"apiVersion"`
	Installations []Installation `json:"installations"`
	// Snapshot names the registry state the page was cut from; every page
	// of one walk has the same.
	Snapshot string `json:"snapshot,omitempty"`
	// Total is the number of entities of the snapshot (all pages).
	Total int `json:"total,omitempty"`
	// NextCursor reads the next page (?cursor=); absent on the last.
	NextCursor string   `json:"nextCursor,omitempty"`
	Entities   []Entity `json:"entities"`
}

// Paging limits: a page of 1,000 entities is about 2.5 MB of JSON.
const (
	DefaultPageLimit = 1000
	MaxPageLimit     = 10000
)

// Installation is one installation included in a response, with the
// registry version its entities were built from.
type Installation struct {
	ID      int64  `json:"id"`
	Version uint64 `json:"version"`
}

// HandlerOptions configure the provider endpoint.
type HandlerOptions struct {
	// Token is MESHBOT_BACKSTAGE_TOKEN: it reads every organisation.
	// Without it and without OrgTokens the endpoint is off (404 saying how
	// to turn it on): the catalog would otherwise publish the whole mesh to
	// anyone who can reach meshbot.
	Token string
	// OrgTokens (MESHBOT_BACKSTAGE_ORG_TOKENS) map an organisation's login
	// to a token that reads that organisation's entities only, so one
	// meshbot can feed several Backstage instances without one seeing
	// another's mesh.
	OrgTokens map[string]string
	Entities  Options
	Logger    *slog.Logger
	// CacheEntries bounds the serialized bodies kept (one per scope and
	// registry version); default 8.
	CacheEntries int
}

// Provider serves GET /backstage/entities.
type Provider struct {
	reg     store.Registry
	opts    HandlerOptions
	log     *slog.Logger
	tokens  []credential
	buildMu sync.Mutex // one build at a time: concurrent misses wait for it rather than each build the same body
	mu      sync.Mutex
	cache   []*body // most recently used first
}

// credential is a token's digest and what it may read.
type credential struct {
	digest [sha256.Size]byte
	org    string // lower-cased login; "" reads every organisation
}

// body is a serialized response, kept gzip-compressed: Backstage asks for
// gzip, and the compressed body is about a tenth of the plain one.
type body struct {
	key      string
	q        query // the scope it answers (paging fields zero)
	insts    []Installation
	gz       []byte
	plainLen int64
	index    pageIndex
}

// NewProvider returns the endpoint's handler.
func NewProvider(reg store.Registry, opts HandlerOptions) *Provider {
	if opts.CacheEntries <= 0 {
		opts.CacheEntries = 8
	}
	opts.Entities = opts.Entities.withDefaults()
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	p := &Provider{reg: reg, opts: opts, log: log}
	if opts.Token != "" {
		p.tokens = append(p.tokens, credential{digest: sha256.Sum256([]byte(opts.Token))})
	}
	for org, tok := range opts.OrgTokens {
		if tok != "" && org != "" {
			p.tokens = append(p.tokens, credential{digest: sha256.Sum256([]byte(tok)), org: strings.ToLower(org)})
		}
	}
	return p
}

// NewHandler is NewProvider for gin: r.GET(backstage.Path, backstage.NewHandler(...)).
func NewHandler(reg store.Registry, opts HandlerOptions) gin.HandlerFunc {
	p := NewProvider(reg, opts)
	return func(c *gin.Context) { p.ServeHTTP(c.Writer, c.Request) }
}

func jsonError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"error": msg})
	_, _ = w.Write(append(b, '\n'))
}

// ServeHTTP answers GET and HEAD.
func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if len(p.tokens) == 0 {
		jsonError(w, http.StatusNotFound, "the Backstage provider endpoint is off: set MESHBOT_BACKSTAGE_TOKEN (or MESHBOT_BACKSTAGE_ORG_TOKENS) on meshbot serve and the same token in Backstage's catalog.providers.meshbot.token")
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		jsonError(w, http.StatusMethodNotAllowed, "use GET")
		return
	}
	cred, ok := p.authenticate(r.Header.Get("Authorization"))
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="meshbot"`)
		jsonError(w, http.StatusUnauthorized, "missing or wrong bearer token (Authorization: Bearer <MESHBOT_BACKSTAGE_TOKEN or an organisation's token>)")
		return
	}
	ctx := r.Context()
	q, err := parseQuery(r.URL.Query())
	if err != nil {
		jsonError(w, http.StatusBadRequest, err.Error())
		return
	}
	if cred.org != "" {
		// An organisation's token reads its organisation only, whatever
		// the query asks: asking for another is refused, not narrowed,
		// so a misconfigured Backstage learns why it gets nothing.
		if q.org != "" && !strings.EqualFold(q.org, cred.org) {
			jsonError(w, http.StatusForbidden, fmt.Sprintf("this token reads organisation %q only", cred.org))
			return
		}
		q.org = cred.org
	}
	var b *body
	var key string
	if q.cursor != "" {
		b, key, err = p.cursorBody(ctx, q)
	} else {
		var insts []Installation
		if insts, err = p.scope(ctx, q); err == nil {
			// Versions are read before the products: a body built from
			// products newer than its key is only rebuilt early, while the
			// other order could cache old products under the new version
			// for good.
			key = p.key(q, insts)
			b = &body{key: key, q: q.scopeOnly(), insts: insts}
		}
	}
	if err != nil {
		p.httpError(w, ctx, err)
		return
	}
	// Strong tags differ per content coding (RFC 9110 8.8.3); either one
	// tells a client its copy is current. A page is its own representation
	// of the snapshot.
	tag := key[:snapshotLen]
	if q.paged() {
		tag += "-" + strconv.Itoa(q.from) + "-" + strconv.Itoa(q.limit)
	}
	plainTag, gzipTag := `"`+tag+`"`, `"`+tag+`-gzip"`
	gz := acceptsGzip(r.Header.Get("Accept-Encoding"))
	etag := plainTag
	if gz {
		etag = gzipTag
	}
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Vary", "Accept-Encoding, Authorization")
	h.Set("Cache-Control", "private, no-cache")
	if inm := r.Header.Get("If-None-Match"); etagMatch(inm, plainTag) || etagMatch(inm, gzipTag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if b.gz == nil {
		// The build is shared by every request for this version and
		// cached: it finishes even when the client that started it goes
		// away.
		b, err = p.body(context.WithoutCancel(ctx), key, b.q, b.insts)
		if err != nil {
			if ctx.Err() != nil {
				return // the client went away
			}
			p.log.Error("backstage: building entities", "err", err)
			jsonError(w, http.StatusServiceUnavailable, "registry unavailable, retry later")
			return
		}
	}
	h.Set("Content-Type", "application/json; charset=utf-8")
	if q.paged() {
		p.writePage(w, r, b, q, gz)
		return
	}
	if gz {
		h.Set("Content-Encoding", "gzip")
		h.Set("Content-Length", strconv.Itoa(len(b.gz)))
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = w.Write(b.gz)
		}
		return
	}
	h.Set("Content-Length", strconv.FormatInt(b.plainLen, 10))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	zr, err := gzip.NewReader(bytes.NewReader(b.gz))
	if err == nil {
		_, err = io.Copy(w, zr)
	}
	if err != nil && ctx.Err() == nil {
		p.log.Warn("backstage: writing the response", "err", err)
	}
}

// httpError answers an error of scope or cursor.
func (p *Provider) httpError(w http.ResponseWriter, ctx context.Context, err error) {
	var ae apiError
	if errors.As(err, &ae) {
		jsonError(w, ae.status, ae.msg)
		return
	}
	if ctx.Err() != nil {
		return
	}
	p.log.Error("backstage: reading the registry", "err", err)
	jsonError(w, http.StatusServiceUnavailable, "registry unavailable, retry later")
}

// authenticate finds the credential the bearer token is. Every digest is
// compared, in constant time, so the time taken says nothing about which
// token came close.
func (p *Provider) authenticate(header string) (credential, bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return credential{}, false
	}
	// Comparing digests keeps the comparison constant-time in the token's
	// length too.
	got := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	var found credential
	match := 0
	for _, c := range p.tokens {
		if subtle.ConstantTimeCompare(got[:], c.digest[:]) == 1 {
			found, match = c, 1
		}
	}
	return found, match == 1
}

// query is what a request may ask for.
type query struct {
	installation int64  // 0: not given
	org          string // "": not given
	noGroups     bool
	// Paging: limit > 0 asks for a page of the snapshot named by cursor
	// (the first page without one) from entity from.
	limit  int
	cursor string // the snapshot's key prefix, from the cursor
	from   int
}

func (q query) paged() bool { return q.limit > 0 }

// scopeOnly is q without its paging: what a body answers.
func (q query) scopeOnly() query {
	q.limit, q.cursor, q.from = 0, "", 0
	return q
}

func parseQuery(v map[string][]string) (query, error) {
	var q query
	one := func(k string) (string, error) {
		vs := v[k]
		if len(vs) > 1 {
			return "", fmt.Errorf("query parameter %s given %d times", k, len(vs))
		}
		if len(vs) == 0 {
			return "", nil
		}
		return vs[0], nil
	}
	inst, err := one("installation")
	if err != nil {
		return q, err
	}
	if inst != "" {
		n, err := strconv.ParseInt(inst, 10, 64)
		if err != nil || n <= 0 {
			return q, fmt.Errorf("installation=%q: want a GitHub installation id (a positive number)", inst)
		}
		q.installation = n
	}
	if q.org, err = one("org"); err != nil {
		return q, err
	}
	// Logins compare case-insensitively: one scope, one cursor scope.
	q.org = strings.ToLower(q.org)
	if q.installation != 0 && q.org != "" {
		return q, errors.New("give installation or org, not both")
	}
	groups, err := one("groups")
	if err != nil {
		return q, err
	}
	switch groups {
	case "", "true":
	case "false":
		q.noGroups = true
	default:
		return q, fmt.Errorf("groups=%q: want true or false", groups)
	}
	limit, err := one("limit")
	if err != nil {
		return q, err
	}
	if limit != "" {
		n, err := strconv.Atoi(limit)
		if err != nil || n < 1 || n > MaxPageLimit {
			return q, fmt.Errorf("limit=%q: want a number of entities from 1 to %d", limit, MaxPageLimit)
		}
		q.limit = n
	}
	cur, err := one("cursor")
	if err != nil {
		return q, err
	}
	if cur != "" {
		if q.cursor, q.from, err = decodeCursor(cur); err != nil {
			return q, err
		}
		if q.limit == 0 {
			q.limit = DefaultPageLimit
		}
	}
	return q, nil
}

// apiError is a refusal with its HTTP status.
type apiError struct {
	status int
	msg    string
}

func (e apiError) Error() string { return e.msg }

func notFound(msg string) apiError { return apiError{http.StatusNotFound, msg} }

// scope is the installations a request covers, ascending, with their
// versions.
func (p *Provider) scope(ctx context.Context, q query) ([]Installation, error) {
	all, err := p.reg.Installations(ctx)
	if err != nil {
		return nil, fmt.Errorf("list installations: %w", err)
	}
	slices.Sort(all)
	var ids []int64
	switch {
	case q.installation != 0:
		if !slices.Contains(all, q.installation) {
			return nil, notFound(fmt.Sprintf("installation %d is not known to meshbot (is the App installed there, and has it indexed?)", q.installation))
		}
		ids = []int64{q.installation}
		if q.org != "" {
			// Only an organisation's token sets both: the installation
			// must be that organisation's.
			repos, err := p.reg.Repos(ctx, q.installation)
			if err != nil {
				return nil, fmt.Errorf("list repositories of installation %d: %w", q.installation, err)
			}
			if !slices.ContainsFunc(repos, func(r string) bool { return strings.EqualFold(repoOwner(r), q.org) }) {
				return nil, apiError{http.StatusForbidden, fmt.Sprintf("this token reads organisation %q only", q.org)}
			}
		}
	case q.org != "":
		for _, id := range all {
			repos, err := p.reg.Repos(ctx, id)
			if err != nil {
				return nil, fmt.Errorf("list repositories of installation %d: %w", id, err)
			}
			if slices.ContainsFunc(repos, func(r string) bool { return strings.EqualFold(repoOwner(r), q.org) }) {
				ids = append(ids, id)
			}
		}
		if len(ids) == 0 {
			return nil, notFound(fmt.Sprintf("no installation with repositories of organisation %q is known to meshbot", q.org))
		}
	default:
		ids = all
	}
	out := make([]Installation, len(ids))
	for i, id := range ids {
		v, err := p.reg.Version(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("registry version of installation %d: %w", id, err)
		}
		out[i] = Installation{ID: id, Version: v}
	}
	return out, nil
}

// key identifies a body: everything it is built from except the products,
// which the registry versions stand for. It costs a few store reads, no
// product is touched.
func (p *Provider) key(q query, insts []Installation) string {
	var b strings.Builder
	o := p.opts.Entities
	fmt.Fprintf(&b, "%s|%s|%s|%s|%s|groups=%t|org=%s", ResponseVersion, formatVersion, o.GitHubURL, o.Namespace, o.Ref, !q.noGroups, strings.ToLower(q.org))
	for _, in := range insts {
		fmt.Fprintf(&b, "|%d:%d", in.ID, in.Version)
	}
	s := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(s[:])
}

func (p *Provider) cached(key string) *body {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, b := range p.cache {
		if b.key == key {
			copy(p.cache[1:i+1], p.cache[:i])
			p.cache[0] = b
			return b
		}
	}
	return nil
}

func (p *Provider) keep(b *body) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cache = slices.Insert(p.cache, 0, b)
	if len(p.cache) > p.opts.CacheEntries {
		clear(p.cache[p.opts.CacheEntries:])
		p.cache = p.cache[:p.opts.CacheEntries]
	}
}

func (p *Provider) body(ctx context.Context, key string, q query, insts []Installation) (*body, error) {
	if b := p.cached(key); b != nil {
		return b, nil
	}
	p.buildMu.Lock()
	defer p.buildMu.Unlock()
	if b := p.cached(key); b != nil {
		return b, nil
	}
	var products []*mesh.Product
	for _, in := range insts {
		ps, err := p.reg.Products(ctx, in.ID)
		if err != nil {
			return nil, fmt.Errorf("products of installation %d: %w", in.ID, err)
		}
		if q.org != "" {
			// An installation is one account's, so this keeps all; it
			// is checked anyway, since an organisation's answer must
			// hold nothing of another.
			ps = slices.DeleteFunc(slices.Clone(ps), func(p *mesh.Product) bool { return !strings.EqualFold(repoOwner(p.Repo), q.org) })
		}
		products = append(products, ps...)
	}
	var buf bytes.Buffer
	b := &body{key: key, q: q.scopeOnly(), insts: insts}
	n, err := Write(ctx, &buf, products, WriteOptions{Options: p.opts.Entities, Installations: insts, NoGroups: q.noGroups, Gzip: true, index: &b.index})
	if err != nil {
		return nil, err
	}
	b.gz, b.plainLen = buf.Bytes(), n
	p.keep(b)
	p.log.Info("backstage: entities built", "installations", len(insts), "products", len(products), "bytes", n, "gzip_bytes", len(b.gz))
	return b, nil
}

// WriteOptions configure Write.
type WriteOptions struct {
	Options
	Installations []Installation
	NoGroups      bool // leave Group entities out (Backstage gets teams from elsewhere)
	Gzip          bool // compress what is written
	// index, when set, records where each entity and compressed chunk
	// starts, for serving pages out of the body.
	index *pageIndex
}

// chunkProducts is how many products one worker encodes at a time: big
// enough to amortise the hand-off, small enough that the chunks in flight
// stay a few megabytes.
const chunkProducts = 64

// Write writes the response body for products to w and returns its
// uncompressed length. Entities are built one at a time straight into JSON:
// besides the registry's products only the plan's names and a few chunks of
// output exist at once. GOMAXPROCS workers encode (and compress) chunks of
// products; the chunks are written in order, so the output does not depend
// on the scheduling.
//
// With Gzip the output is one gzip member whose deflate stream is the
// concatenation of independently compressed, sync-flushed chunks (as pigz
// does): compression runs in parallel, and any gzip reader reads it.
func Write(ctx context.Context, w io.Writer, products []*mesh.Product, opts WriteOptions) (int64, error) {
	pl := newPlan(products, opts.Options)
	out := &chunkWriter{w: w, gzip: opts.Gzip, idx: opts.index}
	if opts.Gzip {
		out.zn = 10
		out.zw, _ = flate.NewWriter(nil, gzip.BestSpeed)
		// gzip header: magic, deflate, no flags, no mtime (the body must be
		// the same bytes for the same registry), no extra flags, OS unknown.
		if _, err := w.Write([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255}); err != nil {
			return 0, fmt.Errorf("write entities: %w", err)
		}
	}
	head, err := json.Marshal(struct {
		APIVersion    string         `json:"apiVersion"`
		Installations []Installation `json:"installations"`
	}{ResponseVersion, append([]Installation{}, opts.Installations...)})
	if err != nil {
		return 0, err
	}
	buf := append(head[:len(head)-1], `,"entities":[`...)
	var offs []int
	var scratch Entity
	_ = pl.shared(&scratch, func(e *Entity) error {
		if opts.NoGroups && e.Kind == KindGroup {
			return nil
		}
		if len(offs) > 0 {
			buf = append(buf, ',', '\n')
		}
		offs = append(offs, len(buf))
		buf = e.appendJSON(buf)
		return nil
	})
	if err := out.chunk(buf, offs); err != nil {
		return 0, err
	}
	if err := pl.writeProducts(ctx, out, len(offs) > 0, opts.Gzip); err != nil {
		return 0, err
	}
	if out.idx != nil {
		out.idx.end = out.n
	}
	if err := out.chunk([]byte("]}\n"), nil); err != nil {
		return 0, err
	}
	if opts.Gzip {
		// The final block (empty, fixed Huffman), then CRC-32 and size.
		tail := []byte{3, 0}
		tail = binary.LittleEndian.AppendUint32(tail, out.crc)
		tail = binary.LittleEndian.AppendUint32(tail, uint32(out.n))
		if _, err := w.Write(tail); err != nil {
			return 0, fmt.Errorf("write entities: %w", err)
		}
	}
	return out.n, nil
}

// chunkWriter writes JSON chunks, compressed or not, and keeps the length
// and CRC-32 of the uncompressed body.
type chunkWriter struct {
	w    io.Writer
	gzip bool
	zw   *flate.Writer // for the chunks written here rather than by a worker
	zbuf bytes.Buffer
	n    int64 // plain bytes written
	zn   int64 // bytes written to w (with gzip: header and compressed chunks)
	crc  uint32
	idx  *pageIndex
}

// pageIndex locates entities in a gzip body written by Write: every
// compressed chunk is an independent deflate stream (each compressor is
// reset per chunk), so a page is read by inflating from the chunk holding
// its first entity rather than from the start.
type pageIndex struct {
	starts []int64     // plain offset of each entity's '{'
	end    int64       // plain offset just past the last entity
	chunks []chunkSpan // in order
}

type chunkSpan struct{ plain, z int64 }

// chunk compresses (with gzip) and writes plain; offs are where its
// entities start in it.
func (c *chunkWriter) chunk(plain []byte, offs []int) error {
	if !c.gzip {
		return c.write(plain, nil, offs)
	}
	c.zbuf.Reset()
	deflateChunk(c.zw, &c.zbuf, plain)
	return c.write(plain, c.zbuf.Bytes(), offs)
}

// write writes a chunk: z is plain compressed by deflateChunk (gzip only).
func (c *chunkWriter) write(plain, z []byte, offs []int) error {
	if c.idx != nil {
		c.idx.chunks = append(c.idx.chunks, chunkSpan{plain: c.n, z: c.zn})
		for _, o := range offs {
			c.idx.starts = append(c.idx.starts, c.n+int64(o))
		}
	}
	c.n += int64(len(plain))
	b := plain
	if c.gzip {
		c.crc = crc32.Update(c.crc, crc32.IEEETable, plain)
		b = z
	}
	c.zn += int64(len(b))
	if _, err := c.w.Write(b); err != nil {
		return fmt.Errorf("write entities: %w", err)
	}
	return nil
}

// deflateChunk compresses plain into dst as non-final deflate blocks ending
// byte-aligned (a sync flush), so chunks compressed apart concatenate into
// one valid stream.
func deflateChunk(zw *flate.Writer, dst *bytes.Buffer, plain []byte) {
	zw.Reset(dst)
	_, _ = zw.Write(plain) // writes to a bytes.Buffer do not fail
	_ = zw.Flush()
}

// writeProducts writes every product's entities in order, each chunk led
// by a separator when anything precedes it.
func (pl *entityPlan) writeProducts(ctx context.Context, out *chunkWriter, lead, gz bool) error {
	type result struct {
		plain, z []byte
		offs     []int
	}
	type job struct {
		from int
		out  chan result
	}
	nchunks := (len(pl.products) + chunkProducts - 1) / chunkProducts
	workers := max(1, min(runtime.GOMAXPROCS(0), nchunks))
	// order holds one channel per chunk in output order; its capacity
	// bounds the chunks in flight.
	order := make(chan chan result, 2*workers)
	free := make(chan result, 2*workers+1)
	jobs := make(chan job)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			var e Entity
			var zw *flate.Writer
			if gz {
				zw, _ = flate.NewWriter(nil, gzip.BestSpeed)
			}
			for j := range jobs {
				var r result
				select {
				case r = <-free:
				default:
				}
				b, offs := r.plain[:0], r.offs[:0]
				for k, pp := range pl.products[j.from:min(j.from+chunkProducts, len(pl.products))] {
					_ = pl.product(&e, pp, func(e *Entity) error {
						if len(b) > 0 || k == 0 && (j.from > 0 || lead) {
							b = append(b, ',', '\n')
						}
						offs = append(offs, len(b))
						b = e.appendJSON(b)
						return nil
					})
				}
				r.plain, r.offs = b, offs
				if gz {
					zb := bytes.NewBuffer(r.z[:0])
					deflateChunk(zw, zb, b)
					r.z = zb.Bytes()
				}
				j.out <- r
			}
		})
	}
	go func() {
		defer close(order)
		defer close(jobs)
		for from := 0; from < len(pl.products); from += chunkProducts {
			c := make(chan result, 1)
			select {
			case order <- c:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- job{from, c}:
			case <-ctx.Done():
				c <- result{} // the writer waits for every chunk it was promised
				return
			}
		}
	}()
	var err error
	for c := range order {
		r := <-c
		if err == nil {
			if err = ctx.Err(); err == nil && len(r.plain) > 0 {
				err = out.write(r.plain, r.z, r.offs)
			}
			if err != nil {
				cancel()
			}
		}
		select {
		case free <- r:
		default:
		}
	}
	wg.Wait()
	if err == nil {
		// Cancelled before a chunk was promised: the producer stopped early
		// and the body is incomplete.
		err = ctx.Err()
	}
	return err
}

// etagMatch implements If-None-Match's weak comparison (RFC 9110 13.1.2)
// against our one current tag.
func etagMatch(header, etag string) bool {
	header = strings.TrimSpace(header)
	if header == "" {
		return false
	}
	if header == "*" {
		return true
	}
	for t := range strings.SplitSeq(header, ",") {
		t = strings.TrimSpace(t)
		t = strings.TrimPrefix(t, "W/")
		if t == etag {
			return true
		}
	}
	return false
}

// acceptsGzip reads Accept-Encoding: gzip (or x-gzip, or *) with a
// non-zero q-value, and no explicit refusal.
func acceptsGzip(header string) bool {
	ok := false
	for part := range strings.SplitSeq(header, ",") {
		name, params, _ := strings.Cut(part, ";")
		name = strings.ToLower(strings.TrimSpace(name))
		if name != "gzip" && name != "x-gzip" && name != "*" {
			continue
		}
		q := 1.0
		for p := range strings.SplitSeq(params, ";") {
			k, v, found := strings.Cut(strings.TrimSpace(p), "=")
			if found && strings.EqualFold(strings.TrimSpace(k), "q") {
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil {
					f = 0
				}
				q = f
			}
		}
		if name == "*" {
			if q > 0 && !ok {
				ok = true
			}
			continue
		}
		// An explicit gzip entry decides, whatever * said.
		return q > 0
	}
	return ok
}
