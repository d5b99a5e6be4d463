package main

import (
	"errors"
	"log/slog"
	"testing"

	"github.com/meshbot/meshbot/internal/config"
	"github.com/meshbot/meshbot/internal/ghfake/ghfaketest"
	"github.com/meshbot/meshbot/internal/jobs"
	"github.com/meshbot/meshbot/internal/metrics"
	"github.com/meshbot/meshbot/internal/store"
)

// Issue 11.5: with an App, a dead-lettered check has a dead-letter hook
// (it completes the check run), whatever dead-lettered it.
func TestServeRegistersTheCheckDeadLetterHook(t *testing.T) {
	st := store.NewMemory(store.Options{})
	defer st.Close()
	cfg := &config.Config{AppID: 4242, PrivateKey: ghfaketest.PEM(), APIURL: "http://127.0.0.1:1/", KeySource: "test"}
	log := slog.New(slog.DiscardHandler)
	reg, err := jobHandlers(cfg, st, nil, nil, metrics.New(nil, log), log)
	if err != nil {
		t.Fatal(err)
	}
	j, err := jobs.KindPullCheck.New("d", "", jobs.PullCheck{Owner: "acme", Repo: "mesh", PR: 1, HeadSHA: "abc"})
	if err != nil {
		t.Fatal(err)
	}
	for _, reason := range []jobs.DeadReason{jobs.DeadAbandoned, jobs.DeadFailed, jobs.DeadUndecodable} {
		if _, _, ok := reg.DeadHook(j, reason, errors.New("x")); !ok {
			t.Errorf("no dead-letter hook for a %s check", reason)
		}
	}
}
