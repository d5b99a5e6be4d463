// Package webhook is meshbot's HTTP intake: it reads GitHub deliveries
// (capped at GitHub's 25 MB), verifies their signature before anything else,
// de-duplicates redeliveries, routes each event to jobs and acknowledges only
// once those jobs are durably enqueued. It also serves /healthz, /readyz and
// /metrics.
//
// Hostile input. Until its signature is verified a request is anyone's, so
// what it may cost is bounded: no body without a well-formed signature header
// or over the cap is read, the bodies being read share a memory budget
// (beyond it: 503 unread), a body has BodyTimeout to arrive, the HMAC is
// computed as the bytes stream into a pooled buffer, and refusals are logged
// at a bounded rate (see body.go and refusals.go).
//
// Redelivery. The delivery id, the newest head SHAs and the jobs of one
// delivery are written in one atomic step (store.EnqueueDelivery), only when
// the id is new: two copies of a delivery, concurrent or later, never both
// enqueue, and a store failure records nothing, so the delivery is answered
// 503 and GitHub's redelivery goes through. No window loses work.
package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/meshbot/meshbot/internal/metrics"
	"github.com/meshbot/meshbot/internal/store"
)

// MaxBody is the largest delivery GitHub sends: it caps payloads at 25 MB.
const MaxBody = 25 << 20

// DefaultDedupTTL is how long a delivery id is remembered. GitHub lets a
// delivery be redelivered for three days.
const DefaultDedupTTL = 72 * time.Hour

// DefaultBodyBudget bounds the bytes of delivery bodies held in memory at
// once, across all requests: two deliveries of GitHub's largest size fit, and
// hundreds of ordinary ones (tens of kilobytes each).
const DefaultBodyBudget = 64 << 20

// DefaultBodyTimeout is how long a delivery's body may take to arrive once
// its headers are in. GitHub itself gives up on a delivery that is not
// answered within 10 seconds, so a slower body is a failed delivery anyway,
// and a client that trickles one must not hold a connection and budget.
const DefaultBodyTimeout = 10 * time.Second

// ReadHeaderTimeout is the time the server should allow for a request's
// headers (http.Server.ReadHeaderTimeout): the body's time is bounded by the
// intake itself (BodyTimeout).
const ReadHeaderTimeout = 10 * time.Second

// storeTimeout bounds the store writes of one delivery. They run detached
// from the request's context: once started they finish, even when GitHub
// hangs up or the server shuts down, so a delivery is never half recorded
// because a client went away.
const storeTimeout = 5 * time.Second

// Sink is the part of the store the intake writes to.
type Sink interface {
	EnqueueDelivery(ctx context.Context, d store.Delivery) (bool, error)
}

// Options configure the intake.
type Options struct {
	// Secret is the webhook secret; deliveries not signed with it are refused.
	Secret []byte
	Sink   Sink
	// Ready are the readiness checks of /readyz by name (e.g. "store",
	// "policy"); each must answer quickly.
	Ready   map[string]func(context.Context) error
	Metrics *metrics.Metrics // nil: no metrics, /metrics answers 404
	Logger  *slog.Logger
	// DedupTTL defaults to DefaultDedupTTL; MaxBody to MaxBody.
	DedupTTL time.Duration
	MaxBody  int64
	// BodyBudget is the bytes of bodies held in memory at once by all
	// requests (default DefaultBodyBudget); at least MaxBody. A request
	// that would exceed it is answered 503 without reading its body.
	BodyBudget int64
	// BodyTimeout bounds the time a body takes to arrive (default
	// DefaultBodyTimeout); a slower one is answered 408.
	BodyTimeout time.Duration
	// RefusalLogInterval is how often refusals of unauthenticated requests
	// are summed up in the log (default DefaultRefusalLogInterval).
	RefusalLogInterval time.Duration
}

// Intake handles webhook deliveries.
type Intake struct {
	secret   []byte
	sink     Sink
	ready    map[string]func(context.Context) error
	metrics  *metrics.Metrics
	log      *slog.Logger
	dedupTTL time.Duration
	maxBody  int64

	budget      *budget
	pools       *bufPools
	bodyTimeout time.Duration
	refusals    *refusalLog
	events      map[string]bool // the event label values besides metrics.EventOther
}

// New validates opts and returns the intake.
func New(opts Options) (*Intake, error) {
	if len(opts.Secret) == 0 {
		return nil, errors.New("webhook: a secret is required")
	}
	if opts.Sink == nil {
		return nil, errors.New("webhook: a store is required")
	}
	in := &Intake{
		secret:   opts.Secret,
		sink:     opts.Sink,
		ready:    opts.Ready,
		metrics:  opts.Metrics,
		log:      opts.Logger,
		dedupTTL: opts.DedupTTL,
		maxBody:  opts.MaxBody,
	}
	if in.log == nil {
		in.log = slog.Default()
	}
	if in.dedupTTL <= 0 {
		in.dedupTTL = DefaultDedupTTL
	}
	if in.maxBody <= 0 {
		in.maxBody = MaxBody
	}
	limit := opts.BodyBudget
	if limit <= 0 {
		limit = max(DefaultBodyBudget, in.maxBody+1)
	}
	if limit <= in.maxBody {
		return nil, fmt.Errorf("webhook: body budget %d bytes cannot hold one body of the %d-byte cap", limit, in.maxBody)
	}
	in.budget = &budget{limit: limit}
	in.pools = &bufPools{}
	in.bodyTimeout = opts.BodyTimeout
	if in.bodyTimeout <= 0 {
		in.bodyTimeout = DefaultBodyTimeout
	}
	in.refusals = newRefusalLog(in.log, opts.RefusalLogInterval)
	in.events = map[string]bool{"ping": true}
	for _, e := range HandledEvents() {
		in.events[e] = true
	}
	return in, nil
}

// eventLabel is event as the metrics label: a signed delivery may still
// name any event (GitHub adds new ones), and each label value would be a
// series kept forever.
func (in *Intake) eventLabel(event string) string {
	if in.events[event] {
		return event
	}
	return metrics.EventOther
}

// Router returns a gin engine serving POST /webhook, GET /healthz, GET
// /readyz and GET /metrics. Callers may add routes to it.
func (in *Intake) Router() *gin.Engine {
	r := gin.New()
	r.Use(gin.Recovery())
	r.POST("/webhook", in.Webhook)
	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	r.GET("/readyz", in.Readyz)
	if in.metrics != nil {
		r.GET("/metrics", gin.WrapH(in.metrics.Handler()))
	}
	return r
}

// Readyz answers 200 when every readiness check passes, 503 otherwise, with
// each check's result.
func (in *Intake) Readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	status, results := http.StatusOK, gin.H{}
	for name, check := range in.ready {
		if err := check(ctx); err != nil {
			status = http.StatusServiceUnavailable
			results[name] = err.Error()
			continue
		}
		results[name] = "ok"
	}
	c.JSON(status, results)
}

// Webhook handles POST /webhook.
func (in *Intake) Webhook(c *gin.Context) {
	start := time.Now()
	event := ""
	log := in.log.With("delivery", c.GetHeader("X-GitHub-Delivery"))
	answer := func(outcome string, status int, body any) {
		c.JSON(status, body)
		label := ""
		if event != "" {
			label = in.eventLabel(event)
		}
		in.metrics.Delivery(label, outcome, time.Since(start))
	}
	// refuse answers a request refused before its signature was verified.
	refuse := func(outcome string, status int, msg string) {
		in.refusals.refused(outcome, c.ClientIP(), c.Request.ContentLength)
		answer(outcome, status, gin.H{"error": msg})
	}

	// The body has BodyTimeout to arrive, whatever the server's own
	// timeouts. The deadline is lifted once the body is in, for the answer
	// and the next request on the connection; a refused request keeps it,
	// so the server's reading of an unread rest after the answer is
	// bounded too.
	rc := http.NewResponseController(c.Writer)
	deadline := rc.SetReadDeadline(time.Now().Add(in.bodyTimeout)) == nil

	if c.Request.ContentLength > in.maxBody {
		c.Header("Connection", "close")
		refuse(metrics.OutcomeTooLarge, http.StatusRequestEntityTooLarge, "payload exceeds 25 MB")
		return
	}
	want, ok := parseSignature(c.GetHeader("X-Hub-Signature-256"))
	if !ok {
		refuse(metrics.OutcomeUnauthorized, http.StatusUnauthorized, "missing or invalid X-Hub-Signature-256")
		return
	}
	mac := hmac.New(sha256.New, in.secret)
	b, err := readBody(c.Request.Body, c.Request.ContentLength, in.maxBody, mac, in.budget, in.pools)
	if err != nil {
		switch {
		case errors.Is(err, errTooLarge):
			c.Header("Connection", "close")
			refuse(metrics.OutcomeTooLarge, http.StatusRequestEntityTooLarge, "payload exceeds 25 MB")
		case errors.Is(err, errBusy):
			// GitHub does not retry by itself; the delivery shows as
			// failed and can be redelivered. That beats the alternative:
			// memory for every body that arrives, until the process is
			// killed with every delivery in flight.
			c.Header("Connection", "close")
			c.Header("Retry-After", strconv.Itoa(int(math.Ceil(in.bodyTimeout.Seconds()))))
			refuse(metrics.OutcomeOverloaded, http.StatusServiceUnavailable, "too many deliveries in flight, redeliver later")
		case errors.Is(err, os.ErrDeadlineExceeded):
			c.Header("Connection", "close")
			refuse(metrics.OutcomeTimeout, http.StatusRequestTimeout, "body not received within "+in.bodyTimeout.String())
		default:
			refuse(metrics.OutcomeBadRequest, http.StatusBadRequest, "could not read body")
		}
		return
	}
	defer b.release()
	if deadline {
		_ = rc.SetReadDeadline(time.Time{})
	}
	if !hmac.Equal(want, mac.Sum(nil)) {
		refuse(metrics.OutcomeUnauthorized, http.StatusUnauthorized, "missing or invalid X-Hub-Signature-256")
		return
	}
	event = c.GetHeader("X-GitHub-Event")
	delivery := c.GetHeader("X-GitHub-Delivery")
	log = log.With("event", event)
	if event == "" || delivery == "" || !validDelivery(delivery) {
		log.Warn("webhook: missing or invalid X-GitHub-Event or X-GitHub-Delivery")
		answer(metrics.OutcomeBadRequest, http.StatusBadRequest, gin.H{"error": "X-GitHub-Event and X-GitHub-Delivery are required"})
		return
	}
	if event == "ping" {
		log.Info("webhook: ping")
		answer(metrics.OutcomePing, http.StatusOK, gin.H{"msg": "pong"})
		return
	}
	w, err := Route(delivery, event, b.bytes)
	b.release() // Route keeps copies; the budget need not wait for the store
	if err != nil {
		log.Warn("webhook: malformed delivery", "err", err)
		answer(metrics.OutcomeBadRequest, http.StatusBadRequest, gin.H{"error": err.Error()})
		return
	}
	log = log.With("action", w.Action, "installation", w.Installation, "repository", w.Repo)
	if len(w.Jobs) == 0 {
		log.Info("webhook: ignored", "reason", w.Ignored)
		answer(metrics.OutcomeIgnored, http.StatusAccepted, gin.H{"ignored": w.Ignored})
		return
	}

	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request.Context()), storeTimeout)
	defer cancel()
	d := store.Delivery{ID: delivery, TTL: in.dedupTTL, Jobs: w.Jobs}
	for _, h := range w.Heads {
		d.Heads = append(d.Heads, store.Head{Key: h.Key, SHA: h.SHA})
	}
	first, err := in.sink.EnqueueDelivery(ctx, d)
	if err != nil {
		log.Error("webhook: enqueue failed, answering 503 so GitHub shows a failed delivery to redeliver", "err", err)
		answer(metrics.OutcomeUnavailable, http.StatusServiceUnavailable, gin.H{"error": "store unavailable, redeliver later"})
		return
	}
	if !first {
		log.Info("webhook: redelivery already accepted")
		answer(metrics.OutcomeDuplicate, http.StatusAccepted, gin.H{"duplicate": true})
		return
	}
	for _, j := range w.Jobs {
		in.metrics.Enqueued(j.Kind)
	}
	log.Info("webhook: accepted", "jobs", len(w.Jobs), "took", time.Since(start))
	answer(metrics.OutcomeAccepted, http.StatusAccepted, gin.H{"jobs": len(w.Jobs)})
}

// Verify reports whether header is GitHub's X-Hub-Signature-256 for body:
// "sha256=" and the hex HMAC-SHA256 of the exact bytes under secret. The
// comparison is constant-time.
func Verify(secret, body []byte, header string) bool {
	got, ok := parseSignature(header)
	if !ok {
		return false
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

// parseSignature returns the digest of an X-Hub-Signature-256 value, or false
// when the value cannot be one: such a request is refused unread.
func parseSignature(header string) ([]byte, bool) {
	hexSum, ok := strings.CutPrefix(header, "sha256=")
	if !ok || len(hexSum) != 2*sha256.Size {
		return nil, false
	}
	got, err := hex.DecodeString(hexSum)
	if err != nil {
		return nil, false
	}
	return got, true
}

// Sign returns the X-Hub-Signature-256 value GitHub sends for body.
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// validDelivery bounds what becomes a store key and a job id: GitHub's
// delivery ids are GUIDs.
func validDelivery(id string) bool {
	if len(id) > 100 {
		return false
	}
	for _, c := range id {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
