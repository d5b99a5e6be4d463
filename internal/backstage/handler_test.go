package backstage

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/meshbot/meshbot/internal/mesh"
	"github.com/meshbot/meshbot/internal/store"
)

const token = "s3cret-token"

func gunzip(t testing.TB, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	return out
}

// countingRegistry counts product reads of the real store underneath, to
// show what the cache saves.
type countingRegistry struct {
	store.Registry
	reads atomic.Int64
}

func (c *countingRegistry) Products(ctx context.Context, inst int64) ([]*mesh.Product, error) {
	c.reads.Add(1)
	return c.Registry.Products(ctx, inst)
}

// router serves the provider the way meshbot serve does: through gin.
func router(reg store.Registry, opts HandlerOptions) http.Handler {
	gin.SetMode(gin.TestMode)
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	r := gin.New()
	r.GET(Path, NewHandler(reg, opts))
	r.HEAD(Path, NewHandler(reg, opts))
	return r
}

type req struct {
	query   string
	auth    string
	headers map[string]string
	method  string
}

func do(t testing.TB, h http.Handler, rq req) *httptest.ResponseRecorder {
	t.Helper()
	m := rq.method
	if m == "" {
		m = http.MethodGet
	}
	r := httptest.NewRequest(m, Path+rq.query, nil)
	if rq.auth != "" {
		r.Header.Set("Authorization", rq.auth)
	}
	for k, v := range rq.headers {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func decode(t testing.TB, w *httptest.ResponseRecorder) Response {
	t.Helper()
	b := w.Body.Bytes()
	if w.Header().Get("Content-Encoding") == "gzip" {
		b = gunzip(t, b)
	}
	var r Response
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("decode body: %v\n%.300s", err, b)
	}
	return r
}

func TestHandlerAuth(t *testing.T) {
	st := exampleRegistry(t, false)
	on := router(st, HandlerOptions{Token: token})
	off := router(st, HandlerOptions{})
	tests := []struct {
		name   string
		h      http.Handler
		auth   string
		status int
		errHas string
	}{
		{"off", off, "Bearer " + token, http.StatusNotFound, "MESHBOT_BACKSTAGE_TOKEN"},
		{"off without token", off, "", http.StatusNotFound, "MESHBOT_BACKSTAGE_TOKEN"},
		{"missing", on, "", http.StatusUnauthorized, "bearer token"},
		{"wrong", on, "Bearer nope", http.StatusUnauthorized, "bearer token"},
		{"prefix of the token", on, "Bearer " + token[:5], http.StatusUnauthorized, "bearer token"},
		{"token longer", on, "Bearer " + token + "x", http.StatusUnauthorized, "bearer token"},
		{"basic scheme", on, "Basic " + token, http.StatusUnauthorized, "bearer token"},
		{"no scheme", on, token, http.StatusUnauthorized, "bearer token"},
		{"right", on, "Bearer " + token, http.StatusOK, ""},
		{"scheme case-insensitive", on, "bearer " + token, http.StatusOK, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := do(t, tc.h, req{auth: tc.auth})
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			if tc.errHas != "" {
				var e struct{ Error string }
				if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || !strings.Contains(e.Error, tc.errHas) {
					t.Errorf("error body %q should mention %q", w.Body, tc.errHas)
				}
				if strings.Contains(w.Body.String(), "order-events") {
					t.Error("a refused request leaked entities")
				}
			}
			if tc.status == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
}

func TestHandlerBodyAndETag(t *testing.T) {
	st := exampleRegistry(t, false)
	h := router(st, HandlerOptions{Token: token})
	auth := "Bearer " + token
	w := do(t, h, req{auth: auth})
	if w.Code != http.StatusOK || w.Header().Get("Content-Encoding") != "" {
		t.Fatalf("status %d encoding %q", w.Code, w.Header().Get("Content-Encoding"))
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
	if cl := w.Header().Get("Content-Length"); cl != itoa64(int64(w.Body.Len())) {
		t.Errorf("Content-Length %s for %d bytes", cl, w.Body.Len())
	}
	r := decode(t, w)
	v, _ := st.Version(context.Background(), instAcme)
	if len(r.Installations) != 1 || r.Installations[0] != (Installation{instAcme, v}) || r.APIVersion != ResponseVersion {
		t.Errorf("header fields: %+v %s", r.Installations, r.APIVersion)
	}
	ps, _ := st.Products(context.Background(), instAcme)
	checkEntities(t, ps, r.Entities)
	etag := w.Header().Get("ETag")
	if !strings.HasPrefix(etag, `"`) || !strings.HasSuffix(etag, `"`) || len(etag) < 10 {
		t.Fatalf("ETag %q is not a strong tag", etag)
	}
	if again := do(t, h, req{auth: auth}); again.Header().Get("ETag") != etag || !bytes.Equal(again.Body.Bytes(), w.Body.Bytes()) {
		t.Error("same registry, different ETag or body")
	}

	for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
		nm := do(t, h, req{auth: auth, headers: map[string]string{"If-None-Match": inm}})
		if nm.Code != http.StatusNotModified || nm.Body.Len() != 0 || nm.Header().Get("ETag") != etag {
			t.Errorf("If-None-Match %s: status %d, %d bytes, ETag %q", inm, nm.Code, nm.Body.Len(), nm.Header().Get("ETag"))
		}
	}
	if nm := do(t, h, req{auth: auth, headers: map[string]string{"If-None-Match": `"stale"`}}); nm.Code != http.StatusOK {
		t.Errorf("stale If-None-Match: status %d", nm.Code)
	}
	// The tag does not vouch for anyone without the token.
	if nm := do(t, h, req{headers: map[string]string{"If-None-Match": etag}}); nm.Code != http.StatusUnauthorized {
		t.Errorf("If-None-Match without token: status %d", nm.Code)
	}

	// A registry change moves the ETag and the body.
	ps2 := append([]*mesh.Product{}, ps...)
	ps2 = ps2[:len(ps2)-1]
	if err := st.PutRepo(context.Background(), instAcme, repoAcme, ps2); err != nil {
		t.Fatal(err)
	}
	after := do(t, h, req{auth: auth, headers: map[string]string{"If-None-Match": etag}})
	if after.Code != http.StatusOK || after.Header().Get("ETag") == etag {
		t.Fatalf("after a change: status %d ETag %q (was %q)", after.Code, after.Header().Get("ETag"), etag)
	}
	if n := len(decode(t, after).Entities); n >= len(r.Entities) {
		t.Errorf("after removing a product: %d entities, before %d", n, len(r.Entities))
	}
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

func TestHandlerGzip(t *testing.T) {
	st := exampleRegistry(t, false)
	h := router(st, HandlerOptions{Token: token})
	auth := "Bearer " + token
	plain := do(t, h, req{auth: auth})
	tests := []struct {
		accept string
		gzip   bool
	}{
		{"gzip", true},
		{"deflate, gzip;q=0.5, br", true},
		{"GZIP", true},
		{"*", true},
		{"gzip;q=0", false},
		{"*;q=0.1, gzip;q=0", false},
		{"identity", false},
		{"", false},
		{"br", false},
	}
	for _, tc := range tests {
		w := do(t, h, req{auth: auth, headers: map[string]string{"Accept-Encoding": tc.accept}})
		if got := w.Header().Get("Content-Encoding") == "gzip"; got != tc.gzip {
			t.Errorf("Accept-Encoding %q: gzip %t, want %t", tc.accept, got, tc.gzip)
			continue
		}
		if !strings.Contains(w.Header().Get("Vary"), "Accept-Encoding") {
			t.Errorf("Accept-Encoding %q: no Vary", tc.accept)
		}
		if !tc.gzip {
			continue
		}
		body := gunzip(t, w.Body.Bytes())
		if !bytes.Equal(body, plain.Body.Bytes()) {
			t.Errorf("Accept-Encoding %q: gunzipped body differs from the plain one", tc.accept)
		}
		if w.Body.Len() >= plain.Body.Len() {
			t.Errorf("gzip body %d bytes, plain %d", w.Body.Len(), plain.Body.Len())
		}
		// The gzip representation has its own strong tag, and either tag
		// revalidates.
		if w.Header().Get("ETag") == plain.Header().Get("ETag") {
			t.Error("gzip and plain bodies share a strong ETag")
		}
		if nm := do(t, h, req{auth: auth, headers: map[string]string{"Accept-Encoding": tc.accept, "If-None-Match": w.Header().Get("ETag")}}); nm.Code != http.StatusNotModified {
			t.Errorf("gzip If-None-Match: status %d", nm.Code)
		}
	}
	head := do(t, h, req{auth: auth, method: http.MethodHead, headers: map[string]string{"Accept-Encoding": "gzip"}})
	if head.Code != http.StatusOK || head.Body.Len() != 0 || head.Header().Get("Content-Length") == "" {
		t.Errorf("HEAD: status %d, %d bytes, Content-Length %q", head.Code, head.Body.Len(), head.Header().Get("Content-Length"))
	}
}

func TestHandlerScope(t *testing.T) {
	st := exampleRegistry(t, true)
	h := router(st, HandlerOptions{Token: token})
	auth := "Bearer " + token
	ctx := context.Background()
	acme, _ := st.Products(ctx, instAcme)
	globex, _ := st.Products(ctx, instGlobex)
	tests := []struct {
		query    string
		status   int
		insts    []int64
		products []*mesh.Product
	}{
		{"", 200, []int64{instAcme, instGlobex}, append(append([]*mesh.Product{}, acme...), globex...)},
		{"?installation=101", 200, []int64{instAcme}, acme},
		{"?installation=202", 200, []int64{instGlobex}, globex},
		{"?org=acme", 200, []int64{instAcme}, acme},
		{"?org=GLOBEX", 200, []int64{instGlobex}, globex},
		{"?org=initech", 404, nil, nil},
		{"?installation=999", 404, nil, nil},
		{"?installation=abc", 400, nil, nil},
		{"?installation=-1", 400, nil, nil},
		{"?installation=101&org=acme", 400, nil, nil},
		{"?installation=101&installation=202", 400, nil, nil},
		{"?groups=maybe", 400, nil, nil},
	}
	etags := map[string]string{}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			w := do(t, h, req{auth: auth, query: tc.query})
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			if tc.status != 200 {
				return
			}
			r := decode(t, w)
			var got []int64
			for _, in := range r.Installations {
				got = append(got, in.ID)
			}
			if !equalInts(got, tc.insts) {
				t.Errorf("installations %v, want %v", got, tc.insts)
			}
			checkEntities(t, tc.products, r.Entities)
			for q, e := range etags {
				if e == w.Header().Get("ETag") && !strings.Contains(q, "org=") && !strings.Contains(tc.query, "org=") {
					t.Errorf("%s and %s share an ETag", q, tc.query)
				}
			}
			etags[tc.query] = w.Header().Get("ETag")
		})
	}
	// Across installations, the second finance.revenue gets its own name.
	r := decode(t, do(t, h, req{auth: auth}))
	n := 0
	for _, e := range r.Entities {
		if e.Kind == KindSystem && e.Metadata.Annotations[AnnotationProduct] == "finance.revenue" {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d finance.revenue systems across both installations, want 2", n)
	}
	// groups=false leaves the teams to another provider.
	ng := decode(t, do(t, h, req{auth: auth, query: "?installation=101&groups=false"}))
	for _, e := range ng.Entities {
		if e.Kind == KindGroup {
			t.Fatalf("groups=false still has %s", e.Ref())
		}
	}
}

func equalInts(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestHandlerCaches: repeated requests for the same registry version read
// no products; a new version is built once however many ask at once.
func TestHandlerCaches(t *testing.T) {
	st := exampleRegistry(t, false)
	reg := &countingRegistry{Registry: st}
	h := router(reg, HandlerOptions{Token: token})
	auth := "Bearer " + token
	for range 5 {
		if w := do(t, h, req{auth: auth, headers: map[string]string{"Accept-Encoding": "gzip"}}); w.Code != 200 {
			t.Fatal(w.Code)
		}
		do(t, h, req{auth: auth})
	}
	if n := reg.reads.Load(); n != 1 {
		t.Errorf("%d product reads for 10 requests of one version, want 1", n)
	}
	ps, _ := st.Products(context.Background(), instAcme)
	if err := st.PutRepo(context.Background(), instAcme, repoAcme, ps[1:]); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if w := do(t, h, req{auth: auth}); w.Code != 200 {
				t.Error(w.Code)
			}
		})
	}
	wg.Wait()
	if n := reg.reads.Load(); n != 2 {
		t.Errorf("%d product reads after one change and 8 concurrent requests, want 2", n)
	}
}

func TestHandlerGenerated(t *testing.T) {
	ps := generatedProducts(t)
	st := store.NewMemory(store.Options{})
	defer st.Close()
	if err := st.PutRepo(context.Background(), instAcme, repoAcme, ps); err != nil {
		t.Fatal(err)
	}
	h := router(st, HandlerOptions{Token: token})
	w := do(t, h, req{auth: "Bearer " + token, headers: map[string]string{"Accept-Encoding": "gzip"}})
	if w.Code != 200 {
		t.Fatal(w.Code)
	}
	r := decode(t, w)
	stored, _ := st.Products(context.Background(), instAcme)
	checkEntities(t, stored, r.Entities)
}

func TestParseQuery(t *testing.T) {
	tests := []struct {
		raw  string
		want query
		err  bool
	}{
		{"", query{}, false},
		{"installation=42", query{installation: 42}, false},
		{"org=acme&groups=false", query{org: "acme", noGroups: true}, false},
		{"groups=true", query{}, false},
		{"installation=0", query{}, true},
		{"installation=1e3", query{}, true},
		{"installation=99999999999999999999", query{}, true},
		{"org=a&org=b", query{}, true},
	}
	for _, tc := range tests {
		v, _ := url.ParseQuery(tc.raw)
		got, err := parseQuery(v)
		if (err != nil) != tc.err || err == nil && got != tc.want {
			t.Errorf("parseQuery(%q) = %+v, %v", tc.raw, got, err)
		}
	}
}

// FuzzRequestHeaders: the endpoint's readers of outside input (query,
// If-None-Match, Accept-Encoding, Authorization) never panic and keep their
// promises.
func FuzzRequestHeaders(f *testing.F) {
	f.Add("installation=1", `"abc"`, "gzip", "Bearer x")
	f.Add("org=acme&groups=false", `W/"abc", "def"`, "gzip;q=0, *;q=1", "bearer  x ")
	f.Add("installation=%zz", "*", ";;q=,", "")
	f.Add("installation=1&installation=2", `"`, "x-gzip;q=0.001", "Bearer")
	f.Fuzz(func(t *testing.T, rawQuery, inm, accept, auth string) {
		if v, err := url.ParseQuery(rawQuery); err == nil {
			if q, err := parseQuery(v); err == nil && (q.installation < 0 || q.installation != 0 && q.org != "") {
				t.Fatalf("parseQuery(%q) accepted %+v", rawQuery, q)
			}
		}
		const tag = `"0123456789"`
		if etagMatch(inm, tag) && !strings.Contains(inm, tag) && strings.TrimSpace(inm) != "*" {
			t.Fatalf("If-None-Match %q matched %s", inm, tag)
		}
		acceptsGzip(accept)
		p := NewProvider(nil, HandlerOptions{Token: "x", OrgTokens: map[string]string{"Acme": "y"}})
		if c, ok := p.authenticate(auth); ok {
			scheme, tok, _ := strings.Cut(strings.TrimSpace(auth), " ")
			tok = strings.TrimSpace(tok)
			if !strings.EqualFold(scheme, "bearer") || !(tok == "x" && c.org == "" || tok == "y" && c.org == "acme") {
				t.Fatalf("authenticated %q as %+v", auth, c)
			}
		}
	})
}
