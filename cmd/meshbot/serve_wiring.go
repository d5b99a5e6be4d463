package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/meshbot/meshbot/internal/backstage"
	"github.com/meshbot/meshbot/internal/commands"
	"github.com/meshbot/meshbot/internal/config"
	"github.com/meshbot/meshbot/internal/githubapp"
	"github.com/meshbot/meshbot/internal/index"
	"github.com/meshbot/meshbot/internal/jobs"
	"github.com/meshbot/meshbot/internal/metrics"
	"github.com/meshbot/meshbot/internal/policyeval"
	"github.com/meshbot/meshbot/internal/policyimpact"
	"github.com/meshbot/meshbot/internal/policyrepo"
	"github.com/meshbot/meshbot/internal/pullcheck"
	"github.com/meshbot/meshbot/internal/redeliver"
	"github.com/meshbot/meshbot/internal/reminders"
	"github.com/meshbot/meshbot/internal/store"
	"github.com/meshbot/meshbot/internal/webhook"
)

// This file builds what serve runs: the policy, the HTTP routes and server,
// and the job handlers. serve.go runs them and shuts them down.

// servePolicy loads the policy serve starts with and says which it is.
func servePolicy(ctx context.Context, cfg *config.Config, log *slog.Logger) (*policyeval.Swappable, error) {
	set, err := loadPolicy(ctx, cfg.PolicyDir)
	if err != nil {
		return nil, err
	}
	log.Info("policy loaded", "source", policySource(cfg), "version", set.Version(), "rules", set.Rules(), "engine", set.Engine())
	return policyeval.NewSwappable(set.WithOrigin(policyeval.Origin{Source: policySource(cfg)})), nil
}

// followPolicy switches pol to the policy repository's recorded active
// commit, when there is one, and returns what keeps following it; nil
// without a policy repository.
func followPolicy(ctx context.Context, cfg *config.Config, st store.Store, pol *policyeval.Swappable, m *metrics.Metrics, log *slog.Logger) *policyrepo.Active {
	if cfg.PolicyRepo() == "" {
		return nil
	}
	a := policyrepo.NewActive(pol, st, policyrepo.ActiveOptions{Repo: cfg.PolicyRepo(), WebURL: backstage.WebURL(cfg.APIURL), Metrics: m, Logger: log})
	if err := a.Sync(ctx); err != nil {
		log.Error("policy repository: the recorded active policy could not be loaded; the policy above judges until the next activation", "repo", cfg.PolicyRepo(), "err", err)
	}
	if rec := a.Record(); rec.Commit == "" {
		log.Info("policy repository: no commit of it is active yet; the policy above judges until a push to its default branch", "repo", cfg.PolicyRepo())
	}
	return a
}

func policySource(cfg *config.Config) string {
	if cfg.PolicyDir != "" {
		return cfg.PolicyDir
	}
	return "bundled"
}

// routes is every HTTP endpoint of serve: the webhook intake with health
// and metrics, and the Backstage provider endpoint.
func routes(cfg *config.Config, st store.Store, pol *policyeval.Swappable, m *metrics.Metrics, log *slog.Logger) (*gin.Engine, error) {
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
		return nil, err
	}
	router := in.Router()
	if cfg.BackstageToken == "" && len(cfg.BackstageOrgTokens) == 0 {
		log.Info("backstage provider endpoint off: set MESHBOT_BACKSTAGE_TOKEN to serve GET " + backstage.Path)
	}
	router.GET(backstage.Path, backstage.NewHandler(st, backstage.HandlerOptions{
		Token: cfg.BackstageToken, OrgTokens: cfg.BackstageOrgTokens, Entities: backstage.Options{GitHubURL: backstage.WebURL(cfg.APIURL)}, Logger: log,
	}))
	return router, nil
}

// httpServer serves h with timeouts that keep a stalled client from holding
// a connection for ever.
func httpServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: webhook.ReadHeaderTimeout,
		// A delivery's body has webhook.DefaultBodyTimeout (the intake sets it); this bounds the rest.
		ReadTimeout:  2 * time.Minute,
		WriteTimeout: 2 * time.Minute,
		IdleTimeout:  2 * time.Minute,
		ErrorLog:     slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

func logListening(cfg *config.Config, st store.Store, addr net.Addr, log *slog.Logger) {
	log.Info("meshbot serve: listening", "addr", addr.String(), "store", st.Kind(), "github_api", cfg.APIURL, "app", cfg.AppID)
	if cfg.DevSecret {
		log.Info("next: send a signed sample delivery with  GITHUB_WEBHOOK_SECRET=" + string(cfg.WebhookSecret) +
			" scripts/sample-delivery.sh http://" + displayAddr(addr) + "/webhook  and see README \"Installing the GitHub App\" to connect a real App")
	}
}

// jobHandlers are the handlers of every job kind. Without a GitHub App each
// fails permanently with a message saying so, so the job is dead-lettered
// (visible in logs and metrics) instead of retried for nothing.
//
// Each installation's rate limit, the jobs waiting for its reset and the
// API calls per check go to m (/metrics).
func jobHandlers(cfg *config.Config, st store.Store, pol *policyeval.Swappable, active *policyrepo.Active, m *metrics.Metrics, log *slog.Logger) (*jobs.Registry, error) {
	reg := jobs.NewRegistry()
	if !cfg.HasApp() {
		log.Warn("no GitHub App configured (GITHUB_APP_ID): deliveries are accepted, but every job that needs GitHub fails; see README \"Installing the GitHub App\"")
		reg.Otherwise(noApp(log))
		return reg, nil
	}
	budgets := githubapp.NewBudgets(nil)
	app, err := githubapp.NewApp(githubapp.Config{AppID: cfg.AppID, PrivateKey: cfg.PrivateKey, BaseURL: cfg.APIURL, Logger: log, Budgets: budgets})
	if err != nil {
		return nil, fmt.Errorf("GitHub App %d (key from %s): %w", cfg.AppID, cfg.KeySource, err)
	}
	m.WatchBudgets(budgets)
	ix := index.NewIndexer(index.Deps{GitHub: app, Registry: st, Queue: st, Marks: st, Logger: log})
	// The policy repository's own pull requests and pushes go to guild (nil without one).
	guild := policyrepo.New(policyrepo.Deps{Repo: cfg.PolicyRepo(), GitHub: app, Pulls: app, Store: st, Active: active, Budgets: budgets, Metrics: m, Logger: log})
	guild.SetPreview(impactPreview(cfg, st, pol, log))
	checkDeps := pullcheck.Deps{GitHub: app, Store: st, Policy: pol, Logger: log, Metrics: m}
	jobs.Register(reg, jobs.KindPullCheck, m.CountedCheck(budgets, guild.DivertChecks(pullcheck.New(checkDeps))))
	// A check dead-lettered for any reason (its workers died or hung until
	// its attempts ran out, a payload that does not decode) completes its
	// check run rather than leave it in progress.
	jobs.OnDead(reg, jobs.KindPullCheck, pullcheck.NewDeadHook(checkDeps))
	jobs.Register(reg, jobs.KindIndex, metrics.Waiting(budgets, guild.DivertIndex(ix.HandleIndex)))
	jobs.Register(reg, jobs.KindPurge, metrics.Waiting(budgets, ix.HandlePurge))
	jobs.Register(reg, jobs.KindCommand, metrics.Waiting(budgets, commands.New(commands.Deps{GitHub: app, Queue: st, Latest: st, Logger: log, Registry: st, Policy: pol, Approvals: st, Marks: st})))
	if guild != nil {
		jobs.Register(reg, jobs.KindPolicyRecheck, metrics.Waiting(budgets, guild.HandleRecheck))
	}
	return reg, nil
}

// noApp fails every job permanently, saying why, when no App is
// configured: every kind of job needs GitHub.
func noApp(log *slog.Logger) func(context.Context, store.Job) error {
	return func(_ context.Context, j store.Job) error {
		log.Error("job needs GitHub but no GitHub App is configured: set GITHUB_APP_ID, GITHUB_PRIVATE_KEY(_FILE) and GITHUB_WEBHOOK_SECRET", "job", j.ID, "kind", j.Kind)
		return store.Permanent(errors.New("no GitHub App configured"))
	}
}

// recovery is the sweep that brings back deliveries GitHub could not hand
// over while no replica was up, and checks open pull requests left without
// a check run (internal/redeliver); nil without a GitHub App.
func recovery(cfg *config.Config, st store.Store, log *slog.Logger) (*redeliver.Sweeper, error) {
	if !cfg.HasApp() {
		return nil, nil
	}
	app, err := githubapp.NewApp(githubapp.Config{AppID: cfg.AppID, PrivateKey: cfg.PrivateKey, BaseURL: cfg.APIURL, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("GitHub App %d (key from %s): %w", cfg.AppID, cfg.KeySource, err)
	}
	host, _ := os.Hostname()
	return redeliver.New(app, st, redeliver.Options{
		Holder:    fmt.Sprintf("%s-%d", host, os.Getpid()),
		CheckName: pullcheck.CheckName,
		DedupTTL:  webhook.DefaultDedupTTL,
		Logger:    log,
	})
}

// sunsetReminders reminds the consumers of deprecated products and ports of
// the sunset (internal/reminders); nil without a GitHub App or with
// MESHBOT_DEPRECATION_REMINDERS=off.
func sunsetReminders(cfg *config.Config, st store.Store, log *slog.Logger) (*reminders.Scheduler, error) {
	if !cfg.HasApp() || len(cfg.ReminderDays) == 0 {
		return nil, nil
	}
	app, err := githubapp.NewApp(githubapp.Config{AppID: cfg.AppID, PrivateKey: cfg.PrivateKey, BaseURL: cfg.APIURL, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("GitHub App %d (key from %s): %w", cfg.AppID, cfg.KeySource, err)
	}
	host, _ := os.Hostname()
	return reminders.New(app, st, reminders.Options{Holder: fmt.Sprintf("%s-%d", host, os.Getpid()), Days: cfg.ReminderDays, Logger: log})
}

// impactPreview is the policy repository check's impact section: the
// proposed policy and the active one over the installation's stored
// registry, with no GitHub call.
func impactPreview(cfg *config.Config, st store.Store, pol *policyeval.Swappable, log *slog.Logger) policyrepo.Preview {
	pv := policyimpact.New(policyimpact.Deps{Registry: st, Queue: st, Policy: pol, GitHubURL: backstage.WebURL(cfg.APIURL), Logger: log})
	return func(ctx context.Context, installation int64, proposed *policyeval.Set) (policyrepo.Section, error) {
		sec, err := pv.Section(ctx, installation, proposed)
		if err != nil {
			return policyrepo.Section{}, err
		}
		return policyrepo.Section{Title: sec.Title, Summary: sec.Markdown}, nil
	}
}
