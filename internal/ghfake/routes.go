package ghfake

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

type authKind int

const (
	authApp          authKind = iota // an app JWT
	authInstallation                 // an installation access token
)

// call is one request on its way through a handler; the fake's lock is held.
type call struct {
	f    *Fake
	w    http.ResponseWriter
	r    *http.Request
	raw  []byte // the validated JSON body
	inst int64  // the token's installation
	repo *Repo
}

type handler func(c *call)

func (c *call) json(status int, v any) { writeJSON(c.w, status, v) }

func (c *call) fail(status int, message string) {
	c.json(status, map[string]any{"message": message, "documentation_url": "https://docs.github.com/rest"})
}

func (c *call) notFound() { c.fail(http.StatusNotFound, "Not Found") }

// emptyRepository is GitHub's answer on the git endpoints (refs, trees) of
// a repository without commits: 409, not 404.
func (c *call) emptyRepository() { c.fail(http.StatusConflict, "Git Repository is empty.") }

// unprocessable answers 422 in GitHub's validation-error shape.
func (c *call) unprocessable(message string, errs ...map[string]any) {
	body := map[string]any{"message": message, "documentation_url": "https://docs.github.com/rest"}
	if len(errs) > 0 {
		body["errors"] = errs
	}
	c.json(http.StatusUnprocessableEntity, body)
}

func (c *call) violation(format string, args ...any) {
	msg := c.r.Method + " " + c.r.URL.Path + ": " + fmt.Sprintf(format, args...)
	c.f.violations = append(c.f.violations, msg)
}

// restWildcards are path parameters whose values may contain "/": in the
// mux they must take the rest of the path.
var restWildcards = map[string]bool{"{path}": true, "{ref}": true, "{branch}": true, "{basehead}": true}

// route registers a handler for an operation of the OpenAPI description,
// named by its path template, so the body schema and the route cannot drift
// apart.
func (f *Fake) route(mux *http.ServeMux, method, template string, auth authKind, h handler) error {
	op, err := f.spec.operation(method, template)
	if err != nil {
		return err
	}
	segs := strings.Split(template, "/")
	if last := segs[len(segs)-1]; restWildcards[last] {
		segs[len(segs)-1] = strings.TrimSuffix(last, "}") + "...}"
	}
	pattern := method + " " + strings.Join(segs, "/")
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		c := &call{f: f, w: w, r: r}
		if !f.authenticate(c, auth) {
			return
		}
		if owner := r.PathValue("owner"); owner != "" {
			repo := f.repos[strings.ToLower(owner+"/"+r.PathValue("repo"))]
			// An installation token sees only its installation's
			// repositories; others are 404, not 403, as on GitHub.
			if repo == nil || (auth == authInstallation && repo.installation != c.inst) {
				c.notFound()
				return
			}
			c.repo = repo
		}
		if op.Body != nil && (method == http.MethodPost || method == http.MethodPatch || method == http.MethodPut) {
			raw, err := readBody(r)
			if err != nil {
				c.violation("%s: %v", op.ID, err)
				c.fail(http.StatusRequestEntityTooLarge, err.Error())
				return
			}
			// An optional body sent as JSON null counts as absent: GitHub
			// takes it (ghinstallation sends "null" to access_tokens when
			// no token options are set, and that works against GitHub).
			if !op.BodyRequired && string(raw) == "null" {
				raw = nil
			}
			if len(raw) == 0 {
				if op.BodyRequired {
					c.violation("%s: request body is required", op.ID)
					c.fail(http.StatusBadRequest, "Problems parsing JSON")
					return
				}
			} else {
				if _, msg := validate(op.Body, raw); msg != "" {
					c.violation("%s: %s", op.ID, msg)
					if strings.HasPrefix(msg, "Problems parsing JSON") {
						c.fail(http.StatusBadRequest, msg)
					} else {
						c.unprocessable("Invalid request.\n\n"+msg, map[string]any{"code": "invalid", "message": msg})
					}
					return
				}
				c.raw = raw
			}
		}
		h(c)
	})
	return nil
}

func (f *Fake) authenticate(c *call, kind authKind) bool {
	authz := c.r.Header.Get("Authorization")
	scheme, cred, _ := strings.Cut(authz, " ")
	switch kind {
	case authApp:
		if !strings.EqualFold(scheme, "Bearer") || cred == "" {
			c.fail(http.StatusUnauthorized, "A JSON web token could not be decoded")
			return false
		}
		if err := verifyAppJWT(cred, f.opts.PublicKey, f.opts.AppID, time.Now()); err != nil {
			c.fail(http.StatusUnauthorized, err.Error())
			return false
		}
		return true
	default:
		if !strings.EqualFold(scheme, "token") && !strings.EqualFold(scheme, "Bearer") {
			c.fail(http.StatusUnauthorized, "Requires authentication")
			return false
		}
		t := f.tokens[cred]
		if t == nil || time.Now().After(t.expires) {
			c.fail(http.StatusUnauthorized, "Bad credentials")
			return false
		}
		c.inst = t.installation
		return true
	}
}

func (f *Fake) routes(mux *http.ServeMux) error {
	type r struct {
		method, template string
		auth             authKind
		h                handler
	}
	const (
		app = authApp
		ins = authInstallation
	)
	for _, x := range []r{
		{"GET", "/app", app, f.getApp},
		{"GET", "/app/installations", app, f.listInstallations},
		{"POST", "/app/installations/{installation_id}/access_tokens", app, f.createToken},
		{"GET", "/app/hook/deliveries", app, f.listDeliveries},
		{"POST", "/app/hook/deliveries/{delivery_id}/attempts", app, f.redeliver},
		{"GET", "/installation/repositories", ins, f.listInstallationRepos},
		{"GET", "/repos/{owner}/{repo}", ins, f.getRepo},
		{"GET", "/repos/{owner}/{repo}/installation", app, f.getRepoInstallation},
		{"GET", "/repos/{owner}/{repo}/pulls/{pull_number}", ins, f.getPull},
		{"GET", "/repos/{owner}/{repo}/pulls/{pull_number}/files", ins, f.listPullFiles},
		{"GET", "/repos/{owner}/{repo}/pulls", ins, f.listPulls},
		{"POST", "/repos/{owner}/{repo}/pulls", ins, f.createPull},
		{"GET", "/repos/{owner}/{repo}/contents/{path}", ins, f.getContents},
		{"PUT", "/repos/{owner}/{repo}/contents/{path}", ins, f.putContents},
		{"GET", "/repos/{owner}/{repo}/git/blobs/{file_sha}", ins, f.getBlob},
		{"GET", "/repos/{owner}/{repo}/git/trees/{tree_sha}", ins, f.getTree},
		{"GET", "/repos/{owner}/{repo}/git/ref/{ref}", ins, f.getRef},
		{"POST", "/repos/{owner}/{repo}/git/refs", ins, f.createRef},
		{"GET", "/repos/{owner}/{repo}/branches/{branch}", ins, f.getBranch},
		{"GET", "/repos/{owner}/{repo}/compare/{basehead}", ins, f.compare},
		{"POST", "/repos/{owner}/{repo}/check-runs", ins, f.createCheckRun},
		{"GET", "/repos/{owner}/{repo}/check-runs/{check_run_id}", ins, f.getCheckRun},
		{"PATCH", "/repos/{owner}/{repo}/check-runs/{check_run_id}", ins, f.updateCheckRun},
		{"GET", "/repos/{owner}/{repo}/commits/{ref}/check-runs", ins, f.listCheckRuns},
		{"GET", "/repos/{owner}/{repo}/issues/{issue_number}/comments", ins, f.listComments},
		{"POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments", ins, f.createComment},
		{"POST", "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions", ins, f.createReaction},
		{"GET", "/repos/{owner}/{repo}/collaborators/{username}/permission", ins, f.getPermission},
		{"GET", "/orgs/{org}/teams/{team_slug}/memberships/{username}", ins, f.getTeamMembership},
		{"POST", "/repos/{owner}/{repo}/git/blobs", ins, f.createBlob},
		{"POST", "/repos/{owner}/{repo}/git/trees", ins, f.createTree},
		{"POST", "/repos/{owner}/{repo}/git/commits", ins, f.createCommit},
		{"PATCH", "/repos/{owner}/{repo}/git/refs/{ref}", ins, f.updateRef},
		{"GET", "/repos/{owner}/{repo}/git/matching-refs/{ref}", ins, f.matchingRefs},
		{"PATCH", "/repos/{owner}/{repo}/pulls/{pull_number}", ins, f.updatePull},
	} {
		if err := f.route(mux, x.method, x.template, x.auth, x.h); err != nil {
			return err
		}
	}
	return nil
}
