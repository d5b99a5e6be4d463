// TEMPORARY PLACEHOLDER — DELETE AT MERGE.
//
// internal/yamledit (the formatting-preserving editor) is built on another
// branch; this file only matches its API so that internal/commands builds
// here. The lead deletes it when yamledit lands. Until then both functions
// answer "not yet", and the deprecate tests that reach the edit fail.
package yamledit

import (
	"errors"

	"github.com/meshbot/meshbot/internal/mesh"
)

// Target names what to edit: a product, or one of its output ports.
type Target struct {
	Product string
	Port    string // "" = the product
}

// Deprecation is what Deprecate writes.
type Deprecation struct {
	Sunset              string // YYYY-MM-DD
	Replacement, Reason string
}

var errNotYet = errors.New("yamledit: not yet (placeholder; the editor lands at merge)")

// Deprecate is the placeholder of the editor's Deprecate.
func Deprecate(src []byte, format mesh.Format, t Target, d Deprecation) (out []byte, notes []string, err error) {
	return nil, nil, errNotYet
}

// Undeprecate is the placeholder of the editor's Undeprecate.
func Undeprecate(src []byte, format mesh.Format, t Target) (out []byte, notes []string, err error) {
	return nil, nil, errNotYet
}
