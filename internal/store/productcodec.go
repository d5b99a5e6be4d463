package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/meshbot/meshbot/internal/mesh"
)

// The registry's product encoding. JSON of the model spends most of its bytes
// repeating file paths in every position (about 25 KB per product with its
// contract, 250 MB and tens of seconds to decode for 10,000 products), so
// products are written in a small binary form instead:
//
//	'M' uvarint(formatVersion) sources uvarint(len(table)) table... body
//
// sources is 0 when the record holds no documents (PutRepo), else
// uvarint(len(section)+1) and the section (see packSources): the documents
// the products were read from, for policy previews. It comes first so that
// a reader of products steps over it without inflating anything.
//
// The table holds every distinct string once (index 0 is ""); the body refers
// to strings by index, so a position costs three varints. Decoding slices
// all strings out of one allocation, so products read together share their
// strings in memory too. A contract shared by several ports is written once
// and shared again after decoding. Nil and empty slices and maps stay
// distinct, so a round trip is exact (TestCodecCoversEveryModelField fails
// when a field is added to the model and not here).
//
// Versions. The body follows the model field by field, so any change to the
// model or to the order here is a new format: bump formatVersion (the golden
// test TestEncodingGolden fails until you do). Replicas of several releases
// share one registry during a rolling upgrade, and a registry outlives the
// release that wrote it, so a record of a version this build does not read,
// older or newer, is not an error for its readers: it decodes to
// ErrFormatVersion, the registry reports the repository as needing a
// re-index (RepoProducts.Unreadable), and the next index of the repository
// writes it in the current version.
//
// Records written before the version existed start with 'B' and carry the
// body of version 1. Version 2 added the fields of ODCS 3.2, ODPS ids and
// parsed SLA spans, so neither is read any more: both are re-indexed.
// Version 3 added a contract's deprecation (Contract.Deprecation) and the
// sources section: a version 2 record lacks the documents a policy preview
// needs, so it is re-indexed too.
const (
	recordMagic   = 'M'
	formatVersion = 3
	legacyMagic   = 'B' // unversioned records: the body of version 1
)

// ErrUnreadableRecord is what every registry record that does not decode
// wraps: test for it with errors.Is. Its two causes are ErrFormatVersion and
// ErrCorruptRecord, which wrap it in turn.
var ErrUnreadableRecord = errors.New("registry record unreadable")

// ErrFormatVersion: the record was written in a format version this build
// does not read (by an older or a newer meshbot).
var ErrFormatVersion = fmt.Errorf("%w: format version not readable by this build", ErrUnreadableRecord)

// ErrCorruptRecord: the record claims a version this build reads but its
// bytes do not decode.
var ErrCorruptRecord = fmt.Errorf("%w: corrupt", ErrUnreadableRecord)

// maxNesting bounds field nesting on decode; mesh's YAML reader caps
// documents far below it.
const maxNesting = 256

type encoder struct {
	strs     map[string]uint64
	table    []byte
	ntable   uint64
	body     []byte
	contract map[*mesh.Contract]uint64
}

// encodeRecordSized writes products and, when src is not nil, the
// documents they were read from; it returns the record and the size of its
// sources section.
func encodeRecordSized(ps []*mesh.Product, src *Sources) ([]byte, int, error) {
	var sec []byte
	if src != nil {
		var err error
		if sec, err = packSources(*src); err != nil {
			return nil, 0, fmt.Errorf("encode sources: %w", err)
		}
	}
	e := &encoder{strs: map[string]uint64{"": 0}, ntable: 1, contract: map[*mesh.Contract]uint64{}}
	e.count(len(ps), ps == nil)
	for i, p := range ps {
		if p == nil {
			return nil, 0, fmt.Errorf("encode products: entry %d is nil", i)
		}
		e.product(p)
	}
	out := make([]byte, 0, 1+binary.MaxVarintLen64*4+len(sec)+len(e.table)+len(e.body))
	out = append(out, recordMagic)
	out = binary.AppendUvarint(out, formatVersion)
	if src == nil {
		out = binary.AppendUvarint(out, 0)
	} else {
		out = binary.AppendUvarint(out, uint64(len(sec))+1)
		out = append(out, sec...)
	}
	out = binary.AppendUvarint(out, e.ntable-1)
	out = append(out, e.table...)
	return append(out, e.body...), len(sec), nil
}

func (e *encoder) uint(v uint64) { e.body = binary.AppendUvarint(e.body, v) }
func (e *encoder) int(v int64)   { e.body = binary.AppendVarint(e.body, v) }

func (e *encoder) bool(v bool) {
	if v {
		e.body = append(e.body, 1)
	} else {
		e.body = append(e.body, 0)
	}
}

func (e *encoder) str(s string) {
	i, ok := e.strs[s]
	if !ok {
		i = e.ntable
		e.strs[s] = i
		e.ntable++
		e.table = binary.AppendUvarint(e.table, uint64(len(s)))
		e.table = append(e.table, s...)
	}
	e.uint(i)
}

// count writes a length that keeps nil apart from empty: 0 is nil, n+1 is n.
func (e *encoder) count(n int, isNil bool) {
	if isNil {
		e.uint(0)
		return
	}
	e.uint(uint64(n) + 1)
}

func (e *encoder) strList(ss []string) {
	e.count(len(ss), ss == nil)
	for _, s := range ss {
		e.str(s)
	}
}

func (e *encoder) float(f *float64) {
	if f == nil {
		e.body = append(e.body, 0)
		return
	}
	e.body = append(e.body, 1)
	e.body = binary.LittleEndian.AppendUint64(e.body, math.Float64bits(*f))
}

func (e *encoder) pos(p mesh.Pos) {
	e.str(p.File)
	e.int(int64(p.Line))
	e.int(int64(p.Col))
}

func (e *encoder) locs(l mesh.Locs) {
	e.count(len(l), l == nil)
	for _, k := range slices.Sorted(maps.Keys(l)) {
		e.str(k)
		e.pos(l[k])
	}
}

func (e *encoder) product(p *mesh.Product) {
	e.str(p.Repo)
	e.str(p.File)
	e.str(string(p.Format))
	e.str(p.APIVersion)
	e.str(p.Kind)
	e.str(p.Name)
	e.str(p.Domain)
	e.str(p.Owner)
	e.str(p.Description)
	e.str(p.Lifecycle)
	e.deprecation(p.Deprecation)
	e.count(len(p.InputPorts), p.InputPorts == nil)
	for _, in := range p.InputPorts {
		e.bool(in != nil)
		if in != nil {
			e.inputPort(in)
		}
	}
	e.count(len(p.OutputPorts), p.OutputPorts == nil)
	for _, o := range p.OutputPorts {
		e.bool(o != nil)
		if o != nil {
			e.outputPort(o)
		}
	}
	e.sla(p.SLA)
	e.classification(p.Classification)
	e.pos(p.Pos)
	e.locs(p.Locs)
	e.str(p.Title)
}

func (e *encoder) deprecation(d *mesh.Deprecation) {
	e.bool(d != nil)
	if d == nil {
		return
	}
	e.str(d.Sunset)
	e.time(d.SunsetDate)
	e.str(d.Replacement)
	e.str(d.Reason)
	e.pos(d.Pos)
	e.locs(d.Locs)
}

func (e *encoder) time(t time.Time) {
	b, err := t.MarshalBinary()
	if err != nil {
		// Only years outside int16 or sub-minute zone offsets fail; such a
		// date never parses out of a descriptor. Keep the instant in UTC.
		b, _ = t.UTC().MarshalBinary()
	}
	e.uint(uint64(len(b)))
	e.body = append(e.body, b...)
}

func (e *encoder) inputPort(in *mesh.InputPort) {
	e.str(in.Name)
	e.str(in.Product)
	e.str(in.Port)
	e.str(in.ContractID)
	e.count(len(in.Fields), in.Fields == nil)
	for _, f := range in.Fields {
		e.str(f.Name)
		e.pos(f.Pos)
	}
	e.pos(in.Pos)
	e.locs(in.Locs)
}

func (e *encoder) outputPort(o *mesh.OutputPort) {
	e.str(o.Name)
	e.str(o.Type)
	e.str(o.Location)
	e.str(o.Topic)
	e.str(o.ContractRef)
	e.str(o.ContractPath)
	e.str(o.ContractID)
	e.contractRef(o.Contract)
	e.str(o.Version)
	e.str(o.Lifecycle)
	e.deprecation(o.Deprecation)
	e.pos(o.Pos)
	e.locs(o.Locs)
}

func (e *encoder) sla(s mesh.SLA) {
	e.str(s.Freshness)
	e.int(int64(s.FreshnessMax))
	e.str(s.Availability)
	e.body = binary.LittleEndian.AppendUint64(e.body, math.Float64bits(s.AvailabilityPct))
	e.str(s.Completeness)
	e.body = binary.LittleEndian.AppendUint64(e.body, math.Float64bits(s.CompletenessPct))
	e.str(s.Retention)
	e.int(int64(s.RetentionMin))
	e.str(s.Latency)
	e.int(int64(s.LatencyMax))
	e.count(len(s.Other), s.Other == nil)
	for _, o := range s.Other {
		e.str(o.Key)
		e.str(o.Property)
		e.str(o.Value)
		e.int(int64(o.Duration))
		e.bool(o.IsSpan)
		e.pos(o.Pos)
	}
	e.pos(s.Pos)
	e.locs(s.Locs)
}

func (e *encoder) classification(c mesh.Classification) {
	e.bool(c.ContainsPII)
	e.strList(c.PIIFields)
	e.str(c.Residency)
	e.pos(c.Pos)
	e.locs(c.Locs)
}

// contractRef writes 0 for nil, 1 and the contract the first time it is
// seen, 2 and its index afterwards.
func (e *encoder) contractRef(c *mesh.Contract) {
	if c == nil {
		e.uint(0)
		return
	}
	if i, ok := e.contract[c]; ok {
		e.uint(2)
		e.uint(i)
		return
	}
	e.contract[c] = uint64(len(e.contract))
	e.uint(1)
	e.str(c.File)
	e.str(string(c.Format))
	e.str(c.SpecVersion)
	e.str(c.ID)
	e.str(c.Title)
	e.str(c.Version)
	e.str(c.Owner)
	e.str(c.Status)
	e.bool(c.Deprecated)
	e.deprecation(c.Deprecation)
	e.count(len(c.Servers), c.Servers == nil)
	for _, sv := range c.Servers {
		e.str(sv.Name)
		e.str(sv.Type)
		e.str(sv.Location)
		e.pos(sv.Pos)
	}
	e.count(len(c.Models), c.Models == nil)
	for _, m := range c.Models {
		e.bool(m != nil)
		if m != nil {
			e.model(m)
		}
	}
	e.quality(c.Quality)
	e.sla(c.ServiceLevels)
	e.pos(c.Pos)
	e.locs(c.Locs)
}

func (e *encoder) model(m *mesh.Model) {
	e.str(m.Name)
	e.str(m.Type)
	e.str(m.LogicalType)
	e.str(m.Description)
	e.bool(m.Deprecated)
	e.fields(m.Fields)
	e.quality(m.Quality)
	e.count(len(m.Relationships), m.Relationships == nil)
	for _, r := range m.Relationships {
		e.str(r.Type)
		e.strList(r.From)
		e.strList(r.To)
		e.pos(r.Pos)
	}
	e.pos(m.Pos)
	e.locs(m.Locs)
}

func (e *encoder) quality(q []mesh.QualityRule) {
	e.count(len(q), q == nil)
	for _, r := range q {
		e.str(r.Key)
		e.str(r.Type)
		e.str(r.Name)
		e.str(r.Description)
		e.str(r.Canonical)
		e.pos(r.Pos)
	}
}

func (e *encoder) fields(fs []*mesh.Field) {
	e.count(len(fs), fs == nil)
	for _, f := range fs {
		e.field(f)
	}
}

func (e *encoder) field(f *mesh.Field) {
	e.bool(f != nil)
	if f == nil {
		return
	}
	e.str(f.Name)
	e.str(f.Type)
	e.str(f.PhysicalType)
	e.str(f.PhysicalName)
	e.bool(f.Deprecated)
	e.str(f.Format)
	e.str(f.Description)
	e.bool(f.Required)
	e.bool(f.Unique)
	e.bool(f.PrimaryKey)
	e.strList(f.Enum)
	e.str(f.Pattern)
	e.float(f.MinLength)
	e.float(f.MaxLength)
	e.float(f.Minimum)
	e.float(f.Maximum)
	e.float(f.ExclusiveMinimum)
	e.float(f.ExclusiveMaximum)
	e.bool(f.PII)
	e.str(f.Classification)
	e.str(f.References)
	e.str(f.Ref)
	e.quality(f.Quality)
	e.fields(f.Fields)
	e.field(f.Items)
	e.pos(f.Pos)
	e.locs(f.Locs)
}

// decoder reads what encoder wrote. Errors are sticky: after the first one
// every read returns zero values and decodeProducts reports that error.
type decoder struct {
	b         []byte
	table     []string
	contracts []*mesh.Contract
	depth     int
	err       error
}

var errTruncated = errors.New("truncated")

// decodeProducts reads a record. Its errors wrap ErrFormatVersion or
// ErrCorruptRecord.
func decodeProducts(b []byte) ([]*mesh.Product, error) {
	_, _, body, err := recordParts(b)
	if err != nil {
		return nil, err
	}
	d := &decoder{b: body}
	d.readTable()
	n := d.count(1)
	var ps []*mesh.Product
	if n > 0 {
		ps = make([]*mesh.Product, n-1)
	}
	for i := range ps {
		ps[i] = d.product()
	}
	if d.err == nil && len(d.b) > 0 {
		d.err = fmt.Errorf("%d trailing bytes", len(d.b))
	}
	if d.err != nil {
		return nil, fmt.Errorf("decode products: %w: %w", ErrCorruptRecord, d.err)
	}
	return ps, nil
}

// recordParts checks a record's header and returns its sources section
// (has is false when it holds none) and the products' table and body.
func recordParts(b []byte) (sec []byte, has bool, body []byte, err error) {
	body, err = recordBody(b)
	if err != nil {
		return nil, false, nil, err
	}
	n, k := binary.Uvarint(body)
	switch {
	case k <= 0:
		return nil, false, nil, fmt.Errorf("decode products: %w: truncated sources length", ErrCorruptRecord)
	case n == 0:
		return nil, false, body[k:], nil
	case n-1 > uint64(len(body)-k):
		return nil, false, nil, fmt.Errorf("decode products: %w: sources of %d bytes exceed the record", ErrCorruptRecord, n-1)
	}
	end := k + int(n-1)
	return body[k:end:end], true, body[end:], nil
}

// recordBody checks a record's header and returns the body after it.
func recordBody(b []byte) ([]byte, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("decode products: %w: empty record", ErrCorruptRecord)
	}
	switch b[0] {
	case legacyMagic:
		return nil, fmt.Errorf("decode products: %w: record has version 1 (unversioned), this build reads %d", ErrFormatVersion, formatVersion)
	case recordMagic:
	default:
		return nil, fmt.Errorf("decode products: %w: unknown encoding (first byte %#x)", ErrCorruptRecord, b[0])
	}
	v, n := binary.Uvarint(b[1:])
	if n <= 0 {
		return nil, fmt.Errorf("decode products: %w: truncated version", ErrCorruptRecord)
	}
	if v != formatVersion {
		return nil, fmt.Errorf("decode products: %w: record has version %d, this build reads %d", ErrFormatVersion, v, formatVersion)
	}
	return b[1+n:], nil
}

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
	d.b = nil
}

func (d *decoder) uint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(errTruncated)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) int() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail(errTruncated)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes(n uint64) []byte {
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.fail(errTruncated)
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) bool() bool {
	b := d.bytes(1)
	if b == nil {
		return false
	}
	if b[0] > 1 {
		d.fail(fmt.Errorf("bad bool %d", b[0]))
	}
	return b[0] == 1
}

// readTable converts the whole string table with one allocation and slices
// every string out of it.
func (d *decoder) readTable() {
	n := d.uint()
	if n > uint64(len(d.b)) { // every string costs at least its length byte
		d.fail(errTruncated)
		return
	}
	raws := make([][]byte, 0, n)
	total := 0
	for range n {
		raw := d.bytes(d.uint())
		if d.err != nil {
			return
		}
		raws = append(raws, raw)
		total += len(raw)
	}
	all := make([]byte, 0, total)
	for _, raw := range raws {
		all = append(all, raw...)
	}
	s := string(all)
	d.table = make([]string, 1, n+1)
	off := 0
	for _, raw := range raws {
		d.table = append(d.table, s[off:off+len(raw)])
		off += len(raw)
	}
}

func (d *decoder) str() string {
	i := d.uint()
	if d.err != nil {
		return ""
	}
	if i >= uint64(len(d.table)) {
		d.fail(fmt.Errorf("string %d of %d", i, len(d.table)))
		return ""
	}
	return d.table[i]
}

// count reads what encoder.count wrote: 0 for nil, else n+1. Every element
// takes at least min bytes, which bounds allocations on corrupt input.
func (d *decoder) count(min int) uint64 {
	n := d.uint()
	if n > 0 && n-1 > uint64(len(d.b))/uint64(min) {
		d.fail(fmt.Errorf("count %d exceeds the input", n-1))
		return 0
	}
	return n
}

func (d *decoder) strs() []string {
	n := d.count(1)
	if n == 0 {
		return nil
	}
	ss := make([]string, n-1)
	for i := range ss {
		ss[i] = d.str()
	}
	return ss
}

func (d *decoder) float() *float64 {
	if !d.bool() {
		return nil
	}
	f := d.f64()
	return &f
}

func (d *decoder) f64() float64 {
	b := d.bytes(8)
	if b == nil {
		return 0
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(b))
}

func (d *decoder) pos() mesh.Pos {
	return mesh.Pos{File: d.str(), Line: int(d.int()), Col: int(d.int())}
}

func (d *decoder) locs() mesh.Locs {
	n := d.count(3)
	if n == 0 {
		return nil
	}
	l := make(mesh.Locs, n-1)
	for range n - 1 {
		k := d.str()
		l[k] = d.pos()
	}
	return l
}

func (d *decoder) time() time.Time {
	b := d.bytes(d.uint())
	var t time.Time
	if d.err == nil {
		if err := t.UnmarshalBinary(b); err != nil {
			d.fail(fmt.Errorf("time: %w", err))
		}
	}
	return t
}

func (d *decoder) product() *mesh.Product {
	p := &mesh.Product{
		Repo:        d.str(),
		File:        d.str(),
		Format:      mesh.Format(d.str()),
		APIVersion:  d.str(),
		Kind:        d.str(),
		Name:        d.str(),
		Domain:      d.str(),
		Owner:       d.str(),
		Description: d.str(),
		Lifecycle:   d.str(),
		Deprecation: d.deprecation(),
	}
	if n := d.count(1); n > 0 {
		p.InputPorts = make([]*mesh.InputPort, n-1)
		for i := range p.InputPorts {
			if d.bool() {
				p.InputPorts[i] = d.inputPort()
			}
		}
	}
	if n := d.count(1); n > 0 {
		p.OutputPorts = make([]*mesh.OutputPort, n-1)
		for i := range p.OutputPorts {
			if d.bool() {
				p.OutputPorts[i] = d.outputPort()
			}
		}
	}
	p.SLA = d.sla()
	p.Classification = d.classification()
	p.Pos = d.pos()
	p.Locs = d.locs()
	p.Title = d.str()
	return p
}

func (d *decoder) deprecation() *mesh.Deprecation {
	if !d.bool() {
		return nil
	}
	return &mesh.Deprecation{Sunset: d.str(), SunsetDate: d.time(), Replacement: d.str(), Reason: d.str(), Pos: d.pos(), Locs: d.locs()}
}

func (d *decoder) inputPort() *mesh.InputPort {
	in := &mesh.InputPort{Name: d.str(), Product: d.str(), Port: d.str(), ContractID: d.str()}
	if n := d.count(2); n > 0 {
		in.Fields = make([]mesh.FieldRef, n-1)
		for i := range in.Fields {
			in.Fields[i] = mesh.FieldRef{Name: d.str(), Pos: d.pos()}
		}
	}
	in.Pos = d.pos()
	in.Locs = d.locs()
	return in
}

func (d *decoder) outputPort() *mesh.OutputPort {
	return &mesh.OutputPort{
		Name:         d.str(),
		Type:         d.str(),
		Location:     d.str(),
		Topic:        d.str(),
		ContractRef:  d.str(),
		ContractPath: d.str(),
		ContractID:   d.str(),
		Contract:     d.contract(),
		Version:      d.str(),
		Lifecycle:    d.str(),
		Deprecation:  d.deprecation(),
		Pos:          d.pos(),
		Locs:         d.locs(),
	}
}

func (d *decoder) sla() mesh.SLA {
	return mesh.SLA{
		Freshness:       d.str(),
		FreshnessMax:    time.Duration(d.int()),
		Availability:    d.str(),
		AvailabilityPct: d.f64(),
		Completeness:    d.str(),
		CompletenessPct: d.f64(),
		Retention:       d.str(),
		RetentionMin:    time.Duration(d.int()),
		Latency:         d.str(),
		LatencyMax:      time.Duration(d.int()),
		Other:           d.slaOther(),
		Pos:             d.pos(),
		Locs:            d.locs(),
	}
}

func (d *decoder) slaOther() []mesh.SLAProperty {
	n := d.count(4)
	if n == 0 {
		return nil
	}
	out := make([]mesh.SLAProperty, n-1)
	for i := range out {
		out[i] = mesh.SLAProperty{Key: d.str(), Property: d.str(), Value: d.str(), Duration: time.Duration(d.int()), IsSpan: d.bool(), Pos: d.pos()}
	}
	return out
}

func (d *decoder) classification() mesh.Classification {
	return mesh.Classification{ContainsPII: d.bool(), PIIFields: d.strs(), Residency: d.str(), Pos: d.pos(), Locs: d.locs()}
}

func (d *decoder) contract() *mesh.Contract {
	switch tag := d.uint(); tag {
	case 0:
		return nil
	case 2:
		i := d.uint()
		if i >= uint64(len(d.contracts)) {
			d.fail(fmt.Errorf("contract %d of %d", i, len(d.contracts)))
			return nil
		}
		return d.contracts[i]
	case 1:
	default:
		d.fail(fmt.Errorf("bad contract tag %d", tag))
		return nil
	}
	c := &mesh.Contract{
		File:        d.str(),
		Format:      mesh.Format(d.str()),
		SpecVersion: d.str(),
		ID:          d.str(),
		Title:       d.str(),
		Version:     d.str(),
		Owner:       d.str(),
		Status:      d.str(),
		Deprecated:  d.bool(),
	}
	c.Deprecation = d.deprecation()
	if n := d.count(4); n > 0 {
		c.Servers = make([]mesh.Server, n-1)
		for i := range c.Servers {
			c.Servers[i] = mesh.Server{Name: d.str(), Type: d.str(), Location: d.str(), Pos: d.pos()}
		}
	}
	// Registered before its body is read, matching the encoder's numbering.
	d.contracts = append(d.contracts, c)
	if n := d.count(1); n > 0 {
		c.Models = make([]*mesh.Model, n-1)
		for i := range c.Models {
			if d.bool() {
				c.Models[i] = d.model()
			}
		}
	}
	c.Quality = d.quality()
	c.ServiceLevels = d.sla()
	c.Pos = d.pos()
	c.Locs = d.locs()
	return c
}

func (d *decoder) model() *mesh.Model {
	m := &mesh.Model{Name: d.str(), Type: d.str(), LogicalType: d.str(), Description: d.str(), Deprecated: d.bool(),
		Fields: d.fields(), Quality: d.quality()}
	if n := d.count(4); n > 0 {
		m.Relationships = make([]mesh.Relationship, n-1)
		for i := range m.Relationships {
			m.Relationships[i] = mesh.Relationship{Type: d.str(), From: d.strs(), To: d.strs(), Pos: d.pos()}
		}
	}
	m.Pos, m.Locs = d.pos(), d.locs()
	return m
}

func (d *decoder) quality() []mesh.QualityRule {
	n := d.count(8)
	if n == 0 {
		return nil
	}
	q := make([]mesh.QualityRule, n-1)
	for i := range q {
		q[i] = mesh.QualityRule{Key: d.str(), Type: d.str(), Name: d.str(), Description: d.str(), Canonical: d.str(), Pos: d.pos()}
	}
	return q
}

func (d *decoder) fields() []*mesh.Field {
	n := d.count(1)
	if n == 0 {
		return nil
	}
	fs := make([]*mesh.Field, n-1)
	for i := range fs {
		fs[i] = d.field()
	}
	return fs
}

func (d *decoder) field() *mesh.Field {
	if !d.bool() {
		return nil
	}
	d.depth++
	defer func() { d.depth-- }()
	if d.depth > maxNesting {
		d.fail(fmt.Errorf("fields nested deeper than %d", maxNesting))
		return nil
	}
	return &mesh.Field{
		Name:             d.str(),
		Type:             d.str(),
		PhysicalType:     d.str(),
		PhysicalName:     d.str(),
		Deprecated:       d.bool(),
		Format:           d.str(),
		Description:      d.str(),
		Required:         d.bool(),
		Unique:           d.bool(),
		PrimaryKey:       d.bool(),
		Enum:             d.strs(),
		Pattern:          d.str(),
		MinLength:        d.float(),
		MaxLength:        d.float(),
		Minimum:          d.float(),
		Maximum:          d.float(),
		ExclusiveMinimum: d.float(),
		ExclusiveMaximum: d.float(),
		PII:              d.bool(),
		Classification:   d.str(),
		References:       d.str(),
		Ref:              d.str(),
		Quality:          d.quality(),
		Fields:           d.fields(),
		Items:            d.field(),
		Pos:              d.pos(),
		Locs:             d.locs(),
	}
}
