package store

import "testing"

func openMemory(t *testing.T, opts Options) Store {
	s := NewMemory(opts)
	t.Cleanup(func() { s.Close() })
	return s
}

func TestMemory(t *testing.T) {
	t.Parallel()
	runStoreSuite(t, openMemory)
}
