package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/meshbot/meshbot/internal/config"
	"github.com/meshbot/meshbot/internal/jobs"
	"github.com/meshbot/meshbot/internal/metrics"
	"github.com/meshbot/meshbot/internal/policyeval"
	"github.com/meshbot/meshbot/internal/store"
	"github.com/meshbot/meshbot/internal/worker"
)

// Shutdown budget: GitHub waits 10s for an answer, so in-flight deliveries
// finish well within shutdownHTTP; jobs then get the worker's drain.
const (
	shutdownHTTP = 15 * time.Second
	drainJobs    = 25 * time.Second
)

func runServe(ctx context.Context, args []string, _, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintf(stderr, "meshbot serve takes no arguments; it reads its configuration from the environment (see README, \"Running meshbot serve\")\n")
		return exitUnusable
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	cfg, err := config.Load(os.Getenv, os.ReadFile)
	if err != nil {
		fmt.Fprintf(stderr, "meshbot serve: %v\n", err)
		return exitUnusable
	}
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		fmt.Fprintf(stderr, "meshbot serve: %v\n", err)
		return exitUnusable
	}
	defer st.Close()
	gin.SetMode(gin.ReleaseMode)
	if err := serve(ctx, cfg, st, serveDeps{Logger: log}); err != nil {
		var ce *policyeval.CompileError
		if errors.As(err, &ce) {
			printPolicyError(stderr, err)
			return exitUnusable
		}
		fmt.Fprintf(stderr, "meshbot serve: %v\n", err)
		return exitUnusable
	}
	return exitOK
}

func openStore(ctx context.Context, cfg *config.Config, log *slog.Logger) (store.Store, error) {
	if cfg.RedisURL == "" {
		log.Warn("single replica: in-memory store, jobs are lost on restart; set REDIS_URL for production")
		return store.NewMemory(store.Options{}), nil
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	st, err := store.NewRedis(cctx, cfg.RedisURL, store.Options{})
	if err != nil {
		return nil, fmt.Errorf("open the store at REDIS_URL=%s: %w", cfg.RedactedRedisURL(), err)
	}
	log.Info("store: redis", "url", cfg.RedactedRedisURL())
	return st, nil
}

// serveDeps are what tests replace.
type serveDeps struct {
	Logger *slog.Logger
	// Jobs replaces the registry of job handlers (tests); nil builds the
	// real one.
	Jobs *jobs.Registry
	// Listening is told the address once the server accepts connections.
	Listening func(addr string)
	Workers   int
	// PolicyPoll is how often the recorded active policy is read besides
	// the store's notices (default policyrepo.DefaultPoll).
	PolicyPoll time.Duration
}

// serve runs the intake and the worker pool until ctx ends, then shuts down
// in order: stop taking deliveries and let the ones in flight be answered
// (their jobs are enqueued before the 202), then stop the workers, which
// finish or hand back their jobs. The caller closes st.
//
// With Redis a handed-back job stays in the stream and is taken over after
// the visibility timeout by any replica. The memory store dies with the
// process, so serve first waits (up to the drain budget) for the queue to
// empty and logs what it could not finish.
func serve(ctx context.Context, cfg *config.Config, st store.Store, deps serveDeps) error {
	log := deps.Logger
	if log == nil {
		log = slog.Default()
	}
	pol, err := servePolicy(ctx, cfg, log)
	if err != nil {
		return err
	}
	m := metrics.New(st, log)
	m.SetPolicy(pol.Load().Version(), policySource(cfg))
	active := followPolicy(ctx, cfg, st, pol, m, log)
	handlers := deps.Jobs
	if handlers == nil {
		if handlers, err = jobHandlers(cfg, st, pol, active, m, log); err != nil {
			return err
		}
	}
	sweeper, err := recovery(cfg, st, log)
	if err != nil {
		return err
	}
	reminder, err := sunsetReminders(cfg, st, log)
	if err != nil {
		return err
	}
	router, err := routes(cfg, st, pol, m, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on MESHBOT_ADDR=%s: %w", cfg.Addr, err)
	}
	srv := httpServer(router, log)
	httpErr := make(chan error, 1)
	go func() { httpErr <- srv.Serve(ln) }()
	logListening(cfg, st, ln.Addr(), log)
	if deps.Listening != nil {
		deps.Listening(ln.Addr().String())
	}

	poolCtx, stopPool := context.WithCancel(context.WithoutCancel(ctx))
	defer stopPool()
	pool := worker.New(st, handlers, worker.Options{
		Workers: deps.Workers, Drain: drainJobs, Logger: log, Observe: m.JobDone,
	})
	poolErr := make(chan error, 1)
	go func() { poolErr <- pool.Run(poolCtx) }()
	followDone := make(chan struct{})
	if active != nil {
		go func() { defer close(followDone); active.Follow(poolCtx, deps.PolicyPoll) }()
	} else {
		close(followDone)
	}
	sweepDone := make(chan struct{})
	if sweeper != nil {
		// On start, then once per period across the replicas.
		tick := time.NewTicker(sweeper.Period())
		defer tick.Stop()
		go func() { defer close(sweepDone); sweeper.Run(poolCtx, tick.C) }()
	} else {
		close(sweepDone)
	}
	remindDone := make(chan struct{})
	if reminder != nil {
		tick := time.NewTicker(reminder.Period())
		defer tick.Stop()
		go func() { defer close(remindDone); reminder.Run(poolCtx, tick.C) }()
	} else {
		close(remindDone)
	}

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("meshbot serve: shutting down: no new deliveries, answering the ones in flight")
	case err := <-httpErr:
		runErr = fmt.Errorf("http server: %w", err)
	case err := <-poolErr:
		runErr = fmt.Errorf("worker pool: %w", err)
		poolErr <- err
	}
	err = shutdown(srv, st, stopPool, poolErr, runErr, log)
	<-sweepDone // stopPool ended it; the caller closes st next
	<-remindDone
	<-followDone
	return err
}

// shutdown stops the HTTP server (deliveries in flight are answered), lets
// the memory store's queue empty, then stops the workers and waits for
// them. runErr is what ended serve, if anything did.
func shutdown(srv *http.Server, st store.Store, stopPool context.CancelFunc, poolErr <-chan error, runErr error, log *slog.Logger) error {
	sctx, cancel := context.WithTimeout(context.Background(), shutdownHTTP)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Error("meshbot serve: deliveries still in flight at the deadline", "err", err)
	}
	if st.Kind() == "memory" {
		drainMemory(st, log)
	}
	stopPool()
	if err := <-poolErr; err != nil && runErr == nil && !errors.Is(err, store.ErrClosed) {
		runErr = fmt.Errorf("worker pool: %w", err)
	}
	log.Info("meshbot serve: stopped")
	return runErr
}

// drainMemory waits for the memory store's queue to empty: nothing else
// will ever run those jobs. Retries waiting for their backoff are not
// waited for (that can be minutes); they are reported as lost.
func drainMemory(st store.Store, log *slog.Logger) {
	deadline := time.Now().Add(drainJobs)
	for {
		s, err := st.Stats(context.Background())
		if err != nil {
			return
		}
		if s.Pending+s.InFlight == 0 {
			if s.Delayed > 0 {
				log.Warn("memory store: jobs waiting for a retry are lost with this process", "delayed", s.Delayed)
			}
			return
		}
		if time.Now().After(deadline) {
			log.Warn("memory store: jobs not done are lost with this process", "pending", s.Pending, "in_flight", s.InFlight, "delayed", s.Delayed)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// displayAddr turns a wildcard listen address into one a newcomer can curl.
func displayAddr(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}
