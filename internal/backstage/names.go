package backstage

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
)

// Backstage's limits (catalog-model's KubernetesValidatorFunctions and its
// default tag validator).
const (
	maxName = 63
	maxTag  = 63
)

// hashLen hex digits distinguish a truncated or colliding name: 32 bits keep
// an accidental second collision out of reach for any real mesh, and the
// names stay readable.
const hashLen = 8

// ValidName reports whether s is a valid Backstage entity name:
// 1–63 characters, [A-Za-z0-9] runs separated by any of -_.
func ValidName(s string) bool {
	if len(s) < 1 || len(s) > maxName || !alnum(s[0]) || !alnum(s[len(s)-1]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !alnum(c) && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

// ValidTag reports whether s is a valid Backstage tag:
// ^[a-z0-9:+#]+(-[a-z0-9:+#]+)*$, at most 63 characters.
func ValidTag(s string) bool {
	if len(s) < 1 || len(s) > maxTag || s[0] == '-' || s[len(s)-1] == '-' || strings.Contains(s, "--") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !tagChar(c) && c != '-' {
			return false
		}
	}
	return true
}

func alnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func tagChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == ':' || c == '+' || c == '#'
}

// shortHash is a stable hex digest of key, for suffixes.
func shortHash(key string) string {
	s := sha256.Sum256([]byte(key))
	return hex.EncodeToString(s[:])[:hashLen]
}

// Name turns an identifier as written (a product id, a port, a team slug)
// into a valid entity name. Valid input is returned unchanged, so the common
// case reads exactly like the descriptor. Otherwise every run of characters
// Backstage does not allow becomes one '-', the ends are trimmed to
// alphanumerics, and a name that is empty or too long is cut and suffixed
// with a hash of the original, so that two long ids sharing a prefix stay
// apart.
func Name(s string) string {
	if ValidName(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	bad := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if alnum(c) || c == '-' || c == '_' || c == '.' {
			if bad && b.Len() > 0 {
				b.WriteByte('-')
			}
			bad = false
			b.WriteByte(c)
			continue
		}
		bad = true
	}
	out := trimToAlnum(b.String())
	if out == "" {
		return "x-" + shortHash(s)
	}
	if len(out) > maxName || out != s && len(out) < len(s)/2 {
		// A name that lost most of its characters (an id in another
		// script) would collide with its neighbours: keep it apart.
		return withSuffix(out, shortHash(s))
	}
	return out
}

// withSuffix returns base cut so that base-suffix fits in maxName, still
// valid.
func withSuffix(base, suffix string) string {
	room := maxName - len(suffix) - 1
	if len(base) > room {
		base = base[:room]
	}
	base = trimToAlnum(base)
	if base == "" {
		return "x-" + suffix
	}
	return base + "-" + suffix
}

func trimToAlnum(s string) string {
	i, j := 0, len(s)
	for i < j && !alnum(s[i]) {
		i++
	}
	for j > i && !alnum(s[j-1]) {
		j--
	}
	return s[i:j]
}

// Tag turns a word into a valid tag, or "" when nothing usable is left.
func Tag(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		c := byte(r)
		if r < 0x80 && tagChar(c) {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteByte(c)
			continue
		}
		dash = true
	}
	out := b.String()
	if len(out) > maxTag {
		out = strings.TrimRight(out[:maxTag], "-")
	}
	return out
}

// namer hands out names unique per kind (case-insensitively, as Backstage
// compares them). The first claimant of a name keeps it; later ones get a
// hash of their own key, so a name never depends on anything but the order
// of the registry, which is sorted.
type namer struct {
	taken map[string]string // lower-cased name → key that holds it
}

func newNamer() *namer { return &namer{taken: map[string]string{}} }

// claim returns the name for key (unique per namer), preferring want.
func (n *namer) claim(want, key string) string {
	name := Name(want)
	for attempt := 0; ; attempt++ {
		low := strings.ToLower(name)
		holder, ok := n.taken[low]
		if !ok || holder == key {
			n.taken[low] = key
			return name
		}
		salt := key
		if attempt > 0 {
			salt = key + "#" + strconv.Itoa(attempt)
		}
		name = withSuffix(Name(want), shortHash(salt))
	}
}

// maxNamespace is Backstage's limit on a namespace (a DNS label).
const maxNamespace = 63

// validNamespace is catalog-model's isValidNamespace: a DNS label,
// [a-z0-9]+ runs separated by runs of '-', at most 63 characters.
func validNamespace(s string) bool {
	if len(s) < 1 || len(s) > maxNamespace || !lowerAlnum(s[0]) || !lowerAlnum(s[len(s)-1]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !lowerAlnum(c) && c != '-' {
			return false
		}
	}
	return true
}

func lowerAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

// OrgNamespace is the Backstage namespace of a GitHub organisation's (or
// user's) entities: its login lower-cased, which GitHub compares
// case-insensitively and which is a valid namespace for every ordinary
// login. Backstage's GitHub multi-org provider puts an organisation's teams
// in the same namespace, so owners resolve to its Groups. A login that is
// not a valid namespace (an enterprise-managed user's login_shortcode) is
// rewritten and suffixed with a hash of the login, so two logins never
// share a namespace.
func OrgNamespace(login string) string {
	low := strings.ToLower(strings.TrimSpace(login))
	if validNamespace(low) {
		return low
	}
	var b strings.Builder
	for i := 0; i < len(low); i++ {
		c := low[i]
		if lowerAlnum(c) {
			b.WriteByte(c)
		} else if b.Len() > 0 && !strings.HasSuffix(b.String(), "-") {
			b.WriteByte('-')
		}
	}
	base := strings.Trim(b.String(), "-")
	suffix := shortHash(low)
	if room := maxNamespace - len(suffix) - 1; len(base) > room {
		base = strings.Trim(base[:room], "-")
	}
	if base == "" {
		return "x-" + suffix
	}
	return base + "-" + suffix
}
