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

	"github.com/meshbot/meshbot/internal/backstage"
	"github.com/meshbot/meshbot/internal/commands"
	"github.com/meshbot/meshbot/internal/config"
	"github.com/meshbot/meshbot/internal/github"
	"github.com/meshbot/meshbot/internal/index"
	"github.com/meshbot/meshbot/internal/jobs"
	"github.com/meshbot/meshbot/internal/metrics"
	"github.com/meshbot/meshbot/internal/policy"
	"github.com/meshbot/meshbot/internal/prcheck"
	"github.com/meshbot/meshbot/internal/store"
	"github.com/meshbot/meshbot/internal/webhook"
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
		var ce *policy.CompileError
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
	// Handlers replace every job handler (tests); nil builds the real ones.
	Handlers map[string]jobs.Handler
	// Listening is told the address once the server accepts connections.
	Listening func(addr string)
	Workers   int
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
	set, err := loadPolicy(ctx, cfg.PolicyDir)
	if err != nil {
		return err
	}
	pol := policy.NewSwappable(set)
	source := "bundled"
	if cfg.PolicyDir != "" {
		source = cfg.PolicyDir
	}
	log.Info("policy loaded", "source", source, "version", set.Version(), "rules", set.Rules(), "engine", set.Engine())
	if cfg.PolicyRepo() != "" {
		log.Info("policy repository configured; following it is not implemented yet, the policy above stays active", "repo", cfg.PolicyRepo())
	}
	if cfg.BackstageToken == "" && len(cfg.BackstageOrgTokens) == 0 {
		log.Info("backstage provider endpoint off: set MESHBOT_BACKSTAGE_TOKEN to serve GET " + backstage.Path)
	}
	m := metrics.New(st, log)
	m.SetPolicy(set.Version(), source)

	handlers := deps.Handlers
	if handlers == nil {
		if handlers, err = jobHandlers(cfg, st, pol, log); err != nil {
			return err
		}
	}
	if cfg.DevSecret {
		log.Warn("DEVELOPMENT MODE: no GitHub App and no GITHUB_WEBHOOK_SECRET configured; deliveries are verified with this generated secret, for sample deliveries only",
			"secret", string(cfg.WebhookSecret))
	}
	in, err := webhook.New(webhook.Options{
		Secret:  cfg.WebhookSecret,
		Sink:    st,
		Metrics: m,
		Logger:  log,
		Ready: map[string]func(context.Context) error{
			"store": st.Ping,
			"policy": func(context.Context) error {
				if pol.Load() == nil {
					return errors.New("no policy loaded")
				}
				return nil
			},
		},
	})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on MESHBOT_ADDR=%s: %w", cfg.Addr, err)
	}
	router := in.Router()
	router.GET(backstage.Path, backstage.NewHandler(st, backstage.HandlerOptions{
		Token: cfg.BackstageToken, OrgTokens: cfg.BackstageOrgTokens, Entities: backstage.Options{GitHubURL: backstage.WebURL(cfg.APIURL)}, Logger: log,
	}))
	srv := &http.Server{
		Handler:           router,
		ReadHeaderTimeout: 10 * time.Second,
		// 25 MB over a slow link still fits; a stalled client does not
		// hold a connection forever.
		ReadTimeout:  2 * time.Minute,
		WriteTimeout: 2 * time.Minute,
		IdleTimeout:  2 * time.Minute,
		ErrorLog:     slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	httpErr := make(chan error, 1)
	go func() { httpErr <- srv.Serve(ln) }()
	log.Info("meshbot serve: listening", "addr", ln.Addr().String(), "store", st.Kind(), "github_api", cfg.APIURL, "app", cfg.AppID)
	if cfg.DevSecret {
		log.Info("next: send a signed sample delivery with  GITHUB_WEBHOOK_SECRET=" + string(cfg.WebhookSecret) +
			" scripts/sample-delivery.sh http://" + displayAddr(ln.Addr()) + "/webhook  and see README \"Installing the GitHub App\" to connect a real App")
	}
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

// jobHandlers are the handlers of every job kind. Without a GitHub App each
// fails permanently with a message saying so, so the job is dead-lettered
// (visible in logs and metrics) instead of retried for nothing.
func jobHandlers(cfg *config.Config, st store.Store, pol *policy.Swappable, log *slog.Logger) (map[string]jobs.Handler, error) {
	if !cfg.HasApp() {
		log.Warn("no GitHub App configured (GITHUB_APP_ID): deliveries are accepted, but every job that needs GitHub fails; see README \"Installing the GitHub App\"")
		noApp := func(_ context.Context, j store.Job) error {
			log.Error("job needs GitHub but no GitHub App is configured: set GITHUB_APP_ID, GITHUB_PRIVATE_KEY(_FILE) and GITHUB_WEBHOOK_SECRET", "job", j.ID, "kind", j.Kind)
			return store.Permanent(errors.New("no GitHub App configured"))
		}
		return map[string]jobs.Handler{jobs.KindCheck: noApp, jobs.KindIndex: noApp, jobs.KindPurge: noApp, jobs.KindCommand: noApp}, nil
	}
	app, err := github.NewApp(github.Config{AppID: cfg.AppID, PrivateKey: cfg.PrivateKey, BaseURL: cfg.APIURL, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("GitHub App %d (key from %s): %w", cfg.AppID, cfg.KeySource, err)
	}
	ix := index.NewIndexer(index.Deps{GitHub: index.FromApp(app), Registry: st, Logger: log})
	return map[string]jobs.Handler{
		jobs.KindCheck:   prcheck.New(prcheck.Deps{GitHub: prcheck.FromApp(app), Store: st, Policy: pol, Logger: log}),
		jobs.KindIndex:   ix.HandleIndex,
		jobs.KindPurge:   ix.HandlePurge,
		jobs.KindCommand: commands.New(commands.Deps{GitHub: commands.FromApp(app), Queue: st, Latest: st, Logger: log}),
	}, nil
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
