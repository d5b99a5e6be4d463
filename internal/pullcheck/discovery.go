package pullcheck

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"

	"github.com/meshbot/meshbot/internal/ghsource"
	"github.com/meshbot/meshbot/internal/mesh"
)

// discovery is the repository's discovery configuration (mesh.ConfigFile),
// as `meshbot check` reads it at the checkout's root:
//
//   - when the pull request changes it, the head's version, which is then
//     loaded with the change;
//   - otherwise the default branch's, as the index recorded it, at no
//     request to GitHub;
//   - for a repository not indexed yet, the head's, fetched (unless no
//     YAML or JSON file changed).
//
// The configuration is handed to the loader with the files, so both the
// choice of files here and the loader's own apply the same rules.
func (c *checker) discovery(ctx context.Context, j *job, v *view, changes []change) (mesh.Discovery, error) {
	var src []byte
	switch {
	case v.touched[mesh.ConfigFile]:
		if !v.atHead[mesh.ConfigFile] {
			return mesh.Discovery{}, nil // removed: the defaults apply
		}
		b, err := v.r.Read(ctx, mesh.ConfigFile, j.HeadSHA)
		if err != nil {
			return mesh.Discovery{}, notMissing(err)
		}
		src = b
	default:
		mark, err := c.store.Mark(ctx, ghsource.ConfigMark(j.Installation, j.fullName()))
		if err != nil {
			return mesh.Discovery{}, err
		}
		b, recorded := ghsource.DecodeConfig(mark)
		if !recorded && !considered(changes, mesh.Discovery{}) {
			// Not indexed yet, and nothing YAML or JSON changed: the
			// fast path costs no request (a configuration widening
			// include to other names applies once the index has run).
			return mesh.Discovery{}, nil
		}
		if !recorded {
			if b, err = v.r.Read(ctx, mesh.ConfigFile, j.HeadSHA); err != nil {
				return mesh.Discovery{}, notMissing(err)
			}
		}
		if b == nil {
			return mesh.Discovery{}, nil
		}
		src = b
		v.known[mesh.ConfigFile] = b
	}
	v.choose(mesh.ConfigFile)
	d, probs := mesh.ReadDiscovery(src)
	if len(probs) > 0 {
		// The loader reports them on the file; what is valid applies.
		j.log.Info("pullcheck: the repository's discovery configuration has problems", slog.Int("problems", len(probs)))
	}
	return d, nil
}

// notMissing is nil for a file that does not exist (no configuration) or
// is too large to read (the loader reports it; the defaults apply).
func notMissing(err error) error {
	var big *mesh.TooLargeError
	if errors.Is(err, fs.ErrNotExist) || errors.As(err, &big) {
		return nil
	}
	return err
}
