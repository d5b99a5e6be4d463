package ghfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestDeliveriesMatchSpec(t *testing.T) {
	fx := newFixture(t, "")
	at := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	ok := fx.f.AddDelivery(HookDelivery{GUID: "g-ok", At: at, StatusCode: 202, Event: "pull_request", Action: "opened", Installation: 7, Repository: fx.repo.ID()})
	failed := fx.f.AddDelivery(HookDelivery{GUID: "g-down", At: at.Add(time.Second), Event: "installation", Action: "created", Installation: 7})
	jwt := "Bearer " + signJWT(t, testKey(), validClaims())
	tok := "token " + fx.tok
	for _, tc := range []struct {
		method, path, template, auth string
		status                       int
	}{
		{"GET", "/app/hook/deliveries", "/app/hook/deliveries", jwt, 200},
		{"GET", "/app/hook/deliveries?per_page=1&status=failure", "/app/hook/deliveries", jwt, 200},
		{"POST", fmt.Sprintf("/app/hook/deliveries/%d/attempts", failed), "/app/hook/deliveries/{delivery_id}/attempts", jwt, 202},
		{"GET", "/repos/acme/mesh/pulls?state=open", "/repos/{owner}/{repo}/pulls", tok, 200},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			got := fx.do(t, tc.method, tc.path, tc.auth, "")
			if got.status != tc.status {
				t.Fatalf("status %d, want %d: %s", got.status, tc.status, got.body)
			}
			sch, err := fx.f.spec.responseSchema(tc.method, tc.template, fmt.Sprint(tc.status))
			if err != nil {
				t.Fatal(err)
			}
			if _, msg := validate(sch, got.body); msg != "" {
				t.Errorf("response does not match GitHub's schema:\n%s\nbody: %.600s", msg, got.body)
			}
		})
	}
	// An installation token may not list the App's deliveries; unknown ids are 404.
	if got := fx.do(t, "GET", "/app/hook/deliveries", tok, ""); got.status != http.StatusUnauthorized {
		t.Errorf("deliveries with an installation token: %d, want 401", got.status)
	}
	if got := fx.do(t, "POST", "/app/hook/deliveries/1/attempts", jwt, ""); got.status != http.StatusNotFound {
		t.Errorf("redeliver unknown: %d, want 404", got.status)
	}
	if asked := fx.f.RedeliveriesAsked(); len(asked) != 1 || asked[0] != failed {
		t.Fatalf("asked = %v, want [%d]", asked, failed)
	}
	fx.f.SetReceiver(func(d HookDelivery) int {
		if d.GUID != "g-down" {
			t.Errorf("redelivered %s, want g-down", d.GUID)
		}
		return 202
	})
	if n := fx.f.FlushRedeliveries(at.Add(time.Hour)); n != 1 {
		t.Fatalf("flushed %d, want 1", n)
	}
	log := fx.f.Deliveries()
	if len(log) != 3 || log[0].ID != ok || log[2].GUID != "g-down" || !log[2].Redelivery || log[2].StatusCode != 202 {
		t.Errorf("log after redelivery = %+v", log)
	}
}

// TestDeliveriesCursor walks the log newest first through rel="next"
// cursors, as GitHub pages it (no page numbers).
func TestDeliveriesCursor(t *testing.T) {
	fx := newFixture(t, "")
	var ids []int64
	for i := range 7 {
		code := 200
		if i%2 == 1 {
			code = 500
		}
		ids = append(ids, fx.f.AddDelivery(HookDelivery{GUID: fmt.Sprint("g", i), StatusCode: code}))
	}
	jwt := "Bearer " + signJWT(t, testKey(), validClaims())
	for _, tc := range []struct {
		query string
		want  []int64
	}{
		{"per_page=3", []int64{ids[6], ids[5], ids[4], ids[3], ids[2], ids[1], ids[0]}},
		{"per_page=2&status=failure", []int64{ids[5], ids[3], ids[1]}},
		{"per_page=100&status=success", []int64{ids[6], ids[4], ids[2], ids[0]}},
	} {
		t.Run(tc.query, func(t *testing.T) {
			var got []int64
			path := "/app/hook/deliveries?" + tc.query
			for pages := 0; path != ""; pages++ {
				if pages > 10 {
					t.Fatal("no end to the pages")
				}
				a := fx.do(t, "GET", path, jwt, "")
				if a.status != 200 {
					t.Fatalf("%s: %d %s", path, a.status, a.body)
				}
				var list []map[string]any
				if err := json.Unmarshal(a.body, &list); err != nil {
					t.Fatal(err)
				}
				for _, d := range list {
					got = append(got, int64(d["id"].(float64)))
				}
				path = ""
				if l := a.header.Get("Link"); l != "" {
					u, err := url.Parse(strings.TrimSuffix(strings.TrimPrefix(strings.Split(l, ";")[0], "<"), ">"))
					if err != nil || u.Query().Get("cursor") == "" || u.Query().Get("page") != "" {
						t.Fatalf("Link %q: want a cursor, no page", l)
					}
					path = "/app/hook/deliveries?" + u.RawQuery
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("ids = %v, want %v", got, tc.want)
			}
		})
	}
	if a := fx.do(t, "GET", "/app/hook/deliveries?cursor=bogus", jwt, ""); a.status != http.StatusBadRequest {
		t.Errorf("bogus cursor: %d, want 400", a.status)
	}
}
