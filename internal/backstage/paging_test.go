package backstage

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/meshbot/meshbot/internal/store"
)

// walk reads every page of the endpoint with limit, following nextCursor,
// and checks what every page promises.
func walk(t *testing.T, h http.Handler, auth, query string, limit int, gz bool) (pages []Response, all []Entity) {
	t.Helper()
	sep := "?"
	if query != "" {
		sep = "&"
	}
	q := query + sep + "limit=" + itoa64(int64(limit))
	headers := map[string]string{}
	if gz {
		headers["Accept-Encoding"] = "gzip"
	}
	for {
		w := do(t, h, req{auth: auth, query: q, headers: headers})
		if w.Code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", q, w.Code, w.Body)
		}
		if got := w.Header().Get("Content-Encoding") == "gzip"; got != gz {
			t.Fatalf("GET %s: gzip %t, asked %t", q, got, gz)
		}
		r := decode(t, w)
		if len(r.Entities) > limit || len(r.Entities) == 0 && r.Total > 0 {
			t.Fatalf("GET %s: %d entities, limit %d", q, len(r.Entities), limit)
		}
		if len(pages) > 0 && (r.Snapshot != pages[0].Snapshot || r.Total != pages[0].Total) {
			t.Fatalf("page %d: snapshot %s total %d, first page %s %d", len(pages), r.Snapshot, r.Total, pages[0].Snapshot, pages[0].Total)
		}
		pages = append(pages, r)
		all = append(all, r.Entities...)
		if r.NextCursor == "" {
			break
		}
		q = query + sep + "cursor=" + url.QueryEscape(r.NextCursor) + "&limit=" + itoa64(int64(limit))
	}
	if len(all) != pages[0].Total {
		t.Fatalf("%d entities over %d pages, total says %d", len(all), len(pages), pages[0].Total)
	}
	return pages, all
}

func sameEntities(t *testing.T, what string, got, want []Entity) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Errorf("%s: %d entities differ from the %d of the unpaged answer", what, len(got), len(want))
	}
}

// TestHandlerPaging: the pages of a walk are the unpaged answer cut in
// order, for every page size, with and without gzip, scoped or not.
func TestHandlerPaging(t *testing.T) {
	st := exampleRegistry(t, true)
	h := router(st, HandlerOptions{Token: token})
	auth := "Bearer " + token
	for _, query := range []string{"", "org=Globex", "installation=101&groups=false"} {
		full := decode(t, do(t, h, req{auth: auth, query: "?" + query}))
		for _, limit := range []int{1, 7, 64, len(full.Entities), MaxPageLimit} {
			for _, gz := range []bool{false, true} {
				pages, all := walk(t, h, auth, "?"+query, limit, gz)
				sameEntities(t, query+" limit "+itoa64(int64(limit)), all, full.Entities)
				if want := (len(full.Entities) + limit - 1) / limit; len(pages) != want {
					t.Errorf("%s limit %d: %d pages, want %d", query, limit, len(pages), want)
				}
				if len(pages[0].Installations) != len(full.Installations) {
					t.Errorf("%s: page installations %v, unpaged %v", query, pages[0].Installations, full.Installations)
				}
			}
		}
	}
}

// TestHandlerPagingSnapshot: a walk reads the snapshot it started on while
// the registry moves; once that snapshot is gone a cursor answers 410; a
// meshbot that did not start the walk (another replica, a restart) serves
// it while the registry is unchanged.
func TestHandlerPagingSnapshot(t *testing.T) {
	ctx := context.Background()
	st := exampleRegistry(t, false)
	auth := "Bearer " + token
	h := router(st, HandlerOptions{Token: token, CacheEntries: 2})
	before := decode(t, do(t, h, req{auth: auth}))

	first := decode(t, do(t, h, req{auth: auth, query: "?limit=10"}))
	ps, _ := st.Products(ctx, instAcme)
	if err := st.PutRepo(ctx, instAcme, repoAcme, ps[1:]); err != nil {
		t.Fatal(err)
	}
	rest := []Entity{}
	for c := first.NextCursor; c != ""; {
		r := decode(t, do(t, h, req{auth: auth, query: "?limit=10&cursor=" + c}))
		rest = append(rest, r.Entities...)
		c = r.NextCursor
	}
	sameEntities(t, "a walk across a registry change", append(first.Entities, rest...), before.Entities)
	if now := decode(t, do(t, h, req{auth: auth, query: "?limit=10"})); now.Snapshot == first.Snapshot || now.Total >= first.Total {
		t.Errorf("a new walk after the change reads snapshot %s (%d entities), the old one was %s (%d)", now.Snapshot, now.Total, first.Snapshot, first.Total)
	}

	// Evict the old snapshot: two other bodies fill the cache of 2.
	do(t, h, req{auth: auth, query: "?groups=false"})
	w := do(t, h, req{auth: auth, query: "?limit=10&cursor=" + first.NextCursor})
	if w.Code != http.StatusGone || !strings.Contains(w.Body.String(), "start again") {
		t.Errorf("cursor of an evicted snapshot: %d %s, want 410", w.Code, w.Body)
	}

	// Another replica: a fresh provider over the same registry serves a
	// cursor of the current snapshot.
	cur := decode(t, do(t, h, req{auth: auth, query: "?limit=10"}))
	other := router(st, HandlerOptions{Token: token})
	if w := do(t, other, req{auth: auth, query: "?limit=10&cursor=" + cur.NextCursor}); w.Code != http.StatusOK {
		t.Errorf("another replica refused a cursor of the current snapshot: %d %s", w.Code, w.Body)
	} else if r := decode(t, w); r.Snapshot != cur.Snapshot || r.Total != cur.Total {
		t.Errorf("another replica's page: snapshot %s total %d, want %s %d", r.Snapshot, r.Total, cur.Snapshot, cur.Total)
	}
}

func TestHandlerPagingRequests(t *testing.T) {
	st := exampleRegistry(t, true)
	h := router(st, HandlerOptions{Token: token})
	auth := "Bearer " + token
	first := decode(t, do(t, h, req{auth: auth, query: "?limit=5"}))
	snap := first.Snapshot
	tests := []struct {
		query  string
		status int
	}{
		{"?limit=0", 400},
		{"?limit=-3", 400},
		{"?limit=10001", 400},
		{"?limit=ten", 400},
		{"?limit=5&limit=6", 400},
		{"?cursor=nonsense", 400},
		{"?cursor=" + encodeCursor(snap, 0), 400},
		{"?cursor=" + encodeCursor(snap, 1) + "x", 400},
		{"?cursor=" + encodeCursor(strings.Repeat("z", snapshotLen), 5), 400},
		{"?cursor=" + encodeCursor(snap, first.Total+1), 400},
		{"?org=acme&cursor=" + first.NextCursor, 400}, // another scope than the first page's
		{"?groups=false&cursor=" + first.NextCursor, 400},
		{"?cursor=" + encodeCursor(strings.Repeat("0", snapshotLen), 5), 410},
		{"?cursor=" + first.NextCursor, 200}, // default limit
		{"?cursor=" + encodeCursor(snap, first.Total), 200},
	}
	for _, tc := range tests {
		w := do(t, h, req{auth: auth, query: tc.query})
		if w.Code != tc.status {
			t.Errorf("GET %s: %d %s, want %d", tc.query, w.Code, w.Body, tc.status)
		}
	}
	if r := decode(t, do(t, h, req{auth: auth, query: "?cursor=" + first.NextCursor})); len(r.Entities) != min(DefaultPageLimit, first.Total-5) {
		t.Errorf("cursor without limit: %d entities", len(r.Entities))
	}
	if r := decode(t, do(t, h, req{auth: auth, query: "?cursor=" + encodeCursor(snap, first.Total)})); len(r.Entities) != 0 || r.NextCursor != "" {
		t.Errorf("a cursor at the end: %d entities, next %q", len(r.Entities), r.NextCursor)
	}

	// A page has its own ETag, answered 304 while the snapshot stands.
	w := do(t, h, req{auth: auth, query: "?limit=5", headers: map[string]string{"Accept-Encoding": "gzip"}})
	unpaged := do(t, h, req{auth: auth})
	etag := w.Header().Get("ETag")
	if etag == "" || etag == unpaged.Header().Get("ETag") || !strings.Contains(etag, snap) {
		t.Errorf("page ETag %q, unpaged %q", etag, unpaged.Header().Get("ETag"))
	}
	if w := do(t, h, req{auth: auth, query: "?limit=5", headers: map[string]string{"If-None-Match": etag}}); w.Code != http.StatusNotModified {
		t.Errorf("If-None-Match of the first page: %d", w.Code)
	}
	if w := do(t, h, req{auth: auth, query: "?limit=6", headers: map[string]string{"If-None-Match": etag}}); w.Code != http.StatusOK {
		t.Errorf("If-None-Match of another page size: %d", w.Code)
	}
	if w := do(t, h, req{auth: auth, query: "?limit=5", method: http.MethodHead}); w.Code != 200 || w.Body.Len() != 0 {
		t.Errorf("HEAD of a page: %d, %d bytes", w.Code, w.Body.Len())
	}
}

func FuzzCursor(f *testing.F) {
	f.Add(encodeCursor(strings.Repeat("a", snapshotLen), 3))
	f.Add("bTE6")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		snap, from, err := decodeCursor(s)
		if err != nil {
			return
		}
		if from < 1 || len(snap) != snapshotLen || encodeCursor(snap, from) != s {
			t.Fatalf("decodeCursor(%q) = %q, %d", s, snap, from)
		}
	})
}

var _ store.Registry = (*countingRegistry)(nil)
