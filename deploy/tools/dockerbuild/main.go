// Command dockerbuild runs a Dockerfile's build stage without a Docker
// engine: it lays out the build context exactly as `docker build` would send
// it (the .dockerignore rules applied), then runs the stage's RUN commands in
// it with the stage's ARG and ENV values. What comes out is the binary the
// image would carry, built from nothing but the context, so a file the build
// needs but .dockerignore leaves out fails here as it would in Docker.
//
//	dockerbuild -dockerfile deploy/Dockerfile -context . -work DIR [-build-arg K=V ...]
//
// The stage's output path (the source of the final stage's COPY --from) is
// redirected under DIR; the binary's path is printed on the last line.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"

	"github.com/meshbot/meshbot/deploy/tools/dockerfile"
)

type buildArgs map[string]string

func (b buildArgs) String() string { return fmt.Sprint(map[string]string(b)) }
func (b buildArgs) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok {
		return fmt.Errorf("want KEY=VALUE, got %q", s)
	}
	b[k] = v
	return nil
}

func main() {
	dfPath := flag.String("dockerfile", "Dockerfile", "the Dockerfile")
	ctxDir := flag.String("context", ".", "the build context")
	work := flag.String("work", "", "an empty folder for the context copy and the output")
	stage := flag.String("stage", "build", "the stage to run")
	args := buildArgs{}
	flag.Var(args, "build-arg", "KEY=VALUE, as docker build --build-arg (repeatable)")
	flag.Parse()
	if *work == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	out, err := run(*dfPath, *ctxDir, *work, *stage, args)
	if err != nil {
		fmt.Fprintln(os.Stderr, "dockerbuild:", err)
		os.Exit(1)
	}
	fmt.Println(out)
}

func run(dfPath, ctxDir, work, stage string, args buildArgs) (string, error) {
	f, err := dockerfile.Load(dfPath)
	if err != nil {
		return "", err
	}
	artifact, err := copiedFrom(f, stage)
	if err != nil {
		return "", err
	}
	// BuildKit sets these for the platform built for; a native build here.
	for k, v := range map[string]string{"TARGETOS": runtime.GOOS, "TARGETARCH": runtime.GOARCH} {
		if _, given := args[k]; !given {
			args[k] = v
		}
	}
	steps, err := f.RunSteps(stage, args)
	if err != nil {
		return "", err
	}
	ctxCopy := filepath.Join(work, "context")
	n, err := copyContext(dfPath, ctxDir, ctxCopy)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(os.Stderr, "dockerbuild: context of %d files in %s\n", n, ctxCopy)

	outDir := filepath.Join(work, "out")
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return "", err
	}
	dest := filepath.Join(outDir, filepath.Base(artifact))
	produced := false
	for _, s := range steps {
		dir, err := hostDir(s.Dir, steps, ctxCopy)
		if err != nil {
			return "", err
		}
		cmdline := s.Command
		if strings.Contains(cmdline, artifact) {
			cmdline, produced = strings.ReplaceAll(cmdline, artifact, dest), true
		}
		fmt.Fprintf(os.Stderr, "dockerbuild: RUN %s\n", s.Command)
		cmd := exec.Command("/bin/sh", "-c", cmdline)
		cmd.Dir = dir
		cmd.Env = append(hostEnv(), s.Env...)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("RUN %s: %w", s.Command, err)
		}
	}
	if !produced {
		return "", fmt.Errorf("no RUN of stage %s writes %s, which the final stage copies", stage, artifact)
	}
	if _, err := os.Stat(dest); err != nil {
		return "", fmt.Errorf("stage %s ran but %s is missing: %w", stage, artifact, err)
	}
	return dest, nil
}

// copiedFrom is the path the final stage copies out of stage.
func copiedFrom(f *dockerfile.File, stage string) (string, error) {
	for _, c := range f.Final().Commands {
		if cp, ok := c.(*instructions.CopyCommand); ok && strings.EqualFold(cp.From, stage) {
			if len(cp.SourcePaths) != 1 {
				return "", fmt.Errorf("COPY --from=%s copies %d paths; one binary was expected", stage, len(cp.SourcePaths))
			}
			return cp.SourcePaths[0], nil
		}
	}
	return "", fmt.Errorf("the final stage copies nothing from stage %s", stage)
}

// hostDir maps a stage's WORKDIR to the context copy. The build stage's
// WORKDIR is where COPY . . puts the context; anything else is refused
// rather than guessed.
func hostDir(dir string, steps []dockerfile.Step, ctxCopy string) (string, error) {
	if dir == steps[0].Dir {
		return ctxCopy, nil
	}
	return "", fmt.Errorf("RUN in WORKDIR %s, not the context's %s", dir, steps[0].Dir)
}

// hostEnv is this process's environment less what a golang image would not
// have set: GOFLAGS in particular changes how go build behaves.
func hostEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k == "GOFLAGS" {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// copyContext copies what docker build would send: the files of ctxDir that
// the ignore file does not exclude. Like Docker, it reads
// <Dockerfile>.dockerignore beside the Dockerfile first, else
// .dockerignore at the context's root.
func copyContext(dfPath, ctxDir, dst string) (int, error) {
	patterns, err := ignorePatterns(dfPath, ctxDir)
	if err != nil {
		return 0, err
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return 0, err
	}
	n := 0
	err = filepath.WalkDir(ctxDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(ctxDir, path)
		if err != nil || rel == "." {
			return err
		}
		excluded, err := pm.MatchesOrParentMatches(filepath.ToSlash(rel))
		if err != nil {
			return err
		}
		if d.IsDir() {
			// An excluded folder is still walked when a ! pattern may
			// bring part of it back.
			if excluded && !pm.Exclusions() {
				return filepath.SkipDir
			}
			return nil
		}
		if excluded || !d.Type().IsRegular() {
			return nil
		}
		n++
		return copyFile(path, filepath.Join(dst, rel))
	})
	if n == 0 && err == nil {
		err = errors.New("the context is empty")
	}
	return n, err
}

func ignorePatterns(dfPath, ctxDir string) ([]string, error) {
	for _, p := range []string{dfPath + ".dockerignore", filepath.Join(ctxDir, ".dockerignore")} {
		f, err := os.Open(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return ignorefile.ReadAll(f)
	}
	return nil, nil
}

func copyFile(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, fi.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
