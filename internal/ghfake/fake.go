// Package ghfake is a local, faithful fake of the parts of GitHub's REST API
// meshbot uses. It serves repositories built from fixtures, issues
// installation tokens only for a valid app JWT, validates every request body
// against GitHub's own OpenAPI description and records what the App did
// (check runs, comments, reactions, every request) for tests to assert on.
//
// It is test support, not a _test.go file, so that every package's tests can
// drive the App against it:
//
//	f := ghfake.New(ghfake.Options{Spec: spec, AppID: 1, PublicKey: &key.PublicKey})
//	defer f.Close()
//	f.AddInstallation(7, "acme")
//	r := f.AddRepo(7, "acme/mesh", "main")
//	r.CommitDir("main", "testdata/mesh")
//	r.Commit("change", files) // a full snapshot on a new branch
//	pr := r.OpenPullRequest(1, "main", "change")
//	// ... point the App at f.URL() with f.Client(), deliver, then:
//	runs := f.CheckRuns("acme/mesh")
//	if v := f.Violations(); len(v) > 0 { t.Errorf("GitHub would refuse: %q", v) }
//
// Where GitHub's behaviour goes beyond the JSON schema (50 annotations per
// request, 65,535-character outputs, columns only on one line, the head SHA
// must exist, 1 MB contents limit, 3,000 pull-request files, 300 compare
// files, 100 per page) the fake enforces it too.
package ghfake

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configure a Fake.
type Options struct {
	// Spec is the contents of GitHub's openapi-subset.json. Every request
	// body is validated against its operation's requestBody schema.
	Spec []byte
	// AppID and PublicKey identify the App whose JWTs are accepted.
	AppID     int64
	PublicKey *rsa.PublicKey
	// PathPrefix is "" for the api.github.com layout and "/api/v3" for
	// GitHub Enterprise Server.
	PathPrefix string
	// AppSlug names the App in responses; default "meshbot".
	AppSlug string
	// MaxTreeEntries is where a recursive tree is cut and marked truncated
	// (GitHub: 100,000 entries); tests lower it to exercise the fallback.
	MaxTreeEntries int
}

// Request is one request the fake answered.
type Request struct {
	Method string
	Path   string // without the GHES prefix
	Query  string
	Status int
	Time   time.Time
}

// Annotation is a check-run annotation as GitHub receives it.
type Annotation struct {
	Path            string `json:"path"`
	StartLine       int    `json:"start_line"`
	EndLine         int    `json:"end_line"`
	StartColumn     int    `json:"start_column,omitempty"`
	EndColumn       int    `json:"end_column,omitempty"`
	AnnotationLevel string `json:"annotation_level"`
	Title           string `json:"title,omitempty"`
	Message         string `json:"message"`
	RawDetails      string `json:"raw_details,omitempty"`
}

// CheckRunUpdate is one accepted create or update of a check run, in order.
type CheckRunUpdate struct {
	Op          string // "create" or "update"
	Status      string // status after the request
	Conclusion  string
	Title       string
	Annotations int // annotations this request carried
}

// CheckRun is the recorded state of a check run.
type CheckRun struct {
	ID          int64
	Name        string
	HeadSHA     string
	ExternalID  string
	DetailsURL  string
	Status      string
	Conclusion  string
	StartedAt   time.Time
	CompletedAt time.Time
	Title       string
	Summary     string
	Text        string
	// Annotations accumulates every batch, as GitHub appends them.
	Annotations []Annotation
	// Batches holds the size of each non-empty annotations batch received.
	Batches []int
	Updates []CheckRunUpdate
}

// Comment is an issue or pull-request comment.
type Comment struct {
	ID        int64
	Issue     int
	User      string
	Body      string
	CreatedAt time.Time
}

type installation struct {
	id      int64
	account string
	created time.Time
}

type token struct {
	installation int64
	expires      time.Time
}

type failure struct {
	status  int
	headers http.Header
}

type pathFailure struct {
	id             int
	method, prefix string
	status         int
}

type comment struct {
	Comment
	repo      *Repo
	reactions []reaction
}

type reaction struct {
	id      int64
	user    string
	content string
	created time.Time
}

// Fake is a running fake GitHub API.
type Fake struct {
	opts Options
	srv  *httptest.Server
	spec *spec

	mu            sync.Mutex
	clock         int64 // advances per commit so commit times are deterministic
	nextID        int64
	hooks         hooks // the App webhook's deliveries (deliveries.go)
	installations map[int64]*installation
	repos         map[string]*Repo
	tokens        map[string]*token
	checkRuns     map[int64]*checkRunState
	comments      map[int64]*comment
	teams         map[string]map[string]teamMember // teamKey -> login -> membership (teams.go)
	violations    []string
	failures      []failure
	pathFailures  []pathFailure // the oldest matching one answers
	nextFailure   int
	rateUsed      int

	reqMu     sync.Mutex // guards requests; see middleware
	requests  []Request
	exhausted map[int64]time.Time // installation -> when its spent primary rate limit resets
	now       func() time.Time    // the clock exhausted limits reset by
}

// New starts a fake. It panics when opts.Spec is missing or unusable, which
// is a mistake in the test's setup, not a condition to handle.
func New(opts Options) *Fake {
	if len(opts.Spec) == 0 {
		panic("ghfake: Options.Spec (openapi-subset.json) is required")
	}
	sp, err := loadSpec(opts.Spec)
	if err != nil {
		panic("ghfake: " + err.Error())
	}
	if opts.AppSlug == "" {
		opts.AppSlug = "meshbot"
	}
	if opts.MaxTreeEntries <= 0 {
		opts.MaxTreeEntries = 100000
	}
	opts.PathPrefix = strings.TrimRight(opts.PathPrefix, "/")
	f := &Fake{
		opts:          opts,
		spec:          sp,
		nextID:        1000,
		installations: map[int64]*installation{},
		repos:         map[string]*Repo{},
		tokens:        map[string]*token{},
		checkRuns:     map[int64]*checkRunState{},
		comments:      map[int64]*comment{},
		exhausted:     map[int64]time.Time{},
		now:           time.Now,
	}
	api := http.NewServeMux()
	if err := f.routes(api); err != nil {
		panic("ghfake: " + err.Error())
	}
	var h http.Handler = api
	if opts.PathPrefix != "" {
		outer := http.NewServeMux()
		outer.Handle(opts.PathPrefix+"/", http.StripPrefix(opts.PathPrefix, api))
		h = outer
	}
	f.srv = httptest.NewServer(f.middleware(h))
	return f
}

// Close stops the server.
func (f *Fake) Close() { f.srv.Close() }

// URL is the API base URL to give the client, ending with "/" (and with
// the GHES prefix when there is one).
func (f *Fake) URL() string { return f.srv.URL + f.opts.PathPrefix + "/" }

// Client is an http.Client that reaches the fake.
func (f *Fake) Client() *http.Client { return f.srv.Client() }

func (f *Fake) id() int64 {
	f.nextID++
	return f.nextID
}

// AddInstallation registers an installation of the App on an account.
func (f *Fake) AddInstallation(id int64, account string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.installations[id] = &installation{id: id, account: account, created: epoch}
}

// AddRepo creates an empty repository in an installation.
func (f *Fake) AddRepo(installationID int64, fullName, defaultBranch string) *Repo {
	f.mu.Lock()
	defer f.mu.Unlock()
	owner, name, _ := strings.Cut(fullName, "/")
	r := &Repo{
		f:             f,
		id:            f.id(),
		owner:         owner,
		name:          name,
		defaultBranch: defaultBranch,
		installation:  installationID,
		branches:      map[string]string{},
		commits:       map[string]*commit{},
		trees:         map[string]*tree{},
		blobs:         map[string][]byte{},
		pulls:         map[int]*PullRequest{},
		issues:        map[int]bool{},
		perms:         map[string]string{},
		diffs:         map[[2]string][]fileChange{},
	}
	f.repos[strings.ToLower(fullName)] = r
	return r
}

// Requests lists every request answered so far.
func (f *Fake) Requests() []Request {
	f.reqMu.Lock()
	defer f.reqMu.Unlock()
	return append([]Request(nil), f.requests...)
}

// Violations lists request bodies GitHub would have refused, with why.
func (f *Fake) Violations() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.violations...)
}

// FailNext makes the next n requests fail with status and headers (for
// example 502; 403 with Retry-After; 403 with X-RateLimit-Remaining: 0).
func (f *Fake) FailNext(n int, status int, headers http.Header) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range n {
		f.failures = append(f.failures, failure{status: status, headers: headers.Clone()})
	}
}

// FailPath makes every request of method whose path (without the GHES
// prefix) starts with prefix fail with status until stop is called: a fault
// confined to one repository or endpoint ("/repos/acme/a/", or
// "/repos/acme/a/git/ref/heads/main"), however often the App retries.
func (f *Fake) FailPath(method, prefix string, status int) (stop func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextFailure++
	id := f.nextFailure
	f.pathFailures = append(f.pathFailures, pathFailure{id: id, method: method, prefix: prefix, status: status})
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.pathFailures = slices.DeleteFunc(f.pathFailures, func(pf pathFailure) bool { return pf.id == id })
	}
}

// CheckRuns returns the check runs of a repository in creation order.
func (f *Fake) CheckRuns(repo string) []CheckRun {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []CheckRun
	for _, cr := range f.checkRuns {
		if strings.EqualFold(cr.repo.fullName(), repo) {
			out = append(out, cr.snapshot())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Comments returns the comments on an issue or pull request, oldest first.
func (f *Fake) Comments(repo string, issue int) []Comment {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Comment
	for _, c := range f.comments {
		if strings.EqualFold(c.repo.fullName(), repo) && c.Issue == issue {
			out = append(out, c.Comment)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// AddComment records a comment made by a person (the one a delivery would
// carry), so the App can react to it. It returns the comment's id.
func (f *Fake) AddComment(repo string, issue int, user, body string) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.repos[strings.ToLower(repo)]
	if r == nil {
		panic("ghfake: AddComment on unknown repository " + repo)
	}
	c := &comment{Comment: Comment{ID: f.id(), Issue: issue, User: user, Body: body, CreatedAt: epoch}, repo: r}
	f.comments[c.ID] = c
	return c.ID
}

// Reactions returns the reaction contents on a comment, in order.
func (f *Fake) Reactions(repo string, commentID int64) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.comments[commentID]
	if c == nil || !strings.EqualFold(c.repo.fullName(), repo) {
		return nil
	}
	var out []string
	for _, r := range c.reactions {
		out = append(out, r.content)
	}
	return out
}

func (f *Fake) newToken(inst int64) (string, time.Time) {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	tok := "ghs_" + fmt.Sprintf("%x", b)[:36]
	exp := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	f.tokens[tok] = &token{installation: inst, expires: exp}
	return tok, exp
}

// statusWriter records its request when the status is decided, before any
// byte of the answer leaves: a client holding the answer must find the
// request in Requests(), or a test counting pages races the recorder.
type statusWriter struct {
	http.ResponseWriter
	status int
	record func(status int)
}

func (w *statusWriter) decide(code int) {
	if w.status == 0 {
		w.status = code
		w.record(code)
	}
}

func (w *statusWriter) WriteHeader(code int) {
	w.decide(code)
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.decide(http.StatusOK)
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (Flush).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// ExhaustRateLimit spends the installation's primary rate limit until
// reset: every request with one of its tokens is refused as GitHub does
// (403, X-RateLimit-Remaining: 0, X-RateLimit-Reset) until the fake's clock
// (SetClock) reaches reset.
func (f *Fake) ExhaustRateLimit(installation int64, reset time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.exhausted[installation] = reset
}

// SetClock replaces the clock exhausted rate limits reset by (default
// time.Now), so a test sees an hour's reset without waiting for it.
func (f *Fake) SetClock(now func() time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = now
}

// spentUntil is the reset of the exhausted rate limit of the installation
// whose token authorizes r, if any. The caller holds mu.
func (f *Fake) spentUntil(r *http.Request) (time.Time, bool) {
	scheme, cred, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "token") && !strings.EqualFold(scheme, "Bearer") {
		return time.Time{}, false
	}
	t := f.tokens[cred]
	if t == nil {
		return time.Time{}, false
	}
	reset, ok := f.exhausted[t.installation]
	if !ok || !f.now().Before(reset) {
		return time.Time{}, false
	}
	return reset, true
}

// middleware records every request, injects failures and sets the
// rate-limit headers GitHub sends on every answer.
func (f *Fake) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := strings.TrimPrefix(r.URL.Path, f.opts.PathPrefix)
		// Handlers answer with f.mu held, so the record has a lock of its own.
		sw := &statusWriter{ResponseWriter: w, record: func(status int) {
			f.reqMu.Lock()
			defer f.reqMu.Unlock()
			f.requests = append(f.requests, Request{Method: r.Method, Path: p, Query: r.URL.RawQuery, Status: status, Time: time.Now()})
		}}
		// A handler that writes nothing is answered 200 once it returns.
		defer sw.decide(http.StatusOK)
		f.mu.Lock()
		f.rateUsed++
		used := f.rateUsed
		var fail *failure
		if len(f.failures) > 0 {
			fail = &f.failures[0]
			f.failures = f.failures[1:]
		}
		for _, pf := range f.pathFailures {
			if fail == nil && pf.method == r.Method && strings.HasPrefix(p, pf.prefix) {
				fail = &failure{status: pf.status}
			}
		}
		reset, spent := f.spentUntil(r)
		f.mu.Unlock()
		h := sw.Header()
		h.Set("X-GitHub-Media-Type", "github.v3; format=json")
		h.Set("X-GitHub-Request-Id", fmt.Sprintf("FAKE:%06d", used))
		h.Set("X-RateLimit-Limit", "5000")
		h.Set("X-RateLimit-Remaining", strconv.Itoa(max(0, 5000-used%5000)))
		h.Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10))
		h.Set("X-RateLimit-Used", strconv.Itoa(used%5000))
		h.Set("X-RateLimit-Resource", "core")
		if spent {
			fail = &failure{status: http.StatusForbidden, headers: http.Header{
				"X-Ratelimit-Remaining": {"0"},
				"X-Ratelimit-Reset":     {strconv.FormatInt(reset.Unix(), 10)},
			}}
		}
		if fail != nil {
			_, _ = io.Copy(io.Discard, r.Body)
			for k, vs := range fail.headers {
				h[k] = vs
			}
			writeJSON(sw, fail.status, map[string]any{
				"message":           failureMessage(fail.status, fail.headers),
				"documentation_url": "https://docs.github.com/rest",
			})
			return
		}
		next.ServeHTTP(sw, r)
	})
}

func failureMessage(status int, h http.Header) string {
	switch {
	case h.Get("X-RateLimit-Remaining") == "0":
		return "API rate limit exceeded for installation."
	case h.Get("Retry-After") != "":
		return "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
	case status >= 500:
		return "Server Error"
	}
	return http.StatusText(status)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b := mustJSON(v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// readBody reads a request body with the cap GitHub applies to API calls.
func readBody(r *http.Request) ([]byte, error) {
	const limit = 25 << 20
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if len(b) > limit {
		return nil, fmt.Errorf("body over %d bytes", limit)
	}
	return bytes.TrimSpace(b), nil
}

func decodeInto(raw []byte, v any) error {
	if len(raw) == 0 {
		return nil
	}
	return json.Unmarshal(raw, v)
}
