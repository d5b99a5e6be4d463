package ghfake

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// HookDelivery is one attempt GitHub made to deliver an event to the App's
// webhook, as GET /app/hook/deliveries lists it.
type HookDelivery struct {
	ID           int64
	GUID         string
	At           time.Time // delivered_at
	Redelivery   bool
	StatusCode   int    // what the receiver answered; 0 when it could not be reached
	Status       string // default from StatusCode ("OK", "failed to connect", ...)
	Event        string
	Action       string
	Installation int64
	Repository   int64
}

// Receiver is the App's webhook as the fake redelivers to it: it gets the
// delivery being redelivered and returns the status code it answered (0:
// could not connect).
type Receiver func(d HookDelivery) int

// hooks is the App webhook's delivery log; ids grow with time, newest last.
type hooks struct {
	log      []*HookDelivery
	asked    []int64 // delivery ids redelivery was requested for, in order
	pending  []int64 // requested and not yet attempted (FlushRedeliveries)
	receiver Receiver
}

// AddDelivery records a delivery attempt (as if GitHub had made it) and
// returns its id. Zero fields take defaults: At now, Event "ping".
func (f *Fake) AddDelivery(d HookDelivery) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.addDeliveryLocked(d)
}

func (f *Fake) addDeliveryLocked(d HookDelivery) int64 {
	d.ID = f.id()
	if d.At.IsZero() {
		d.At = time.Now()
	}
	d.At = d.At.UTC().Truncate(time.Second)
	if d.Event == "" {
		d.Event = "ping"
	}
	if d.Status == "" {
		d.Status = deliveryStatus(d.StatusCode)
	}
	f.hooks.log = append(f.hooks.log, &d)
	return d.ID
}

func deliveryStatus(code int) string {
	switch {
	case code == 0:
		return "failed to connect"
	case code >= 200 && code < 300:
		return "OK"
	}
	return "Invalid HTTP Response: " + strconv.Itoa(code)
}

// SetReceiver sets where redeliveries go; without one every redelivery
// fails to connect.
func (f *Fake) SetReceiver(r Receiver) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hooks.receiver = r
}

// Deliveries lists the delivery log, oldest first.
func (f *Fake) Deliveries() []HookDelivery {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]HookDelivery, 0, len(f.hooks.log))
	for _, d := range f.hooks.log {
		out = append(out, *d)
	}
	return out
}

// RedeliveriesAsked lists the delivery ids redelivery was requested for,
// in the order of the requests (repeats included).
func (f *Fake) RedeliveriesAsked() []int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int64(nil), f.hooks.asked...)
}

// FlushRedeliveries makes the redelivery attempts requested so far, as
// GitHub does some time after answering 202: each goes to the receiver and
// is logged as a new delivery with the same guid, redelivery true, at at.
// The receiver is called without the fake's lock held.
func (f *Fake) FlushRedeliveries(at time.Time) int {
	f.mu.Lock()
	pending := f.hooks.pending
	f.hooks.pending = nil
	recv := f.hooks.receiver
	var originals []HookDelivery
	for _, id := range pending {
		if d := f.deliveryLocked(id); d != nil {
			originals = append(originals, *d)
		}
	}
	f.mu.Unlock()
	for _, d := range originals {
		code := 0
		if recv != nil {
			code = recv(d)
		}
		f.mu.Lock()
		f.addDeliveryLocked(HookDelivery{GUID: d.GUID, At: at, Redelivery: true, StatusCode: code,
			Event: d.Event, Action: d.Action, Installation: d.Installation, Repository: d.Repository})
		f.mu.Unlock()
	}
	return len(originals)
}

func (f *Fake) deliveryLocked(id int64) *HookDelivery {
	for _, d := range f.hooks.log {
		if d.ID == id {
			return d
		}
	}
	return nil
}

func nullableID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func deliveryJSON(d *HookDelivery) obj {
	return obj{
		"id": d.ID, "guid": d.GUID, "delivered_at": ts(d.At), "redelivery": d.Redelivery, "duration": 0.05,
		"status": d.Status, "status_code": d.StatusCode, "event": d.Event, "action": nullable(d.Action),
		"installation_id": nullableID(d.Installation), "repository_id": nullableID(d.Repository), "throttled_at": nil,
	}
}

// listDeliveries pages newest first with an opaque cursor, as GitHub does:
// the Link header's rel="next" carries cursor=, and there is no page=.
func (f *Fake) listDeliveries(c *call) {
	q := c.r.URL.Query()
	per, err := strconv.Atoi(q.Get("per_page"))
	if err != nil || per <= 0 {
		per = 30
	}
	per = min(per, 100)
	start := int64(-1) // newest
	if cur := q.Get("cursor"); cur != "" {
		id, err := strconv.ParseInt(strings.TrimPrefix(cur, "v1_"), 10, 64)
		if err != nil || !strings.HasPrefix(cur, "v1_") {
			c.fail(http.StatusBadRequest, "Invalid cursor")
			return
		}
		start = id
	}
	status := q.Get("status")
	if status != "" && status != "success" && status != "failure" {
		c.unprocessable("Validation Failed", map[string]any{"resource": "HookDelivery", "field": "status", "code": "invalid"})
		return
	}
	var sel []*HookDelivery
	for i := len(f.hooks.log) - 1; i >= 0; i-- {
		d := f.hooks.log[i]
		if start >= 0 && d.ID > start {
			continue
		}
		ok := d.StatusCode >= 200 && d.StatusCode <= 399
		if status == "success" && !ok || status == "failure" && !(d.StatusCode >= 400 && d.StatusCode <= 599) {
			continue
		}
		sel = append(sel, d)
	}
	out := []obj{}
	for _, d := range sel[:min(per, len(sel))] {
		out = append(out, deliveryJSON(d))
	}
	if len(sel) > per {
		next := fmt.Sprintf("%sapp/hook/deliveries?cursor=v1_%d&per_page=%d", c.f.URL(), sel[per].ID, per)
		if status != "" {
			next += "&status=" + status
		}
		c.w.Header().Set("Link", fmt.Sprintf("<%s>; rel=\"next\"", next))
	}
	c.json(http.StatusOK, out)
}

// redeliver answers 202 and queues the attempt (FlushRedeliveries makes it).
func (f *Fake) redeliver(c *call) {
	id, err := strconv.ParseInt(c.r.PathValue("delivery_id"), 10, 64)
	if err != nil {
		c.unprocessable("Validation Failed")
		return
	}
	if f.deliveryLocked(id) == nil {
		c.notFound()
		return
	}
	f.hooks.asked = append(f.hooks.asked, id)
	f.hooks.pending = append(f.hooks.pending, id)
	c.json(http.StatusAccepted, obj{})
}

// listPulls lists pull requests (open unless state says otherwise, head
// and base filters applied), newest first (the default sort).
func (f *Fake) listPulls(c *call) {
	q := c.r.URL.Query()
	var nums []int
	for n, p := range c.repo.pulls {
		if c.repo.pullMatches(p, q.Get("state"), q.Get("head"), q.Get("base")) {
			nums = append(nums, n)
		}
	}
	// Newest first: numbers grow with creation.
	for i := 1; i < len(nums); i++ {
		for j := i; j > 0 && nums[j] > nums[j-1]; j-- {
			nums[j], nums[j-1] = nums[j-1], nums[j]
		}
	}
	lo, hi := c.paginate(len(nums))
	out := []obj{}
	for _, n := range nums[lo:hi] {
		out = append(out, f.pullJSON(c.repo, c.repo.pulls[n]))
	}
	c.json(http.StatusOK, out)
}
