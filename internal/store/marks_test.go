package store

import (
	"testing"
	"time"
)

func testMarks(t *testing.T, open factory) {
	s := open(t, Options{})
	ctx := ctxT(t)

	t.Run("SeenDeliveryRecordsNothing", func(t *testing.T) {
		if seen, err := s.SeenDelivery(ctx, "g-1"); err != nil || seen {
			t.Fatalf("SeenDelivery(unknown) = %v, %v; want false", seen, err)
		}
		// Looking must not make the delivery a duplicate.
		if first, err := s.EnqueueDelivery(ctx, Delivery{ID: "g-1", TTL: time.Hour, Jobs: []Job{{ID: "g-1", Kind: "check"}}}); err != nil || !first {
			t.Fatalf("EnqueueDelivery after SeenDelivery = %v, %v; want first", first, err)
		}
		if seen, err := s.SeenDelivery(ctx, "g-1"); err != nil || !seen {
			t.Fatalf("SeenDelivery(enqueued) = %v, %v; want true", seen, err)
		}
		if _, err := s.FirstDelivery(ctx, "g-2", 100*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
		if seen, err := s.SeenDelivery(ctx, "g-2"); err != nil || seen {
			t.Fatalf("SeenDelivery after its ttl = %v, %v; want false", seen, err)
		}
	})

	t.Run("Mark", func(t *testing.T) {
		if v, err := s.Mark(ctx, "hw"); err != nil || v != "" {
			t.Fatalf("Mark(unset) = %q, %v; want empty", v, err)
		}
		for _, v := range []string{"41", "42"} {
			if err := s.SetMark(ctx, "hw", v, 0); err != nil {
				t.Fatal(err)
			}
			if got, err := s.Mark(ctx, "hw"); err != nil || got != v {
				t.Fatalf("Mark = %q, %v; want %q", got, err, v)
			}
		}
		if err := s.SetMark(ctx, "short", "x", 100*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
		if v, err := s.Mark(ctx, "short"); err != nil || v != "" {
			t.Fatalf("Mark after its ttl = %q, %v; want empty", v, err)
		}
		if v, _ := s.Mark(ctx, "hw"); v != "42" {
			t.Fatalf("Mark without ttl = %q after another mark expired; want 42", v)
		}
		if err := s.SetMark(ctx, "hw", "1", -time.Second); err == nil {
			t.Fatal("SetMark with a negative ttl succeeded")
		}
	})

	t.Run("Lease", func(t *testing.T) {
		steps := []struct {
			op, holder string
			ttl        time.Duration
			want       bool
		}{
			{"acquire", "a", time.Hour, true},
			{"acquire", "b", time.Hour, false},
			{"acquire", "a", time.Hour, true}, // the holder extends
			{"release", "b", 0, false},        // not b's to release
			{"acquire", "b", time.Hour, false},
			{"release", "a", 0, false},
			{"acquire", "b", 100 * time.Millisecond, true},
		}
		for i, st := range steps {
			switch st.op {
			case "acquire":
				got, err := s.Acquire(ctx, "sweep", st.holder, st.ttl)
				if err != nil || got != st.want {
					t.Fatalf("step %d: Acquire(%s) = %v, %v; want %v", i, st.holder, got, err, st.want)
				}
			case "release":
				if err := s.Release(ctx, "sweep", st.holder); err != nil {
					t.Fatalf("step %d: Release(%s): %v", i, st.holder, err)
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
		if got, err := s.Acquire(ctx, "sweep", "a", time.Hour); err != nil || !got {
			t.Fatalf("Acquire after the lease expired = %v, %v; want true", got, err)
		}
		if _, err := s.Acquire(ctx, "sweep", "", time.Hour); err == nil {
			t.Fatal("Acquire without a holder succeeded")
		}
	})
}
