package dockerfile

import (
	"context"
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

const dockerfilePath = "../../Dockerfile"

func TestDockerfileHasNoLintWarnings(t *testing.T) {
	f, err := Load(dockerfilePath)
	if err != nil {
		t.Fatal(err)
	}
	ws, err := Lint(context.Background(), f.Source)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range ws {
		t.Errorf("deploy/Dockerfile %s", w)
	}
}

// A lint check that never fails proves nothing: a file with known problems
// must get each of them reported.
func TestLintReportsProblems(t *testing.T) {
	bad := `FROM golang:1.26 as build
ENV GITHUB_WEBHOOK_SECRET=abc
COPY $NOT_DEFINED /src
from scratch
CMD /meshbot serve
`
	ws, err := Lint(context.Background(), []byte(bad))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range ws {
		got = append(got, w.Rule)
	}
	for _, want := range []string{"FromAsCasing", "SecretsUsedInArgOrEnv", "UndefinedVar", "ConsistentInstructionCasing", "JSONArgsRecommended"} {
		if !slices.Contains(got, want) {
			t.Errorf("lint did not report %s; reported %v", want, got)
		}
	}
}

// TestImageShape pins what the chart and the README rely on.
func TestImageShape(t *testing.T) {
	f, err := Load(dockerfilePath)
	if err != nil {
		t.Fatal(err)
	}
	final := f.Final()
	if final.BaseName != "gcr.io/distroless/static-debian12:nonroot" {
		t.Errorf("runtime base %q, want gcr.io/distroless/static-debian12:nonroot", final.BaseName)
	}
	var (
		user, copySrc        string
		entrypoint, cmd      []string
		exposed              []string
		entryShell, cmdShell bool
	)
	for _, c := range final.Commands {
		switch c := c.(type) {
		case *instructions.UserCommand:
			user = c.User
		case *instructions.EntrypointCommand:
			entrypoint, entryShell = c.CmdLine, c.PrependShell
		case *instructions.CmdCommand:
			cmd, cmdShell = c.CmdLine, c.PrependShell
		case *instructions.ExposeCommand:
			exposed = append(exposed, c.Ports...)
		case *instructions.CopyCommand:
			if c.From == "build" && len(c.SourcePaths) == 1 && c.DestPath == "/meshbot" {
				copySrc = c.SourcePaths[0]
			}
		case *instructions.RunCommand:
			t.Errorf("the runtime stage runs %q: distroless has no shell", c.CmdLine)
		}
	}
	// The chart sets runAsUser 65532 as well; the image must agree on its own
	// for clusters that only set runAsNonRoot.
	if user != "65532:65532" {
		t.Errorf("USER %q, want 65532:65532 (distroless nonroot, numeric)", user)
	}
	if entryShell || !slices.Equal(entrypoint, []string{"/meshbot"}) {
		t.Errorf("ENTRYPOINT %q (shell form %v), want [\"/meshbot\"]", entrypoint, entryShell)
	}
	if cmdShell || !slices.Equal(cmd, []string{"serve"}) {
		t.Errorf("CMD %q (shell form %v), want [\"serve\"]", cmd, cmdShell)
	}
	if port := defaultPort(t); !slices.Equal(exposed, []string{port}) {
		t.Errorf("EXPOSE %v, want [%s], the port of config.DefaultAddr", exposed, port)
	}
	if copySrc == "" {
		t.Fatal("the runtime stage does not COPY --from=build <binary> /meshbot")
	}

	steps, err := f.RunSteps("build", nil)
	if err != nil {
		t.Fatal(err)
	}
	var build string
	for _, s := range steps {
		if strings.Contains(s.Command, "go build") {
			build = s.Command
		}
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", `-X main.version=${VERSION}`, "-o " + copySrc, "./cmd/meshbot"} {
		if !strings.Contains(build, want) {
			t.Errorf("the build stage's go build lacks %q: %q", want, build)
		}
	}
}

// defaultPort reads config.DefaultAddr from the source, so EXPOSE follows the
// binary without this module depending on the main one.
func defaultPort(t *testing.T) string {
	t.Helper()
	path := filepath.Join("..", "..", "..", "internal", "config", "config.go")
	file, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var addr string
	ast.Inspect(file, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || len(vs.Names) != len(vs.Values) {
			return true
		}
		for i, name := range vs.Names {
			if lit, ok := vs.Values[i].(*ast.BasicLit); ok && name.Name == "DefaultAddr" {
				addr = constant.StringVal(constant.MakeFromLiteral(lit.Value, lit.Kind, 0))
			}
		}
		return true
	})
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("config.DefaultAddr %q in %s: %v", addr, path, err)
	}
	return port
}
