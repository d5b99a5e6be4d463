package ghfake

import (
	"strings"
	"testing"
	"time"
)

// FuzzVerifyAppJWT feeds arbitrary Authorization credentials to the JWT
// check: it must never panic and never accept a token not signed with the
// App's key.
func FuzzVerifyAppJWT(f *testing.F) {
	key := testKey()
	signed := map[string]bool{} // signing inputs only this test could sign
	for _, claims := range []map[string]any{validClaims(), {"iss": appID, "iat": time.Now().Unix(), "exp": time.Now().Unix() + 599}} {
		tok := signJWT(f, key, claims)
		signed[tok[:strings.LastIndexByte(tok, '.')]] = true
		f.Add(tok)
	}
	f.Add("a.b.c")
	f.Add("")
	f.Add("eyJhbGciOiJub25lIn0.eyJpc3MiOiI0MjQyIn0.")
	f.Fuzz(func(t *testing.T, tok string) {
		if verifyAppJWT(tok, &key.PublicKey, appID, time.Now()) != nil {
			return
		}
		i := strings.LastIndexByte(tok, '.')
		if i < 0 || !signed[tok[:i]] {
			t.Fatalf("accepted %q, which this test never signed", tok)
		}
	})
}

// FuzzLineDiff checks the counting against its algebra: additions minus
// deletions is the change in line count, and a text against itself is
// unchanged.
func FuzzLineDiff(f *testing.F) {
	f.Add([]byte("a\nb\nc\n"), []byte("a\nx\nc\nd\n"))
	f.Add([]byte(""), []byte("one\n"))
	f.Add([]byte("no newline"), []byte("no newline\n"))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		add, del := lineDiff(a, b)
		na, nb := len(splitLines(a)), len(splitLines(b))
		if add < 0 || del < 0 || add > nb || del > na || add-del != nb-na {
			t.Fatalf("lineDiff = +%d -%d for %d -> %d lines", add, del, na, nb)
		}
		if x, y := lineDiff(a, a); x != 0 || y != 0 {
			t.Fatalf("a text differs from itself: +%d -%d", x, y)
		}
	})
}
