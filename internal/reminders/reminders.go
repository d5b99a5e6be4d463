// Package reminders tells the consumers that still read a deprecated
// product or output port that its sunset is near: once at each threshold
// (by default 30 and 7 days before the sunset), one comment per consumer,
// mentioning the consumer's owning team (@org/team) so GitHub notifies it.
//
// Where the comment goes. GitHub's API subset meshbot is held to
// (../shared/external/github/openapi-subset.json) has no way to open an
// issue, so a reminder is a comment on an existing thread: the deprecation
// pull request (or the issue where /mesh deprecate was typed), which the
// deprecate command records with RecordThread, as does the check of a pull
// request that writes a deprecation by hand. The pull request is where
// the deprecation was announced and where every consumer was mentioned
// already; a reminder there reaches the same teams again. A target with no
// recorded thread gets no reminder (the sweep counts and logs it) and is
// looked at again on the next sweep, so recording the thread later still
// sends the reminder that is due then.
//
// Once across replicas, and never twice. Each sweep runs under a lease per
// period, so one replica does a period's work. Each reminder (installation
// × target × sunset × consumer × threshold) is then posted under a claim of
// its own (a lease of ClaimTTL) and followed by a mark; the comment carries
// a hidden marker with the same key. The steps are: claim; if the mark is
// there, done; if a comment on the thread carries the marker, set the mark,
// done; post; set the mark. A replica that dies after posting and before
// marking leaves its claim to expire; the next sweep finds the marker on
// the thread and only sets the mark. So a crash never double-posts and
// never loses a reminder. What remains: a post that takes longer than the
// claim (the post's own deadline is half of it) or a comment list that
// lags behind a comment just created, both far outside what GitHub does;
// the choice made there is the claim's length, not a second post.
//
// A changed sunset is a new deprecation: its reminders are sent afresh. A
// threshold whose day passed without a reminder (the deprecation was
// recorded late, or meshbot was down) is not sent late once a nearer
// threshold is due: only the nearest due threshold is posted.
package reminders

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/meshbot/meshbot/internal/githubapp"
	"github.com/meshbot/meshbot/internal/impact"
	"github.com/meshbot/meshbot/internal/mesh"
	"github.com/meshbot/meshbot/internal/store"
)

// Store is what the reminders read and keep: the registry of products and
// consumers, and the marks, claims and leases.
type Store interface {
	store.Marks
	Installations(ctx context.Context) ([]int64, error)
	Products(ctx context.Context, installation int64) ([]*mesh.Product, error)
}

// DefaultDays are the thresholds, in days before the sunset.
var DefaultDays = []int{30, 7}

// Options tune a Scheduler. Zero values take the defaults.
type Options struct {
	// Holder names this replica (unique per process, e.g. host-pid).
	Holder string
	// Days are the thresholds in days before the sunset; default
	// DefaultDays. Empty after New only when Disabled.
	Days []int
	// Period is how often a sweep runs, across all replicas; default 1h.
	Period time.Duration
	// ClaimTTL is how long one replica holds one reminder while it posts
	// it; default 10m.
	ClaimTTL time.Duration
	// MaxComments bounds the comments read on a thread to find an earlier
	// post of a reminder; default 3000.
	MaxComments int
	// Now is the clock (tests inject it); default time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if len(o.Days) == 0 {
		o.Days = DefaultDays
	}
	if o.Period <= 0 {
		o.Period = time.Hour
	}
	if o.ClaimTTL <= 0 {
		o.ClaimTTL = 10 * time.Minute
	}
	if o.MaxComments <= 0 {
		o.MaxComments = 3000
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Store keys (under store.Marks).
const (
	periodPrefix = "reminders:period:" // + the period's start (unix s)
	threadPrefix = "reminders:thread:" // + installation:target → "owner/repo#number"
	sentPrefix   = "reminders:sent:"   // + reminder key
	claimPrefix  = "reminders:claim:"  // + reminder key
	markerOpen   = "<!-- meshbot:reminder "
	markerClose  = " -->"
)

// Scheduler sends the reminders.
type Scheduler struct {
	gh   githubapp.Clients
	st   Store
	opts Options
	log  *slog.Logger
}

// New returns a Scheduler; opts.Holder is required and every threshold
// must be a positive number of days.
func New(gh githubapp.Clients, st Store, opts Options) (*Scheduler, error) {
	if opts.Holder == "" {
		return nil, errors.New("reminders: Options.Holder is required")
	}
	for _, d := range opts.Days {
		if d <= 0 {
			return nil, fmt.Errorf("reminders: threshold %d is not a positive number of days", d)
		}
	}
	opts = opts.withDefaults()
	opts.Days = slices.Clone(opts.Days)
	slices.Sort(opts.Days)
	opts.Days = slices.Compact(opts.Days)
	return &Scheduler{gh: gh, st: st, opts: opts, log: opts.Logger.With(slog.String("component", "reminders"))}, nil
}

// Period is how often Run should be ticked.
func (s *Scheduler) Period() time.Duration { return s.opts.Period }

// Run sweeps now and on every tick until ctx ends.
func (s *Scheduler) Run(ctx context.Context, tick <-chan time.Time) {
	for {
		if rep, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "reminders: sweep failed; the next period resumes it", "err", err)
		} else if rep.Posted > 0 || rep.NoThread > 0 {
			s.log.InfoContext(ctx, "reminders: sweep done", "posted", rep.Posted, "found_posted", rep.Found, "no_thread", rep.NoThread)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick:
		}
	}
}

// Report is what one sweep did.
type Report struct {
	Skipped  bool // another replica holds this period's sweep
	Due      int  // reminders due (consumer × target at a threshold)
	Posted   int  // comments posted
	Marked   int  // already marked as sent
	Found    int  // found on the thread (posted before a crash), marked now
	Busy     int  // claimed by another replica at this moment
	NoThread int  // due, but no thread is recorded to post them on
	Failed   int  // posts that failed (retried on the next sweep)
}

// Thread is an issue or pull request: where a target's reminders go.
type Thread struct {
	Repo   string // owner/name
	Number int
}

func (t Thread) String() string { return t.Repo + "#" + strconv.Itoa(t.Number) }

func parseThread(s string) (Thread, bool) {
	repo, num, ok := strings.Cut(s, "#")
	n, err := strconv.Atoi(num)
	if !ok || err != nil || n <= 0 || strings.Count(repo, "/") != 1 {
		return Thread{}, false
	}
	return Thread{Repo: repo, Number: n}, true
}

// Target names a deprecated product (Port "") or output port.
func targetKey(product, port string) string {
	if port == "" {
		return product
	}
	return product + "/" + port
}

// RecordThread remembers where the reminders about product/port (port ""
// for the product) of an installation are posted: the deprecation's pull
// request. The deprecate command calls it when it opens (or updates) that
// pull request; undeprecating needs no call (a target that is no longer
// deprecated gets no reminders).
func RecordThread(ctx context.Context, m store.Marks, installation int64, product, port string, t Thread) error {
	if _, ok := parseThread(t.String()); !ok {
		return fmt.Errorf("reminders: thread %q is not owner/name#number", t)
	}
	key := threadPrefix + strconv.FormatInt(installation, 10) + ":" + targetKey(product, port)
	if err := m.SetMark(ctx, key, t.String(), 0); err != nil {
		return fmt.Errorf("record the reminder thread of %s: %w", targetKey(product, port), err)
	}
	return nil
}

// reads is what one installation's sweep reads once for every consumer
// due a reminder of the same target: the target's recorded thread and the
// thread's comments. A reminder this sweep posts carries its own marker,
// which no other reminder of the sweep looks for, so comments read before
// it are as good as comments read after.
type reads struct {
	threads map[string]Thread   // target -> its thread; absent: not read yet
	bodies  map[Thread][]string // thread -> its comments' bodies
}

// thread finds the thread of a port, else of its product, once per sweep.
func (s *Scheduler) thread(ctx context.Context, r *reads, installation int64, product, port string) (Thread, bool, error) {
	target := targetKey(product, port)
	if t, ok := r.threads[target]; ok {
		return t, t.Number != 0, nil
	}
	t, ok, err := RecordedThread(ctx, s.st, installation, product, port)
	if err != nil {
		return Thread{}, false, err
	}
	r.threads[target] = t
	return t, ok, nil
}

// comments lists the bodies of a thread's comments, once per sweep.
func (s *Scheduler) comments(ctx context.Context, r *reads, gh githubapp.Installation, th Thread) ([]string, error) {
	if b, ok := r.bodies[th]; ok {
		return b, nil
	}
	owner, repo, _ := strings.Cut(th.Repo, "/")
	b, err := gh.CommentBodies(ctx, owner, repo, th.Number, s.opts.MaxComments)
	if err != nil {
		return nil, fmt.Errorf("reminders: read %s: %w", th, err)
	}
	r.bodies[th] = b
	return b, nil
}

// RecordedThread is the thread recorded for a port, else for its product.
func RecordedThread(ctx context.Context, m store.Marks, installation int64, product, port string) (Thread, bool, error) {
	keys := []string{targetKey(product, port)}
	if port != "" {
		keys = append(keys, product)
	}
	for _, k := range keys {
		v, err := m.Mark(ctx, threadPrefix+strconv.FormatInt(installation, 10)+":"+k)
		if err != nil {
			return Thread{}, false, err
		}
		if t, ok := parseThread(v); ok {
			return t, true, nil
		}
	}
	return Thread{}, false, nil
}

// Sweep sends the reminders due now, unless another replica holds this
// period.
func (s *Scheduler) Sweep(ctx context.Context) (Report, error) {
	now := s.opts.Now()
	start := now.Truncate(s.opts.Period)
	ok, err := s.st.Acquire(ctx, periodPrefix+strconv.FormatInt(start.Unix(), 10), s.opts.Holder, s.opts.Period)
	if err != nil {
		return Report{}, fmt.Errorf("reminders: take the period's lease: %w", err)
	}
	if !ok {
		return Report{Skipped: true}, nil
	}
	insts, err := s.st.Installations(ctx)
	if err != nil {
		return Report{}, fmt.Errorf("reminders: list installations: %w", err)
	}
	var rep Report
	var errs []error
	for _, inst := range insts {
		if err := s.installation(ctx, inst, now, &rep); err != nil {
			errs = append(errs, err)
		}
	}
	return rep, errors.Join(errs...)
}

// due is one reminder to send.
type due struct {
	product, port string
	dep           *mesh.Deprecation
	consumer      impact.Consumer
	repo          string // the consumer's repository
	days          int    // the threshold
	left          int    // days left until the sunset
}

func (d due) key(inst int64) string {
	return fmt.Sprintf("%d:%s@%s:%s:%d", inst, targetKey(d.product, d.port), d.dep.Sunset, d.consumer.Product, d.days)
}

// threshold is the nearest threshold due with left days to go, 0 when
// none is.
func (s *Scheduler) threshold(left int) int {
	if left <= 0 {
		return 0 // the sunset has come: enforcement, not reminders
	}
	for _, d := range s.opts.Days { // ascending
		if left <= d {
			return d
		}
	}
	return 0
}

func daysLeft(now time.Time, sunset time.Time) int {
	y, m, d := now.UTC().Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	return int(sunset.Sub(today).Hours() / 24)
}

func (s *Scheduler) installation(ctx context.Context, inst int64, now time.Time, rep *Report) error {
	products, err := s.st.Products(ctx, inst)
	if err != nil {
		return fmt.Errorf("reminders: products of installation %d: %w", inst, err)
	}
	g := impact.Build(products)
	var list []due
	add := func(product, port string, dep *mesh.Deprecation) {
		if dep == nil || dep.SunsetDate.IsZero() {
			return
		}
		left := daysLeft(now, dep.SunsetDate)
		th := s.threshold(left)
		if th == 0 {
			return
		}
		seen := map[string]bool{}
		for _, c := range g.ConsumersOf(product, port) {
			if seen[c.Product] || c.Product == product {
				continue // one reminder per consumer, whatever number of its ports read the target
			}
			seen[c.Product] = true
			repo := ""
			if cp := g.Product(c.Product); cp != nil {
				repo = cp.Repo
			}
			list = append(list, due{product: product, port: port, dep: dep, consumer: c, repo: repo, days: th, left: left})
		}
	}
	for _, p := range products {
		if p.Deprecation != nil {
			add(p.ID(), "", p.Deprecation) // its consumers hear about the product, not each port
			continue
		}
		for _, o := range p.OutputPorts {
			add(p.ID(), o.Name, o.Deprecation)
		}
	}
	var errs []error
	r := &reads{threads: map[string]Thread{}, bodies: map[Thread][]string{}}
	for _, d := range list {
		rep.Due++
		if err := s.remind(ctx, r, inst, d, now, rep); err != nil {
			rep.Failed++
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// remind posts one reminder unless it was posted (see the package comment
// for the order of the steps and why).
func (s *Scheduler) remind(ctx context.Context, r *reads, inst int64, d due, now time.Time, rep *Report) error {
	th, ok, err := s.thread(ctx, r, inst, d.product, d.port)
	if err != nil {
		return err
	}
	if !ok {
		rep.NoThread++
		s.log.WarnContext(ctx, "reminders: no deprecation pull request is recorded; consumers are not reminded",
			"installation", inst, "target", targetKey(d.product, d.port), "consumer", d.consumer.Product, "threshold_days", d.days)
		return nil
	}
	key := d.key(inst)
	got, err := s.st.Acquire(ctx, claimPrefix+key, s.opts.Holder, s.opts.ClaimTTL)
	if err != nil {
		return err
	}
	if !got {
		rep.Busy++
		return nil
	}
	// Released when done; a replica that dies keeps it until it expires,
	// which is what keeps the others off a post that may have gone out.
	defer func() {
		if err := s.st.Release(context.WithoutCancel(ctx), claimPrefix+key, s.opts.Holder); err != nil {
			s.log.WarnContext(ctx, "reminders: release claim", "key", key, "err", err)
		}
	}()
	if v, err := s.st.Mark(ctx, sentPrefix+key); err != nil {
		return err
	} else if v != "" {
		rep.Marked++
		return nil
	}
	owner, repo, _ := strings.Cut(th.Repo, "/")
	gh, err := s.gh.Installation(inst)
	if err != nil {
		return fmt.Errorf("reminders: installation %d: %w", inst, err)
	}
	bodies, err := s.comments(ctx, r, gh, th)
	if err != nil {
		return err
	}
	marker := markerOpen + key + markerClose
	ttl := d.dep.SunsetDate.Add(30 * 24 * time.Hour).Sub(now) // kept past the sunset, then forgotten
	if ttl < 24*time.Hour {
		ttl = 24 * time.Hour
	}
	for _, b := range bodies {
		if strings.Contains(b, marker) {
			rep.Found++
			return s.st.SetMark(ctx, sentPrefix+key, "found on "+th.String(), ttl)
		}
	}
	pctx, cancel := context.WithTimeout(ctx, s.opts.ClaimTTL/2)
	defer cancel()
	if err := gh.Comment(pctx, owner, repo, th.Number, body(d, marker)); err != nil {
		return fmt.Errorf("reminders: post on %s: %w", th, err)
	}
	rep.Posted++
	if err := s.st.SetMark(ctx, sentPrefix+key, "posted on "+th.String()+" by "+s.opts.Holder, ttl); err != nil {
		// The marker on the thread keeps the next sweep from posting again.
		return fmt.Errorf("reminders: mark %s sent (the comment is posted): %w", key, err)
	}
	s.log.InfoContext(ctx, "reminders: posted", "installation", inst, "thread", th.String(), "target", targetKey(d.product, d.port),
		"consumer", d.consumer.Product, "threshold_days", d.days)
	return nil
}

// Mention is how a consumer's owning team is named so that GitHub
// notifies it: @org/team, the organisation being the one that holds the
// consumer's repository. An owner already written as org/team is kept.
func Mention(owner, repo string) string {
	owner = strings.TrimPrefix(strings.TrimSpace(owner), "@")
	switch {
	case owner == "":
		return ""
	case strings.Contains(owner, "/"):
		return "@" + owner
	}
	org, _, ok := strings.Cut(repo, "/")
	if !ok || org == "" {
		return "@" + owner
	}
	return "@" + org + "/" + owner
}

func body(d due, marker string) string {
	var b strings.Builder
	b.WriteString(marker + "\n")
	target := targetKey(d.product, d.port)
	who := Mention(d.consumer.Owner, d.repo)
	if who == "" {
		who = "Owners of " + d.consumer.Product
	}
	in := "in 1 day"
	if d.left != 1 {
		in = fmt.Sprintf("in %d days", d.left)
	}
	fmt.Fprintf(&b, "%s: `%s` reaches its sunset on **%s** (%s), and `%s` still reads it", who, target, d.dep.Sunset, in, d.consumer.Product)
	if d.consumer.InputPort != "" {
		fmt.Fprintf(&b, " through its input port `%s`", d.consumer.InputPort)
	}
	if d.repo != "" {
		fmt.Fprintf(&b, " (`%s`, `%s`)", d.repo, d.consumer.File)
	}
	b.WriteString(".\n\n")
	if d.dep.Replacement != "" {
		fmt.Fprintf(&b, "Replacement: `%s`. ", d.dep.Replacement)
	}
	if d.dep.Reason != "" {
		fmt.Fprintf(&b, "Reason: %s. ", strings.TrimSuffix(d.dep.Reason, "."))
	}
	b.WriteString("Move the input port before the sunset: after it, meshbot's check fails on pull requests that still read the deprecated target.\n")
	return b.String()
}
