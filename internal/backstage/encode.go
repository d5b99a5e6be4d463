package backstage

import (
	"slices"
	"unicode/utf8"
)

// appendJSON appends e as encoding/json writes it with SetEscapeHTML(false)
// (TestAppendJSONMatchesEncodingJSON holds the two byte for byte). The
// endpoint writes tens of thousands of entities per build, and reflection
// was half of the build's time.
func (e *Entity) appendJSON(b []byte) []byte {
	b = append(b, `{"apiVersion":`...)
	b = appendString(b, e.APIVersion)
	b = append(b, `,"kind":`...)
	b = appendString(b, e.Kind)

	m := &e.Metadata
	b = append(b, `,"metadata":{"name":`...)
	b = appendString(b, m.Name)
	b = append(b, `,"namespace":`...)
	b = appendString(b, m.Namespace)
	b = optString(b, "title", m.Title)
	b = optString(b, "description", m.Description)
	b = append(b, `,"annotations":`...)
	if m.Annotations == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '{')
		var arr [32]string // no allocation for the usual few annotations
		keys := arr[:0]
		for k := range m.Annotations {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendString(b, m.Annotations[k])
		}
		b = append(b, '}')
	}
	b = optStrings(b, "tags", m.Tags, false)
	if len(m.Links) > 0 {
		b = append(b, `,"links":[`...)
		for i, l := range m.Links {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"url":`...)
			b = appendString(b, l.URL)
			b = optString(b, "title", l.Title)
			b = optString(b, "icon", l.Icon)
			b = optString(b, "type", l.Type)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, '}')

	s := &e.Spec
	b = append(b, `,"spec":{`...)
	n := len(b)
	b = optString(b, "type", s.Type)
	b = optString(b, "lifecycle", s.Lifecycle)
	b = optString(b, "owner", s.Owner)
	b = optString(b, "domain", s.Domain)
	b = optString(b, "system", s.System)
	b = optStrings(b, "providesApis", s.ProvidesAPIs, false)
	b = optStrings(b, "consumesApis", s.ConsumesAPIs, false)
	b = optStrings(b, "children", s.Children, true)
	b = optString(b, "definition", s.Definition)
	if len(b) > n {
		b = append(b[:n], b[n+1:]...) // the first field's leading comma
	}
	return append(b, "}}"...)
}

func optString(b []byte, k, v string) []byte {
	if v == "" {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, k...)
	b = append(b, '"', ':')
	return appendString(b, v)
}

// optStrings writes a slice left out when empty (omitempty) or, with
// omitZero, only when nil (omitzero).
func optStrings(b []byte, k string, vs []string, omitZero bool) []byte {
	if omitZero && vs == nil || !omitZero && len(vs) == 0 {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, k...)
	b = append(b, '"', ':', '[')
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, v)
	}
	return append(b, ']')
}

const hexDigits = "0123456789abcdef"

// plainJSON marks the bytes a JSON string holds as they are: printable ASCII
// but the quote and the backslash.
var plainJSON = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendString is encoding/json's string encoding without HTML escaping.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if plainJSON[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		// U+2028 and U+2029 end lines in JavaScript; encoding/json escapes
		// them.
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
