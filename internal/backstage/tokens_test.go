package backstage

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestHandlerOrgTokens: a token of one organisation reads that
// organisation's entities only, over HTTP, whatever it asks for; the
// all-organisations token reads both, and each organisation's part of its
// answer is what that organisation's token gets.
func TestHandlerOrgTokens(t *testing.T) {
	st := exampleRegistry(t, true)
	const acmeTok, globexTok = "acme-token-1", "globex-token-2"
	h := router(st, HandlerOptions{Token: token, OrgTokens: map[string]string{"Acme": acmeTok, "globex": globexTok}})
	onlyOrgs := router(st, HandlerOptions{OrgTokens: map[string]string{"acme": acmeTok}})

	tests := []struct {
		name   string
		h      http.Handler
		tok    string
		query  string
		status int
		ns     []string // namespaces of the entities answered
	}{
		{"acme reads acme", h, acmeTok, "", 200, []string{"acme"}},
		{"acme names itself", h, acmeTok, "?org=ACME", 200, []string{"acme"}},
		{"acme by installation", h, acmeTok, "?installation=101", 200, []string{"acme"}},
		{"acme asks for globex", h, acmeTok, "?org=globex", 403, nil},
		{"acme asks for globex's installation", h, acmeTok, "?installation=202", 403, nil},
		{"acme asks for an unknown installation", h, acmeTok, "?installation=999", 404, nil},
		{"globex reads globex", h, globexTok, "", 200, []string{"globex"}},
		{"globex pages", h, globexTok, "?limit=3", 200, []string{"globex"}},
		{"all organisations", h, token, "", 200, []string{"acme", "globex"}},
		{"wrong token", h, "acme-token-", "", 401, nil},
		{"endpoint on with organisation tokens only", onlyOrgs, acmeTok, "", 200, []string{"acme"}},
		{"no all-organisations token there", onlyOrgs, token, "", 401, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := do(t, tc.h, req{auth: "Bearer " + tc.tok, query: tc.query})
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			if w.Code == http.StatusForbidden && strings.Contains(w.Body.String(), "globex") && tc.tok == acmeTok && !strings.Contains(w.Body.String(), `"acme"`) {
				t.Errorf("403 should say what the token reads: %s", w.Body)
			}
			if tc.status != 200 {
				if strings.Contains(w.Body.String(), "namespace") {
					t.Errorf("a refusal carries entities: %s", w.Body)
				}
				return
			}
			r := decode(t, w)
			var ns []string
			for _, e := range r.Entities {
				if !slices.Contains(ns, e.Metadata.Namespace) {
					ns = append(ns, e.Metadata.Namespace)
				}
				for _, ref := range append([]string{e.Spec.Owner, e.Spec.System, e.Spec.Domain}, e.Spec.ConsumesAPIs...) {
					if ref != "" && !strings.Contains(ref, ":"+e.Metadata.Namespace+"/") {
						t.Errorf("%s points into another namespace: %s", e.Ref(), ref)
					}
				}
			}
			slices.Sort(ns)
			if !slices.Equal(ns, tc.ns) {
				t.Errorf("namespaces %v, want %v", ns, tc.ns)
			}
		})
	}

	// Each organisation's token gets exactly its part of the joint answer.
	joint := entityJSON(t, decode(t, do(t, h, req{auth: "Bearer " + token})).Entities)
	for _, tok := range []string{acmeTok, globexTok} {
		part := entityJSON(t, decode(t, do(t, h, req{auth: "Bearer " + tok})).Entities)
		for ref, e := range part {
			if joint[ref] != e {
				t.Errorf("%s differs between the organisation's answer and the joint one", ref)
			}
		}
	}

	// A cursor of acme's walk read with globex's token is refused: the
	// cursor names a snapshot, not a permission.
	first := decode(t, do(t, h, req{auth: "Bearer " + acmeTok, query: "?limit=3"}))
	if w := do(t, h, req{auth: "Bearer " + globexTok, query: "?limit=3&cursor=" + first.NextCursor}); w.Code == http.StatusOK {
		t.Errorf("globex's token read a page of acme's snapshot: %s", w.Body)
	}
	// The all-organisations token with the same cursor but no org is
	// refused too (another scope).
	if w := do(t, h, req{auth: "Bearer " + token, query: "?limit=3&cursor=" + first.NextCursor}); w.Code != http.StatusBadRequest {
		t.Errorf("a cursor under another scope: %d", w.Code)
	}
}
