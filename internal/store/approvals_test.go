package store

import (
	"reflect"
	"sync"
	"testing"
	"time"
)

func testApprovals(t *testing.T, open factory) {
	s := open(t, Options{})
	ctx := ctxT(t)
	const pr = "acme/orders#17"

	if b, err := s.Breaks(ctx, 7, pr); err != nil || b.SHA != "" || len(b.Consumers) != 0 {
		t.Fatalf("Breaks(none) = %+v, %v; want zero", b, err)
	}
	want := Breaks{SHA: "abc", Consumers: []BrokenConsumer{{Consumer: "finance.revenue", Owner: "team-finance", Repo: "acme/finance", Breaks: []string{"r1", "r2"}}}}
	for _, b := range []Breaks{{SHA: "old"}, want} {
		if err := s.SetBreaks(ctx, 7, pr, b); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := s.Breaks(ctx, 7, pr); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Breaks = %+v, %v; want %+v", got, err, want)
	}
	if got, _ := s.Breaks(ctx, 8, pr); got.SHA != "" {
		t.Fatalf("another installation sees %+v", got)
	}

	at := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	fin := Approval{Consumer: "finance.revenue", By: "alice", SHA: "abc", Breaks: []string{"r1", "r2"}, At: at}
	cust := Approval{Consumer: "customer.c360", By: "carol", SHA: "abc", Breaks: []string{"r1"}, At: at}
	for _, a := range []Approval{fin, cust, fin} {
		if err := s.Approve(ctx, 7, pr, a); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := s.ApprovalsOf(ctx, 7, pr); err != nil || !reflect.DeepEqual(got, []Approval{cust, fin}) {
		t.Fatalf("ApprovalsOf = %+v, %v; want customer then finance", got, err)
	}
	if got, _ := s.ApprovalsOf(ctx, 7, "acme/orders#18"); len(got) != 0 {
		t.Fatalf("another pull request sees %+v", got)
	}

	// Two withdrawals at once: exactly one gets the approval.
	var wg sync.WaitGroup
	var mu sync.Mutex
	removed := 0
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, ok, err := s.Unapprove(ctx, 7, pr, "finance.revenue")
			if err != nil {
				t.Error(err)
				return
			}
			if ok {
				mu.Lock()
				removed++
				mu.Unlock()
				if !reflect.DeepEqual(a, fin) {
					t.Errorf("Unapprove returned %+v, want %+v", a, fin)
				}
			}
		}()
	}
	wg.Wait()
	if removed != 1 {
		t.Fatalf("%d withdrawals succeeded, want 1", removed)
	}
	if got, _ := s.ApprovalsOf(ctx, 7, pr); !reflect.DeepEqual(got, []Approval{cust}) {
		t.Fatalf("after Unapprove: %+v", got)
	}
}
