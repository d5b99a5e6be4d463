// Package backstage maps meshbot's registry to Backstage catalog entities
// and serves them to Backstage's catalog at GET /backstage/entities.
//
// The mapping (README, "Backstage", says why), each entity in the namespace
// of the organisation owning the product's repository:
//
//	mesh domain          → Domain    <org>/<domain>
//	owning team          → Group     <org>/<team-slug>            (spec.type team)
//	data product         → System    <org>/<domain>.<name>        (spec.type data-product)
//	data product         → Component <org>/<domain>.<name>        (spec.type data-pipeline: providesApis its ports, consumesApis what its input ports read)
//	output port          → API       <org>/<domain>.<name>--<port> (spec.definition: the contract as YAML)
//
// An organisation's entities depend on its own products only: names are
// claimed per namespace and input ports resolve within the organisation, so
// what one tenant sees never changes because another installed the App.
package backstage

import (
	"cmp"
	"maps"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/meshbot/meshbot/internal/mesh"
)

// APIVersion of every entity.
const APIVersion = "backstage.io/v1alpha1"

// Entity kinds emitted.
const (
	KindDomain    = "Domain"
	KindGroup     = "Group"
	KindSystem    = "System"
	KindComponent = "Component"
	KindAPI       = "API"
)

// Spec types chosen for meshbot's entities.
const (
	SystemType    = "data-product"
	ComponentType = "data-pipeline"
	GroupType     = "team"
	// APITypeFallback is an API's spec.type when its port declares no type.
	APITypeFallback = "dataset"
)

// Annotations.
const (
	AnnotationLocation       = "backstage.io/managed-by-location"
	AnnotationOriginLocation = "backstage.io/managed-by-origin-location"
	AnnotationSourceLocation = "backstage.io/source-location"
	AnnotationViewURL        = "backstage.io/view-url"
	AnnotationEditURL        = "backstage.io/edit-url"
	AnnotationProjectSlug    = "github.com/project-slug"
	AnnotationTeamSlug       = "github.com/team-slug"

	AnnotationProduct         = "meshbot.io/product"
	AnnotationPort            = "meshbot.io/port"
	AnnotationPortType        = "meshbot.io/port-type"
	AnnotationPortLocation    = "meshbot.io/port-location"
	AnnotationTopic           = "meshbot.io/topic"
	AnnotationContract        = "meshbot.io/contract"
	AnnotationContractFormat  = "meshbot.io/contract-format"
	AnnotationContractVersion = "meshbot.io/contract-version"
	AnnotationLifecycle       = "meshbot.io/lifecycle"
	AnnotationSunset          = "meshbot.io/sunset"
	AnnotationReplacement     = "meshbot.io/replacement"
	AnnotationReplacementRef  = "meshbot.io/replacement-ref"
	AnnotationReason          = "meshbot.io/deprecation-reason"
	AnnotationFreshness       = "meshbot.io/freshness"
	AnnotationAvailability    = "meshbot.io/availability"
	AnnotationResidency       = "meshbot.io/residency"
	AnnotationPIIFields       = "meshbot.io/pii-fields"
	AnnotationUnresolved      = "meshbot.io/unresolved-inputs"
)

// Tags.
const TagPII = "pii"

// Entity is a Backstage catalog entity as meshbot emits it.
type Entity struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Metadata   Metadata `json:"metadata"`
	Spec       Spec     `json:"spec"`
}

// Metadata is the part of an entity's metadata meshbot fills.
type Metadata struct {
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace"`
	Title       string            `json:"title,omitempty"`
	Description string            `json:"description,omitempty"`
	Annotations map[string]string `json:"annotations"`
	Tags        []string          `json:"tags,omitempty"`
	Links       []Link            `json:"links,omitempty"`
}

// Link is an entry of metadata.links.
type Link struct {
	URL   string `json:"url"`
	Title string `json:"title,omitempty"`
	Icon  string `json:"icon,omitempty"`
	Type  string `json:"type,omitempty"`
}

// Spec holds the spec fields of every kind meshbot emits; each kind fills
// its own. Children is written even when empty ([]), since Group requires
// it, and left out (nil) for the other kinds.
type Spec struct {
	Type         string   `json:"type,omitempty"`
	Lifecycle    string   `json:"lifecycle,omitempty"`
	Owner        string   `json:"owner,omitempty"`
	Domain       string   `json:"domain,omitempty"`
	System       string   `json:"system,omitempty"`
	ProvidesAPIs []string `json:"providesApis,omitempty"`
	ConsumesAPIs []string `json:"consumesApis,omitempty"`
	Children     []string `json:"children,omitzero"`
	Definition   string   `json:"definition,omitempty"`
}

// Ref is the entity's full reference, kind:namespace/name, kind lower-cased.
func (e *Entity) Ref() string {
	return ref(e.Kind, e.Metadata.Namespace, e.Metadata.Name)
}

func ref(kind, ns, name string) string {
	return strings.ToLower(kind) + ":" + ns + "/" + name
}

// Options shape the mapping.
type Options struct {
	// GitHubURL is the web root links and locations point at:
	// https://github.com (the default) or https://HOST for GitHub Enterprise
	// Server (WebURL derives it from GITHUB_API_URL).
	GitHubURL string
	// Namespace of the entities of products without a repository (read
	// from a local checkout); default "default". Products of the registry
	// go to their organisation's namespace (OrgNamespace).
	Namespace string
	// Ref is the git ref in GitHub links. The registry indexes default
	// branches but does not keep their names, and GitHub resolves HEAD to
	// the default branch; default "HEAD".
	Ref string
}

func (o Options) withDefaults() Options {
	if o.GitHubURL == "" {
		o.GitHubURL = "https://github.com"
	}
	o.GitHubURL = strings.TrimRight(o.GitHubURL, "/")
	if o.Namespace == "" {
		o.Namespace = "default"
	}
	if o.Ref == "" {
		o.Ref = "HEAD"
	}
	return o
}

// WebURL is GitHub's web root for a REST API base URL:
// https://api.github.com/ → https://github.com, https://HOST/api/v3/ →
// https://HOST.
func WebURL(apiURL string) string {
	u, err := url.Parse(apiURL)
	if err != nil || u.Host == "" {
		return "https://github.com"
	}
	if u.Host == "api.github.com" {
		return "https://github.com"
	}
	return u.Scheme + "://" + u.Host
}

// Entities maps products (of one or several installations, each stamped
// with its Repo) to Backstage entities: Domains, then Groups, then per
// product its System, Component and APIs. Products are read, never changed.
func Entities(products []*mesh.Product, opts Options) []Entity {
	pl := newPlan(products, opts)
	out := make([]Entity, 0, pl.count())
	_ = pl.each(func(e *Entity) error {
		out = append(out, e.clone())
		return nil
	})
	return out
}

// plan is everything about the mapping that needs the whole registry: the
// unique names, the owners of domains, the resolution of input ports. It
// holds strings, not entities, so the entities themselves can be built and
// written one at a time.
type entityPlan struct {
	opts     Options
	products []*productPlan
	domains  []*domainPlan
	groups   []*groupPlan
	byID     map[string][]*productPlan
}

type productPlan struct {
	p      *mesh.Product
	ns     string   // namespace of all its entities: its organisation's
	name   string   // of its System and its Component
	ports  []string // API names, parallel to p.OutputPorts
	owner  *groupPlan
	domain *domainPlan
}

type domainPlan struct {
	ns     string
	name   string
	first  *productPlan // locates the entity
	owners map[*groupPlan]int
	count  int
}

type groupPlan struct {
	ns    string
	name  string
	slug  string // as GitHub knows it, without organisation
	first *productPlan
	orgs  map[string]bool
	count int
}

func newPlan(products []*mesh.Product, opts Options) *entityPlan {
	pl := &entityPlan{opts: opts.withDefaults(), byID: map[string][]*productPlan{}}
	// Names are unique per kind and namespace, and a namespace is one
	// organisation's: claiming them per namespace keeps an organisation's
	// names independent of every other organisation's products.
	type kindNS struct{ kind, ns string }
	namers := map[kindNS]*namer{}
	claim := func(kind, ns, want, key string) string {
		n := namers[kindNS{kind, ns}]
		if n == nil {
			n = newNamer()
			namers[kindNS{kind, ns}] = n
		}
		return n.claim(want, key)
	}
	domainByKey := map[string]*domainPlan{}
	groupByKey := map[string]*groupPlan{}
	for _, p := range products {
		if p == nil {
			continue
		}
		ns := pl.namespace(p)
		key := p.Repo + "\x00" + p.File
		pp := &productPlan{p: p, ns: ns, name: claim(KindSystem, ns, p.ID(), key)}
		for i, o := range p.OutputPorts {
			pp.ports = append(pp.ports, claim(KindAPI, ns, p.ID()+"--"+o.Name, key+"\x00"+o.Name+"\x00"+strconv.Itoa(i)))
		}
		slug, org := teamSlug(p.Owner)
		// A team is one organisation's: team-x of acme and team-x of
		// globex are two Groups, each in its organisation's namespace.
		gk := ns + "\x00" + strings.ToLower(slug)
		g := groupByKey[gk]
		if g == nil {
			g = &groupPlan{ns: ns, name: claim(KindGroup, ns, slug, gk), slug: slug, first: pp, orgs: map[string]bool{}}
			groupByKey[gk] = g
			pl.groups = append(pl.groups, g)
		}
		if org == "" {
			org = repoOwner(p.Repo)
		}
		g.orgs[strings.ToLower(org)] = true
		g.count++
		pp.owner = g
		if p.Domain != "" {
			dk := ns + "\x00" + strings.ToLower(p.Domain)
			d := domainByKey[dk]
			if d == nil {
				d = &domainPlan{ns: ns, name: claim(KindDomain, ns, p.Domain, dk), first: pp, owners: map[*groupPlan]int{}}
				domainByKey[dk] = d
				pl.domains = append(pl.domains, d)
			}
			d.owners[g]++
			d.count++
			pp.domain = d
		}
		pl.products = append(pl.products, pp)
		pl.byID[p.ID()] = append(pl.byID[p.ID()], pp)
	}
	slices.SortFunc(pl.domains, func(a, b *domainPlan) int { return cmp.Or(cmp.Compare(a.ns, b.ns), cmp.Compare(a.name, b.name)) })
	slices.SortFunc(pl.groups, func(a, b *groupPlan) int { return cmp.Or(cmp.Compare(a.ns, b.ns), cmp.Compare(a.name, b.name)) })
	return pl
}

// namespace is the namespace of a product's entities: its repository's
// organisation, or Options.Namespace for a product read from a checkout.
func (pl *entityPlan) namespace(p *mesh.Product) string {
	if org := repoOwner(p.Repo); org != "" && p.Repo != "" {
		return OrgNamespace(org)
	}
	return pl.opts.Namespace
}

// teamSlug reads an owner as written ("team-x", "@acme/team-x",
// "acme/team-x") as a team slug and, when given, its organisation. A
// product without an owner is owned by the group "unowned", so that every
// spec.owner resolves and the gap is visible in Backstage.
func teamSlug(owner string) (slug, org string) {
	s := strings.TrimPrefix(strings.TrimSpace(owner), "@")
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		org, s = s[:i], s[i+1:]
	}
	if s == "" {
		return "unowned", org
	}
	return s, org
}

func repoOwner(repo string) string {
	owner, _, _ := strings.Cut(repo, "/")
	return owner
}

// count is how many entities each will produce.
func (pl *entityPlan) count() int {
	n := len(pl.domains) + len(pl.groups)
	for _, pp := range pl.products {
		n += 2 + len(pp.ports)
	}
	return n
}

// each builds the entities one at a time and hands each to fn, which must
// not keep it: the same Entity is reused for the next one. It stops at fn's
// first error.
func (pl *entityPlan) each(fn func(*Entity) error) error {
	var e Entity
	if err := pl.shared(&e, fn); err != nil {
		return err
	}
	for _, pp := range pl.products {
		if err := pl.product(&e, pp, fn); err != nil {
			return err
		}
	}
	return nil
}

// shared builds the Domains and Groups.
func (pl *entityPlan) shared(e *Entity, fn func(*Entity) error) error {
	for _, d := range pl.domains {
		pl.domain(e, d)
		if err := fn(e); err != nil {
			return err
		}
	}
	for _, g := range pl.groups {
		pl.group(e, g)
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

// product builds one product's System, Component and APIs. It reads the
// plan only, so products can be built concurrently.
func (pl *entityPlan) product(e *Entity, pp *productPlan, fn func(*Entity) error) error {
	l := pl.links(pp.p)
	pl.system(e, pp, &l)
	if err := fn(e); err != nil {
		return err
	}
	pl.component(e, pp, &l)
	if err := fn(e); err != nil {
		return err
	}
	var last *mesh.Contract
	var lastDef string
	for i, o := range pp.p.OutputPorts {
		// Ports of one product often share a contract (one table,
		// several transports): render it once.
		def := lastDef
		if o.Contract == nil || o.Contract != last {
			def = definition(pp.p, o)
		}
		last, lastDef = o.Contract, def
		pl.api(e, pp, &l, i, def)
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

// reset readies e for the next entity, reusing its map and slices: builds
// write tens of thousands of entities, and callers that keep one copy it
// (see Entities).
func (pl *entityPlan) reset(e *Entity, kind, ns, name string) {
	a := e.Metadata.Annotations
	if a == nil {
		a = make(map[string]string, 24)
	}
	clear(a)
	tags, links, provides, consumes := e.Metadata.Tags[:0], e.Metadata.Links[:0], e.Spec.ProvidesAPIs[:0], e.Spec.ConsumesAPIs[:0]
	*e = Entity{APIVersion: APIVersion, Kind: kind, Metadata: Metadata{
		Name: name, Namespace: ns, Annotations: a, Tags: tags, Links: links,
	}, Spec: Spec{ProvidesAPIs: provides, ConsumesAPIs: consumes}}
}

// clone is a deep copy of e.
func (e *Entity) clone() Entity {
	c := *e
	c.Metadata.Annotations = maps.Clone(e.Metadata.Annotations)
	c.Metadata.Tags = slices.Clip(slices.Clone(e.Metadata.Tags))
	c.Metadata.Links = slices.Clip(slices.Clone(e.Metadata.Links))
	c.Spec.ProvidesAPIs = slices.Clip(slices.Clone(e.Spec.ProvidesAPIs))
	c.Spec.ConsumesAPIs = slices.Clip(slices.Clone(e.Spec.ConsumesAPIs))
	c.Spec.Children = slices.Clone(e.Spec.Children)
	return c
}

func (pl *entityPlan) domain(e *Entity, d *domainPlan) {
	pl.reset(e, KindDomain, d.ns, d.name)
	// The owner of a domain is the team owning most of its products (ties:
	// the first name in order): the mesh has no domain owner of its own,
	// and the team carrying most of it is who a newcomer should ask.
	var owner *groupPlan
	for g, n := range d.owners {
		if owner == nil || n > d.owners[owner] || n == d.owners[owner] && g.name < owner.name {
			owner = g
		}
	}
	e.Metadata.Title = d.first.p.Domain
	e.Metadata.Description = "Data mesh domain " + d.first.p.Domain + " (" + plural(d.count, "data product") + ")."
	e.Spec.Owner = ref(KindGroup, d.ns, owner.name)
	l := pl.links(d.first.p)
	pl.locate(e, &l, false)
}

func (pl *entityPlan) group(e *Entity, g *groupPlan) {
	pl.reset(e, KindGroup, g.ns, g.name)
	e.Metadata.Title = g.slug
	e.Metadata.Description = "Team owning " + plural(g.count, "data product") + " in the data mesh."
	e.Spec.Type = GroupType
	e.Spec.Children = []string{}
	if len(g.orgs) == 1 {
		for org := range g.orgs {
			if org != "" && g.slug != "unowned" {
				e.Metadata.Annotations[AnnotationTeamSlug] = org + "/" + g.slug
			}
		}
	}
	l := pl.links(g.first.p)
	pl.locate(e, &l, false)
}

func (pl *entityPlan) system(e *Entity, pp *productPlan, l *productLinks) {
	p := pp.p
	pl.reset(e, KindSystem, pp.ns, pp.name)
	e.Metadata.Title = p.ID()
	e.Metadata.Description = describe(p.Description, p.Deprecation)
	e.Spec.Type = SystemType
	e.Spec.Owner = ref(KindGroup, pp.ns, pp.owner.name)
	if pp.domain != nil {
		e.Spec.Domain = ref(KindDomain, pp.ns, pp.domain.name)
	}
	pl.productMeta(e, pp, l)
}

func (pl *entityPlan) component(e *Entity, pp *productPlan, l *productLinks) {
	p := pp.p
	pl.reset(e, KindComponent, pp.ns, pp.name)
	e.Metadata.Title = p.ID()
	e.Metadata.Description = describe(p.Description, p.Deprecation)
	e.Spec.Type = ComponentType
	e.Spec.Lifecycle = catalogLifecycle(productLifecycle(p))
	e.Spec.Owner = ref(KindGroup, pp.ns, pp.owner.name)
	e.Spec.System = ref(KindSystem, pp.ns, pp.name)
	for _, n := range pp.ports {
		e.Spec.ProvidesAPIs = append(e.Spec.ProvidesAPIs, ref(KindAPI, pp.ns, n))
	}
	var unresolved []string
	for _, in := range p.InputPorts {
		if api := pl.portRef(pp, in.Product, in.Port); api != "" {
			if !slices.Contains(e.Spec.ConsumesAPIs, api) {
				e.Spec.ConsumesAPIs = append(e.Spec.ConsumesAPIs, api)
			}
		} else {
			unresolved = append(unresolved, in.Product+"/"+in.Port)
		}
	}
	if len(unresolved) > 0 {
		// Backstage would show a dangling relation; say what is missing.
		e.Metadata.Annotations[AnnotationUnresolved] = strings.Join(unresolved, ", ")
	}
	pl.productMeta(e, pp, l)
}

func (pl *entityPlan) productMeta(e *Entity, pp *productPlan, l *productLinks) {
	p := pp.p
	a := e.Metadata.Annotations
	a[AnnotationProduct] = p.ID()
	a[AnnotationLifecycle] = productLifecycle(p)
	deprecationAnnotations(a, p.Deprecation, pl.replacementRef(pp, p.Deprecation))
	setIf(a, AnnotationFreshness, p.SLA.Freshness)
	setIf(a, AnnotationAvailability, p.SLA.Availability)
	pl.classify(e, p)
	pl.locate(e, l, true)
}

func (pl *entityPlan) api(e *Entity, pp *productPlan, l *productLinks, i int, def string) {
	p, o := pp.p, pp.p.OutputPorts[i]
	pl.reset(e, KindAPI, pp.ns, pp.ports[i])
	e.Metadata.Title = p.ID() + "/" + o.Name
	dep := o.Deprecation
	if dep == nil {
		dep = p.Deprecation
	}
	if dep == nil && o.Contract != nil {
		dep = o.Contract.Deprecation
	}
	desc := "Output port " + o.Name + " of data product " + p.ID() + "."
	if c := o.Contract; c != nil && c.Title != "" {
		desc = c.Title + ": output port " + o.Name + " of data product " + p.ID() + "."
	}
	e.Metadata.Description = describe(desc, dep)
	e.Spec.Type = apiType(o.Type)
	lifecycle := portLifecycle(p, o)
	e.Spec.Lifecycle = catalogLifecycle(lifecycle)
	e.Spec.Owner = ref(KindGroup, pp.ns, pp.owner.name)
	e.Spec.System = ref(KindSystem, pp.ns, pp.name)
	e.Spec.Definition = def

	a := e.Metadata.Annotations
	a[AnnotationProduct] = p.ID()
	a[AnnotationPort] = o.Name
	setIf(a, AnnotationPortType, o.Type)
	setIf(a, AnnotationPortLocation, o.Location)
	setIf(a, AnnotationTopic, o.Topic)
	a[AnnotationLifecycle] = lifecycle
	deprecationAnnotations(a, dep, pl.replacementRef(pp, dep))
	setIf(a, AnnotationFreshness, p.SLA.Freshness)
	setIf(a, AnnotationAvailability, p.SLA.Availability)
	if o.ContractPath != "" {
		a[AnnotationContract] = o.ContractPath
	}
	if c := o.Contract; c != nil {
		a[AnnotationContractFormat] = string(c.Format)
		setIf(a, AnnotationContractVersion, c.Version)
	}
	pl.classify(e, p)
	pl.locate(e, l, true)
	if p.Repo != "" && o.ContractPath != "" {
		u := pl.fileURL(p.Repo, "blob", o.ContractPath)
		a[AnnotationViewURL] = u
		a[AnnotationEditURL] = pl.fileURL(p.Repo, "edit", o.ContractPath)
		e.Metadata.Links = append(e.Metadata.Links, Link{URL: u, Title: "Data contract", Icon: "docs"})
	}
}

// producer is the first product of the consumer's own organisation
// (namespace) with the id, nil when it has none. Products of other
// organisations are not considered: a tenant's entities must not change
// (nor point into another tenant's namespace) because another organisation
// installed the App.
func (pl *entityPlan) producer(consumer *productPlan, product string) *productPlan {
	for _, c := range pl.byID[product] {
		if c.ns == consumer.ns {
			return c
		}
	}
	return nil
}

// portRef resolves an input port's producer and port to an API entity ref
// within the consumer's organisation; "" when nothing matches.
func (pl *entityPlan) portRef(consumer *productPlan, product, port string) string {
	best := pl.producer(consumer, product)
	if best == nil {
		return ""
	}
	for i, o := range best.p.OutputPorts {
		if o.Name == port {
			return ref(KindAPI, best.ns, best.ports[i])
		}
	}
	return ""
}

// replacementRef resolves a deprecation's replacement ("product" or
// "product/port") to an entity ref, "" when it names nothing known.
func (pl *entityPlan) replacementRef(pp *productPlan, d *mesh.Deprecation) string {
	if d == nil || d.Replacement == "" {
		return ""
	}
	prod, port, hasPort := strings.Cut(d.Replacement, "/")
	if hasPort {
		return pl.portRef(pp, prod, port)
	}
	if c := pl.producer(pp, prod); c != nil {
		return ref(KindSystem, c.ns, c.name)
	}
	return ""
}

func deprecationAnnotations(a map[string]string, d *mesh.Deprecation, replacementRef string) {
	if d == nil {
		return
	}
	setIf(a, AnnotationSunset, d.Sunset)
	setIf(a, AnnotationReplacement, d.Replacement)
	setIf(a, AnnotationReplacementRef, replacementRef)
	setIf(a, AnnotationReason, d.Reason)
}

func (pl *entityPlan) classify(e *Entity, p *mesh.Product) {
	c := p.Classification
	if c.ContainsPII {
		e.Metadata.Tags = append(e.Metadata.Tags, TagPII)
		if len(c.PIIFields) > 0 {
			e.Metadata.Annotations[AnnotationPIIFields] = strings.Join(c.PIIFields, ", ")
		}
	}
	if c.Residency != "" {
		e.Metadata.Annotations[AnnotationResidency] = c.Residency
		if t := Tag("residency-" + c.Residency); t != "" && t != "residency" {
			e.Metadata.Tags = append(e.Metadata.Tags, t)
		}
	}
}

// productLinks are the GitHub URLs of a product's descriptor, computed once
// for all of its entities.
type productLinks struct {
	loc                    string // location ref: url:<blob> (file:<path> without a repository)
	repo, blob, tree, edit string // "" without a repository
}

func (pl *entityPlan) links(p *mesh.Product) productLinks {
	if p.Repo == "" {
		// A product read from a local checkout (not the App's registry)
		// has no GitHub URL; Backstage accepts any location type here.
		return productLinks{loc: "file:" + p.File}
	}
	blob := pl.fileURL(p.Repo, "blob", p.File)
	return productLinks{
		loc:  "url:" + blob,
		repo: pl.opts.GitHubURL + "/" + p.Repo,
		blob: blob,
		tree: pl.fileURL(p.Repo, "tree", path.Dir(p.File)) + "/",
		edit: pl.fileURL(p.Repo, "edit", p.File),
	}
}

// locate sets where the entity comes from. Every entity points at a
// descriptor on GitHub: products at their own, domains and groups at the
// first product that names them. Backstage requires both location
// annotations on provider-emitted entities, and a GitHub URL there gives
// users working "View source" links. withLinks adds the source, view and
// edit annotations and the links of a product's own entities.
func (pl *entityPlan) locate(e *Entity, l *productLinks, withLinks bool) {
	a := e.Metadata.Annotations
	a[AnnotationLocation] = l.loc
	a[AnnotationOriginLocation] = l.loc
	if !withLinks || l.blob == "" {
		return
	}
	a[AnnotationProjectSlug] = strings.TrimPrefix(l.repo, pl.opts.GitHubURL+"/")
	a[AnnotationSourceLocation] = "url:" + l.tree
	a[AnnotationViewURL] = l.blob
	a[AnnotationEditURL] = l.edit
	e.Metadata.Links = append(e.Metadata.Links,
		Link{URL: l.repo, Title: "Repository " + a[AnnotationProjectSlug], Icon: "github"},
		Link{URL: l.blob, Title: "Data product descriptor", Icon: "docs"},
	)
}

// fileURL is GitHub's web URL of file in repo: view is blob, tree or edit.
func (pl *entityPlan) fileURL(repo, view, file string) string {
	if urlSafe(file) {
		return pl.opts.GitHubURL + "/" + repo + "/" + view + "/" + pl.opts.Ref + "/" + file
	}
	segs := strings.Split(strings.TrimPrefix(path.Clean("/"+file), "/"), "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return pl.opts.GitHubURL + "/" + repo + "/" + view + "/" + pl.opts.Ref + "/" + strings.Join(segs, "/")
}

// urlSafe: a clean relative path of characters that need no escaping.
func urlSafe(p string) bool {
	if p == "" || p[0] == '/' || strings.Contains(p, "//") || strings.Contains(p, "./") || strings.HasSuffix(p, "/") || p == "." || p == ".." {
		return false
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; !alnum(c) && c != '-' && c != '_' && c != '.' && c != '/' {
			return false
		}
	}
	return true
}

func productLifecycle(p *mesh.Product) string {
	if l := strings.ToLower(strings.TrimSpace(p.Lifecycle)); l != "" {
		return l
	}
	if p.Deprecation != nil {
		return mesh.LifecycleDeprecated
	}
	// Unstated is not production: a catalog should not promise what the
	// owner did not.
	return mesh.LifecycleExperimental
}

// catalogLifecycle is the lifecycle Backstage shows for a word as a
// descriptor writes it: the standards' status words (ODPS and DCS:
// proposed, draft, active, deprecated, retired; DPS: in development) are
// not Backstage's lifecycles (experimental, production, deprecated), which
// its catalog filters and marks by. A word of the organisation's own is
// kept: Backstage takes any.
func catalogLifecycle(word string) string {
	switch word {
	case "active":
		return mesh.LifecycleProduction
	case "proposed", "draft", "in development", "development":
		return mesh.LifecycleExperimental
	case "retired":
		return mesh.LifecycleDeprecated
	}
	return word
}

// portLifecycle: a deprecated (or retired) product deprecates all its
// ports; otherwise a port's own lifecycle wins and it inherits the
// product's. It returns the word as written; catalogLifecycle maps it.
func portLifecycle(p *mesh.Product, o *mesh.OutputPort) string {
	pl := productLifecycle(p)
	if catalogLifecycle(pl) == mesh.LifecycleDeprecated {
		return pl
	}
	if l := strings.ToLower(strings.TrimSpace(o.Lifecycle)); l != "" {
		return l
	}
	if o.Deprecation != nil || contractDeprecated(o.Contract) {
		return mesh.LifecycleDeprecated
	}
	return pl
}

// contractDeprecated: a port whose contract is deprecated is deprecated,
// for the formats that can record a deprecation only in the contract (an
// ODPS v0.9 port has neither a status nor custom properties; a DCS or ODCS
// contract has its status, and meshbot's deprecation block).
func contractDeprecated(c *mesh.Contract) bool {
	return c != nil && (c.Deprecation != nil || c.Deprecated || strings.EqualFold(strings.TrimSpace(c.Status), mesh.LifecycleDeprecated))
}

// apiType is the port type as Backstage's spec.type ("iceberg", "kafka",
// ...): what a reader filters APIs by. Spotify's "dataset" is the fallback.
func apiType(t string) string {
	if s := Tag(t); s != "" {
		return s
	}
	return APITypeFallback
}

// describe appends a deprecation sentence to a description.
func describe(desc string, d *mesh.Deprecation) string {
	desc = strings.TrimSpace(desc)
	if d == nil {
		return desc
	}
	s := "Deprecated"
	if d.Sunset != "" {
		s += ", sunset " + d.Sunset
	}
	if d.Replacement != "" {
		s += "; use " + d.Replacement + " instead"
	}
	s += "."
	if d.Reason != "" {
		s += " Reason: " + strings.TrimSuffix(strings.TrimSpace(d.Reason), ".") + "."
	}
	if desc == "" {
		return s
	}
	return desc + " " + s
}

func setIf(a map[string]string, k, v string) {
	if v != "" {
		a[k] = v
	}
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}
