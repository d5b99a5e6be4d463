// Package dockerfile reads deploy/Dockerfile with BuildKit's own parser and
// linter, so the file can be checked, and its build stage run, on a machine
// without a Docker engine.
package dockerfile

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/opencontainers/go-digest"
)

// File is a parsed Dockerfile.
type File struct {
	Source  []byte
	Stages  []instructions.Stage
	MetaArg []instructions.ArgCommand
}

// Load parses path the way `docker build` does.
func Load(path string) (*File, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(src)
}

// Parse parses a Dockerfile's text.
func Parse(src []byte) (*File, error) {
	res, err := parser.Parse(bytes.NewReader(src))
	if err != nil {
		return nil, err
	}
	stages, meta, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return nil, err
	}
	return &File{Source: src, Stages: stages, MetaArg: meta}, nil
}

// Stage returns the stage called name.
func (f *File) Stage(name string) (*instructions.Stage, error) {
	for i := range f.Stages {
		if strings.EqualFold(f.Stages[i].Name, name) {
			return &f.Stages[i], nil
		}
	}
	return nil, fmt.Errorf("no stage %q", name)
}

// Final is the stage the image is made of.
func (f *File) Final() *instructions.Stage { return &f.Stages[len(f.Stages)-1] }

// Warning is one finding of BuildKit's checks (`docker build --check`).
type Warning struct {
	Rule, Detail string
	Line         int
}

func (w Warning) String() string {
	return fmt.Sprintf("line %d: %s: %s", w.Line, w.Rule, w.Detail)
}

// Lint runs the checks `docker build --check` runs (the default set; a
// `# check=` directive in the file adjusts it as it would there). Base images are not fetched: the resolver below answers with an
// empty image of the requested platform, which is all the checks look at.
func Lint(ctx context.Context, src []byte) ([]Warning, error) {
	// Results name their source by an LLB definition; an empty one will do.
	def, err := llb.Scratch().Marshal(ctx)
	if err != nil {
		return nil, err
	}
	sm := llb.NewSourceMap(nil, "Dockerfile", "Dockerfile", src)
	sm.Definition = def
	res, err := dockerfile2llb.DockerfileLint(ctx, src, dockerfile2llb.ConvertOpt{
		SourceMap:    sm,
		MetaResolver: offlineResolver{},
		AllStages:    true,
	})
	if err != nil {
		return nil, err
	}
	if res.Error != nil {
		return nil, fmt.Errorf("the Dockerfile does not build: %s", res.Error.Message)
	}
	var ws []Warning
	for _, w := range res.Warnings {
		line := 0
		if w.Location != nil && len(w.Location.Ranges) > 0 {
			line = int(w.Location.Ranges[0].Start.Line)
		}
		ws = append(ws, Warning{Rule: w.RuleName, Detail: w.Detail, Line: line})
	}
	return ws, nil
}

type offlineResolver struct{}

func (offlineResolver) ResolveImageConfig(_ context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	img := map[string]any{
		"os": "linux", "architecture": "amd64",
		"config": map[string]any{"Env": []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{digest.FromString(ref).String()}},
	}
	if opt.ImageOpt != nil && opt.ImageOpt.Platform != nil {
		img["os"], img["architecture"] = opt.ImageOpt.Platform.OS, opt.ImageOpt.Platform.Architecture
		if v := opt.ImageOpt.Platform.Variant; v != "" {
			img["variant"] = v
		}
	}
	dt, err := json.Marshal(img)
	return ref, digest.FromBytes(dt), dt, err
}

// Step is one RUN of a stage as a shell runs it outside Docker.
type Step struct {
	// Dir is the stage's WORKDIR at that point (a path in the image).
	Dir string
	// Env holds the stage's ARG and ENV values in force, KEY=VALUE.
	Env     []string
	Command string
}

// RunSteps lists the RUN commands of stage in order, with the ARG values
// (args overriding defaults, as --build-arg does) and ENV values in force.
// It refuses what it cannot reproduce faithfully outside Docker: exec-form
// RUN, COPY from another stage or image, and values that expand variables.
func (f *File) RunSteps(stage string, args map[string]string) ([]Step, error) {
	st, err := f.Stage(stage)
	if err != nil {
		return nil, err
	}
	dir := "/"
	var env []string
	set := func(k, v string) error {
		if strings.Contains(v, "$") {
			return fmt.Errorf("stage %s: %s=%q expands a variable, which this emulation does not do", stage, k, v)
		}
		env = append(env, k+"="+v)
		return nil
	}
	var steps []Step
	for _, c := range st.Commands {
		switch c := c.(type) {
		case *instructions.WorkdirCommand:
			if !strings.HasPrefix(c.Path, "/") {
				return nil, fmt.Errorf("stage %s: relative WORKDIR %q", stage, c.Path)
			}
			dir = c.Path
		case *instructions.ArgCommand:
			for _, a := range c.Args {
				v, given := args[a.Key]
				if !given && a.Value != nil {
					v = *a.Value
				}
				if err := set(a.Key, v); err != nil {
					return nil, err
				}
			}
		case *instructions.EnvCommand:
			for _, kv := range c.Env {
				if err := set(kv.Key, kv.Value); err != nil {
					return nil, err
				}
			}
		case *instructions.CopyCommand:
			if c.From != "" {
				return nil, fmt.Errorf("stage %s: COPY --from=%s cannot be reproduced from the context alone", stage, c.From)
			}
		case *instructions.RunCommand:
			if !c.PrependShell {
				return nil, fmt.Errorf("stage %s: exec-form RUN %q", stage, c.CmdLine)
			}
			steps = append(steps, Step{Dir: dir, Env: append([]string(nil), env...), Command: strings.Join(c.CmdLine, " ")})
		case *instructions.LabelCommand, *instructions.ExposeCommand, *instructions.UserCommand,
			*instructions.EntrypointCommand, *instructions.CmdCommand:
			// Image metadata: nothing runs.
		default:
			return nil, fmt.Errorf("stage %s: %s is not supported by this emulation", stage, c.Name())
		}
	}
	return steps, nil
}
