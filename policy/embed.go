// Package policy holds meshbot's bundled default policy: Rego v1 rules for
// data product descriptors and their unit tests, embedded in the binary.
// internal/policyeval loads it when no other policy folder is configured.
package policy

import (
	"embed"
	"io/fs"
)

//go:embed *.rego README.md meshbot
var files embed.FS

// FS is the bundled policy folder.
func FS() fs.FS { return files }
