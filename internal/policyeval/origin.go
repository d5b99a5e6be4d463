package policyeval

// Origin says where a Set came from, for the reports it judges: the
// policy repository's commit (with a link to it), or a folder.
type Origin struct {
	Repo   string // owner/name of the policy repository; "" for a folder
	Commit string // the commit the bundle was read at; "" for a folder
	URL    string // the commit's page; "" for a folder
	Source string // a folder's name ("bundled" for the bundled policy) when Repo is ""
}

// WithOrigin returns s, telling where it came from. The Set is shared, not
// recompiled: both values judge alike.
func (s *Set) WithOrigin(o Origin) *Set {
	c := *s
	c.origin = o
	return &c
}

// Origin is where the Set came from (zero when nobody said).
func (s *Set) Origin() Origin { return s.origin }
