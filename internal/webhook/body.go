package webhook

import (
	"errors"
	"hash"
	"io"
	"math/bits"
	"sync"
	"sync/atomic"
)

// Bodies are read before their signature can be checked (the signature is an
// HMAC of every byte), so whoever can reach /webhook decides how much memory
// the intake holds. What bounds it: a body over MaxBody by its Content-Length
// is never read; one without a well-formed signature header is never read;
// every other one reserves its bytes from a budget shared by all requests
// before a byte is read, and is refused unread when the budget is spent.

var (
	errTooLarge = errors.New("body exceeds the size cap")
	errBusy     = errors.New("budget for bodies in flight is spent")
)

// budget counts the bytes of bodies held in memory at once.
type budget struct {
	limit int64
	used  atomic.Int64
}

// reserve takes n bytes, or nothing when that would exceed the limit. It
// never waits: a request that cannot be served now is answered at once
// rather than held with its connection.
func (b *budget) reserve(n int64) bool {
	for {
		u := b.used.Load()
		if u+n > b.limit {
			return false
		}
		if b.used.CompareAndSwap(u, u+n) {
			return true
		}
	}
}

func (b *budget) release(n int64) { b.used.Add(-n) }

// Buffers come from pools by power-of-two size class, from minClass to
// maxPooled: an acknowledgement at hundreds of deliveries a second then
// allocates no body buffer. Larger buffers (rare: GitHub's payloads are
// mostly tens of kilobytes) are allocated for the one request and left to the
// collector, so the pools never pin megabytes.
const (
	minClass  = 12 // 4 KiB
	maxClass  = 20 // 1 MiB
	maxPooled = 1 << maxClass
	// unknownStart is the first reservation of a body sent without a
	// Content-Length; it grows by doubling as bytes arrive.
	unknownStart = 64 << 10
)

type bufPools [maxClass - minClass + 1]sync.Pool

// sizeClass is the capacity a buffer of at least n bytes gets: a power of
// two within the pooled range, n itself beyond it.
func sizeClass(n int64) int64 {
	if n > maxPooled {
		return n
	}
	c := max(minClass, bits.Len64(uint64(n-1)))
	return 1 << c
}

func (p *bufPools) get(capacity int64) []byte {
	if capacity <= maxPooled {
		if b, ok := p[bits.Len64(uint64(capacity))-1-minClass].Get().(*[]byte); ok {
			return (*b)[:0]
		}
	}
	return make([]byte, 0, capacity)
}

func (p *bufPools) put(b []byte) {
	c := int64(cap(b))
	if c > maxPooled || c < 1<<minClass || c&(c-1) != 0 {
		return
	}
	p[bits.Len64(uint64(c))-1-minClass].Put(&b)
}

// body is a delivery's bytes in a buffer reserved from the budget, until
// release.
type body struct {
	bytes    []byte
	reserved int64
	budget   *budget
	pools    *bufPools
}

// release hands the buffer back and returns its bytes to the budget. Nothing
// may keep a reference into the bytes afterwards (Route copies what it
// keeps: json.Unmarshal does not alias its input). Calling it again does
// nothing.
func (b *body) release() {
	if b == nil || b.budget == nil {
		return
	}
	b.pools.put(b.bytes)
	b.budget.release(b.reserved)
	b.bytes, b.budget = nil, nil
}

// readBody reads r (declared is its Content-Length, -1 when unknown) into a
// buffer reserved from bud, writing every byte to mac as it arrives, and
// stops with errTooLarge past limit bytes or errBusy when the budget cannot
// cover the buffer. On error nothing stays reserved.
func readBody(r io.Reader, declared, limit int64, mac hash.Hash, bud *budget, pools *bufPools) (*body, error) {
	want := declared + 1 // one spare byte lets the read see EOF without growing
	if declared < 0 {
		want = min(unknownStart, limit+1)
	}
	capacity := sizeClass(want)
	if !bud.reserve(capacity) {
		return nil, errBusy
	}
	b := &body{bytes: pools.get(capacity), reserved: capacity, budget: bud, pools: pools}
	buf := b.bytes
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) > limit {
				b.bytes = buf
				b.release()
				return nil, errTooLarge
			}
			// A body longer than announced, or of unknown length: grow
			// within the cap and the budget.
			next := sizeClass(min(2*int64(cap(buf)), limit+1))
			if !bud.reserve(next - b.reserved) {
				b.bytes = buf
				b.release()
				return nil, errBusy
			}
			grown := pools.get(next)[:len(buf)]
			copy(grown, buf)
			pools.put(buf)
			buf, b.reserved = grown, next
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		mac.Write(buf[len(buf) : len(buf)+n])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			b.bytes = buf
			b.release()
			return nil, err
		}
	}
	b.bytes = buf
	if int64(len(buf)) > limit {
		b.release()
		return nil, errTooLarge
	}
	return b, nil
}
