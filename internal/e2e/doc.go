// Package e2e holds meshbot's end-to-end tests and benchmarks: signed
// deliveries from GitHub's published payload examples go into the real
// webhook intake over HTTP, through the store's queue (memory, and Redis when
// MESHBOT_TEST_REDIS_URL is set) to the worker pool, whose handlers talk to
// the faithful fake of GitHub (internal/ghfake) and complete check runs
// there. Nothing in the path is mocked.
package e2e
