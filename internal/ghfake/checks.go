package ghfake

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"time"
)

type checkRunState struct {
	CheckRun
	repo *Repo
}

func (s *checkRunState) snapshot() CheckRun {
	out := s.CheckRun
	out.Annotations = append([]Annotation(nil), s.Annotations...)
	out.Batches = append([]int(nil), s.Batches...)
	out.Updates = append([]CheckRunUpdate(nil), s.Updates...)
	return out
}

type checkRunBody struct {
	Name        *string    `json:"name"`
	HeadSHA     string     `json:"head_sha"`
	DetailsURL  *string    `json:"details_url"`
	ExternalID  *string    `json:"external_id"`
	Status      *string    `json:"status"`
	Conclusion  *string    `json:"conclusion"`
	StartedAt   *time.Time `json:"started_at"`
	CompletedAt *time.Time `json:"completed_at"`
	Output      *struct {
		Title       *string      `json:"title"`
		Summary     *string      `json:"summary"`
		Text        *string      `json:"text"`
		Annotations []Annotation `json:"annotations"`
	} `json:"output"`
}

// checkLimits applies the rules GitHub enforces beyond the JSON schema;
// breaking one is a 422 there and a violation here.
func (c *call) checkLimits(b *checkRunBody) bool {
	const maxText = 65535
	var problems []string
	if b.Output != nil {
		for name, s := range map[string]*string{"title": b.Output.Title, "summary": b.Output.Summary, "text": b.Output.Text} {
			if s != nil && len([]rune(*s)) > maxText {
				problems = append(problems, fmt.Sprintf("output.%s is %d characters (max %d)", name, len([]rune(*s)), maxText))
			}
		}
		if n := len(b.Output.Annotations); n > 50 {
			problems = append(problems, fmt.Sprintf("%d annotations in one request (max 50)", n))
		}
		for i, a := range b.Output.Annotations {
			switch {
			case a.EndLine < a.StartLine:
				problems = append(problems, fmt.Sprintf("annotation %d: end_line %d before start_line %d", i, a.EndLine, a.StartLine))
			case (a.StartColumn != 0 || a.EndColumn != 0) && a.StartLine != a.EndLine:
				problems = append(problems, fmt.Sprintf("annotation %d: columns given for lines %d-%d (only allowed on one line)", i, a.StartLine, a.EndLine))
			case len([]rune(a.Title)) > 255:
				problems = append(problems, fmt.Sprintf("annotation %d: title over 255 characters", i))
			case len(a.Message) > 64*1024 || len(a.RawDetails) > 64*1024:
				problems = append(problems, fmt.Sprintf("annotation %d: message or raw_details over 64 KB", i))
			}
		}
	}
	if len(problems) == 0 {
		return true
	}
	for _, p := range problems {
		c.violation("%s", p)
	}
	c.unprocessable("Invalid request.\n\n" + problems[0])
	return false
}

func (s *checkRunState) apply(b *checkRunBody, op string) {
	now := time.Now().UTC().Truncate(time.Second)
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&s.Name, b.Name)
	set(&s.DetailsURL, b.DetailsURL)
	set(&s.ExternalID, b.ExternalID)
	set(&s.Status, b.Status)
	if b.StartedAt != nil {
		s.StartedAt = *b.StartedAt
	}
	n := 0
	if b.Output != nil {
		set(&s.Title, b.Output.Title)
		set(&s.Summary, b.Output.Summary)
		set(&s.Text, b.Output.Text)
		n = len(b.Output.Annotations)
		if n > 0 {
			s.Annotations = append(s.Annotations, b.Output.Annotations...)
			s.Batches = append(s.Batches, n)
		}
	}
	// A conclusion completes the run, as GitHub documents.
	if b.Conclusion != nil {
		s.Conclusion = *b.Conclusion
		s.Status = "completed"
		s.CompletedAt = now
		if b.CompletedAt != nil {
			s.CompletedAt = *b.CompletedAt
		}
	}
	if s.Status == "" {
		s.Status = "queued"
	}
	if s.Status == "in_progress" && s.StartedAt.IsZero() {
		s.StartedAt = now
	}
	s.Updates = append(s.Updates, CheckRunUpdate{Op: op, Status: s.Status, Conclusion: s.Conclusion, Title: s.Title, Annotations: n})
}

func (f *Fake) createCheckRun(c *call) {
	var b checkRunBody
	if err := decodeInto(c.raw, &b); err != nil {
		c.fail(http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	if c.repo.commits[b.HeadSHA] == nil {
		c.violation("head_sha %q is not a commit of %s", b.HeadSHA, c.repo.fullName())
		c.unprocessable("No commit found for SHA: " + b.HeadSHA)
		return
	}
	if !c.checkLimits(&b) {
		return
	}
	s := &checkRunState{CheckRun: CheckRun{ID: f.id(), HeadSHA: b.HeadSHA}, repo: c.repo}
	s.apply(&b, "create")
	f.checkRuns[s.ID] = s
	c.json(http.StatusCreated, f.checkRunJSON(s))
}

func (c *call) checkRun() *checkRunState {
	id, _ := strconv.ParseInt(c.r.PathValue("check_run_id"), 10, 64)
	s := c.f.checkRuns[id]
	if s == nil || s.repo != c.repo {
		return nil
	}
	return s
}

func (f *Fake) getCheckRun(c *call) {
	s := c.checkRun()
	if s == nil {
		c.notFound()
		return
	}
	c.json(http.StatusOK, f.checkRunJSON(s))
}

func (f *Fake) updateCheckRun(c *call) {
	s := c.checkRun()
	if s == nil {
		c.notFound()
		return
	}
	var b checkRunBody
	if err := decodeInto(c.raw, &b); err != nil {
		c.fail(http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	if !c.checkLimits(&b) {
		return
	}
	s.apply(&b, "update")
	c.json(http.StatusOK, f.checkRunJSON(s))
}

func (f *Fake) listCheckRuns(c *call) {
	cm := c.repo.resolve(c.r.PathValue("ref"))
	if cm == nil {
		c.unprocessable("No commit found for SHA: " + c.r.PathValue("ref"))
		return
	}
	name := c.r.URL.Query().Get("check_name")
	status := c.r.URL.Query().Get("status")
	var list []*checkRunState
	for _, s := range f.checkRuns {
		if s.repo == c.repo && s.HeadSHA == cm.sha && (name == "" || s.Name == name) && (status == "" || s.Status == status) {
			list = append(list, s)
		}
	}
	// Newest first, as GitHub lists them.
	sort.Slice(list, func(i, j int) bool { return list[i].ID > list[j].ID })
	lo, hi := c.paginate(len(list))
	out := []obj{}
	for _, s := range list[lo:hi] {
		out = append(out, f.checkRunJSON(s))
	}
	c.json(http.StatusOK, obj{"total_count": len(list), "check_runs": out})
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (f *Fake) checkRunJSON(s *checkRunState) obj {
	r := s.repo
	url := fmt.Sprintf("%s/repos/%s/check-runs/%d", f.api(), r.fullName(), s.ID)
	prs := []obj{}
	for _, pr := range r.pulls {
		if r.branches[pr.Head] != s.HeadSHA {
			continue
		}
		side := func(ref string) obj {
			return obj{"ref": ref, "sha": r.branches[ref], "repo": obj{"id": r.id, "url": f.api() + "/repos/" + r.fullName(), "name": r.name}}
		}
		prs = append(prs, obj{"id": pr.id, "number": pr.Number, "url": fmt.Sprintf("%s/repos/%s/pulls/%d", f.api(), r.fullName(), pr.Number), "head": side(pr.Head), "base": side(pr.Base)})
	}
	var conclusion any
	if s.Conclusion != "" {
		conclusion = s.Conclusion
	}
	return obj{
		"id": s.ID, "node_id": nodeID("CR", s.ID), "head_sha": s.HeadSHA, "name": s.Name,
		"external_id": s.ExternalID, "url": url, "html_url": fmt.Sprintf("%s/%s/runs/%d", f.web(), r.fullName(), s.ID),
		"details_url": nullable(s.DetailsURL), "status": s.Status, "conclusion": conclusion,
		"started_at": ts(s.StartedAt), "completed_at": ts(s.CompletedAt),
		"output": obj{
			"title": nullable(s.Title), "summary": nullable(s.Summary), "text": nullable(s.Text),
			"annotations_count": len(s.Annotations), "annotations_url": url + "/annotations",
		},
		"check_suite": obj{"id": s.ID + 1_000_000}, "app": f.appJSON(), "pull_requests": prs,
	}
}
