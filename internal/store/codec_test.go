package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/meshbot/meshbot/internal/mesh"
)

// encodeProducts is the record of products without sources.
func encodeProducts(ps []*mesh.Product) ([]byte, error) {
	return encodeRecord(ps, nil)
}

// encodeRecord is encodeRecordSized without the size of the sources.
func encodeRecord(ps []*mesh.Product, src *Sources) ([]byte, error) {
	b, _, err := encodeRecordSized(ps, src)
	return b, err
}

var update = flag.Bool("update", false, "rewrite the golden encodings under testdata/ (fuzz seeds included)")

func TestProductsRoundTripExampleMesh(t *testing.T) {
	m := exampleMesh(t)
	b, err := encodeProducts(m.Products)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeProducts(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m.Products) {
		for i := range min(len(got), len(m.Products)) {
			if !reflect.DeepEqual(got[i], m.Products[i]) {
				gj, _ := json.MarshalIndent(got[i], "", " ")
				wj, _ := json.MarshalIndent(m.Products[i], "", " ")
				t.Fatalf("product %d (%s) differs after the round trip:\n got %s\nwant %s", i, m.Products[i].File, gj, wj)
			}
		}
		t.Fatalf("round trip: %d products, want %d", len(got), len(m.Products))
	}
	// The fields consumer impact and findings rely on, spelled out so that a
	// failure says what broke.
	var ports, fields, withPos int
	for i, p := range got {
		if p.ID() != m.Products[i].ID() || p.Owner != m.Products[i].Owner || p.Pos != m.Products[i].Pos {
			t.Errorf("product %d: identity or position changed", i)
		}
		for _, in := range p.InputPorts {
			ports++
			for _, f := range in.Fields {
				fields++
				if f.Pos.Line > 0 {
					withPos++
				}
			}
		}
	}
	if ports == 0 || fields == 0 || withPos != fields {
		t.Errorf("example mesh round trip: %d input ports, %d field refs, %d with a line: the example should exercise consumers", ports, fields, withPos)
	}
	js, _ := json.Marshal(m.Products)
	t.Logf("%d products: %d bytes encoded, %d as JSON", len(m.Products), len(b), len(js))
}

// TestCodecCoversEveryModelField fills every exported field of a product,
// recursively, with distinct values and checks the round trip: a field added
// to the model but not to productcodec.go comes back zero and fails here.
func TestCodecCoversEveryModelField(t *testing.T) {
	var p mesh.Product
	n := 0
	fill(reflect.ValueOf(&p).Elem(), &n, 0)
	// A second port sharing the first one's contract must share it again.
	p.OutputPorts[1].Contract = p.OutputPorts[0].Contract
	in := []*mesh.Product{&p, {File: "b.yaml", InputPorts: []*mesh.InputPort{}, Locs: mesh.Locs{}}}
	b, err := encodeProducts(in)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeProducts(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, in) {
		gj, _ := json.MarshalIndent(got, "", " ")
		wj, _ := json.MarshalIndent(in, "", " ")
		t.Fatalf("round trip lost something:\n got %s\nwant %s", gj, wj)
	}
	if got[0].OutputPorts[0].Contract != got[0].OutputPorts[1].Contract {
		t.Error("a contract shared by two ports was decoded twice")
	}
	if got[1].InputPorts == nil || got[1].Locs == nil || got[1].OutputPorts != nil {
		t.Error("empty and nil slices or maps were not kept apart")
	}
	if n < 100 {
		t.Fatalf("fill set only %d values: the filler is not reaching the model", n)
	}
}

// fill sets every settable value under v to something non-zero and distinct.
// Recursive types stop at depth 4 (a port's contract's deprecation is at 4).
func fill(v reflect.Value, n *int, depth int) {
	*n++
	switch v.Kind() {
	case reflect.String:
		v.SetString("s" + strconv.Itoa(*n))
	case reflect.Int, reflect.Int64:
		v.SetInt(int64(*n))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Float64:
		v.SetFloat(float64(*n) + 0.25)
	case reflect.Pointer:
		if depth < 4 {
			v.Set(reflect.New(v.Type().Elem()))
			fill(v.Elem(), n, depth+1)
		}
	case reflect.Slice:
		if depth < 4 {
			v.Set(reflect.MakeSlice(v.Type(), 2, 2))
			for i := range 2 {
				fill(v.Index(i), n, depth+1)
			}
		}
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		for range 2 {
			k := reflect.New(v.Type().Key()).Elem()
			fill(k, n, depth+1)
			e := reflect.New(v.Type().Elem()).Elem()
			fill(e, n, depth+1)
			v.SetMapIndex(k, e)
		}
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Date(2027, 3, 31, 0, 0, 0, 0, time.UTC).AddDate(0, 0, *n)))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), n, depth)
			}
		}
	default:
		panic(fmt.Sprintf("fill: add a case for %s (%s)", v.Kind(), v.Type()))
	}
}

func TestDecodeProductsRejectsCorruptInput(t *testing.T) {
	m := exampleMesh(t)
	valid, err := encodeProducts(m.Products[:2])
	if err != nil {
		t.Fatal(err)
	}
	// Every truncation fails cleanly, as a corrupt record.
	for i := range len(valid) {
		if _, err := decodeProducts(valid[:i]); !errors.Is(err, ErrCorruptRecord) || !errors.Is(err, ErrUnreadableRecord) {
			t.Fatalf("decode of the first %d of %d bytes = %v, want ErrCorruptRecord", i, len(valid), err)
		}
	}
	for _, c := range []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "empty record"},
		{"unknown first byte", []byte{0xff, 1, 0, 0}, "unknown encoding"},
		{"truncated version", []byte{'M', 0x80}, "truncated version"},
		{"json", []byte(`[{"File":"x"}]`), "unknown encoding"},
		{"trailing", append(append([]byte{}, valid...), 0), "trailing"},
		{"huge sources", []byte{recordMagic, formatVersion, 0xff, 0xff, 0xff, 0xff, 0x0f}, "exceed the record"},
		{"huge table", []byte{recordMagic, formatVersion, 0, 0xff, 0xff, 0xff, 0xff, 0x0f}, "truncated"},
		{"huge count", []byte{recordMagic, formatVersion, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f}, "exceeds"},
		{"string index", []byte{recordMagic, formatVersion, 0, 0, 2, 9}, "string 9 of 1"},
		{"bad bool", []byte{recordMagic, formatVersion, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7}, "bad bool"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := decodeProducts(c.in)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("decodeProducts = %v, want an error containing %q", err, c.want)
			}
			if !errors.Is(err, ErrCorruptRecord) || errors.Is(err, ErrFormatVersion) {
				t.Fatalf("decodeProducts = %v, want ErrCorruptRecord and not ErrFormatVersion", err)
			}
		})
	}
}

func TestJobCodec(t *testing.T) {
	at := time.Date(2026, 11, 21, 10, 0, 0, 123, time.UTC)
	for _, j := range []Job{
		{ID: "a", Attempt: 1, Enqueued: at},
		{ID: "b", Kind: "check", Key: "1/o/r#2", Payload: []byte{0, 0xff, '"'}, Attempt: 7, Enqueued: at},
	} {
		got, err := decodeJob(encodeJob(j))
		if err != nil || !reflect.DeepEqual(got, j) {
			t.Errorf("job round trip: %+v, %v; want %+v", got, err, j)
		}
		d := DeadLetter{Job: j, Cause: "why", At: at}
		gd, err := decodeDead(encodeDead(d))
		if err != nil || !reflect.DeepEqual(gd, d) {
			t.Errorf("dead letter round trip: %+v, %v; want %+v", gd, err, d)
		}
	}
	for _, bad := range []string{``, `{`, `{"a":1}`, `{"i":"x","a":0}`, `{"i":"x","a":1,"e":"yesterday"}`} {
		if _, err := decodeJob([]byte(bad)); err == nil {
			t.Errorf("decodeJob(%q) succeeded", bad)
		}
	}
	if _, err := decodeDead([]byte(`{"j":{"i":""}}`)); err == nil {
		t.Error("decodeDead of a dead letter without a job id succeeded")
	}
}

// TestEncodingGolden pins the binary format: replicas of different versions
// read each other's registry, so a change must be deliberate: a new
// formatVersion, whose golden file gets the new number (-update writes it;
// keep the old one, which TestOtherFormatVersions then reads as a version
// this build does not read). The golden files double as the fuzz seed
// corpus.
func TestEncodingGolden(t *testing.T) {
	m := exampleMesh(t)
	prod, err := encodeRecord(m.Products[:3], exampleSources(t, m.Products[:3]))
	if err != nil {
		t.Fatal(err)
	}
	if prod[0] != recordMagic || prod[1] != formatVersion {
		t.Fatalf("record header % x, want %q %d", prod[:2], recordMagic, formatVersion)
	}
	job := encodeJob(Job{ID: "d-1", Kind: "check", Key: "1/octo/repo#2", Payload: []byte(`{"sha":"abc"}`), Attempt: 2,
		Enqueued: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)})
	for _, g := range []struct {
		fuzz, name string
		data       []byte
	}{
		{"FuzzDecodeProducts", fmt.Sprintf("example-mesh-v%d", formatVersion), prod},
		{"FuzzDecodeJob", "check-job", job},
	} {
		path := filepath.Join("testdata", "fuzz", g.fuzz, g.name)
		want := fuzzSeed(g.data)
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (a new format version needs its golden file: go test -run TestEncodingGolden -update)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: the encoding changed; if that is deliberate, bump formatVersion and run with -update", path)
		}
	}
}

func fuzzSeed(b []byte) []byte {
	return []byte("go test fuzz v1\n[]byte(" + strconv.Quote(string(b)) + ")\n")
}

// readSeed reads a golden record back from its fuzz seed file.
func readSeed(t testing.TB, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "fuzz", "FuzzDecodeProducts", name))
	if err != nil {
		t.Fatal(err)
	}
	s := strings.TrimSuffix(strings.TrimPrefix(string(raw), "go test fuzz v1\n[]byte("), ")\n")
	b, err := strconv.Unquote(s)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return []byte(b)
}

// TestOlderRecordsReindexed: records of version 1 (and the unversioned 'B'
// records that carry version 1's body) predate the fields of ODCS 3.2, ODPS
// ids and parsed SLA spans; version 2 predates a contract's deprecation and
// lacks the documents a policy preview reads; this build reads none of them, so all come back as
// ErrFormatVersion and are re-indexed, never decoded into a wrong model.
func TestOlderRecordsReindexed(t *testing.T) {
	for _, seed := range []string{"example-mesh-legacy", "example-mesh-v1", "example-mesh-v2"} {
		_, err := decodeProducts(readSeed(t, seed))
		if !errors.Is(err, ErrFormatVersion) || errors.Is(err, ErrCorruptRecord) {
			t.Errorf("%s: decodeProducts = %v, want ErrFormatVersion", seed, err)
		}
	}
}

// TestOtherFormatVersions: a record of a version this build does not read,
// older or newer, is ErrFormatVersion (so it is re-indexed), never decoded
// as if it were the current one.
func TestOtherFormatVersions(t *testing.T) {
	cur := readSeed(t, fmt.Sprintf("example-mesh-v%d", formatVersion))
	body := cur[2:] // 'M', version 1 (one byte as a uvarint)
	for _, v := range []uint64{0, formatVersion + 1, 300, 1 << 40} {
		rec := binary.AppendUvarint([]byte{recordMagic}, v)
		rec = append(rec, body...)
		_, err := decodeProducts(rec)
		if !errors.Is(err, ErrFormatVersion) || !errors.Is(err, ErrUnreadableRecord) || errors.Is(err, ErrCorruptRecord) {
			t.Errorf("version %d: decodeProducts = %v, want ErrFormatVersion", v, err)
		}
		if err != nil && !strings.Contains(err.Error(), fmt.Sprintf("version %d", v)) {
			t.Errorf("version %d: the error does not name the version: %v", v, err)
		}
	}
}

func FuzzDecodeProducts(f *testing.F) {
	f.Add([]byte{recordMagic, formatVersion, 0, 0})
	f.Add([]byte{recordMagic, formatVersion, 1, 1, 'x', 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		ps, err := decodeProducts(b)
		if err != nil {
			return
		}
		// Whatever decodes re-encodes to something that decodes the same.
		again, err := encodeProducts(ps)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		ps2, err := decodeProducts(again)
		if err != nil {
			t.Fatalf("decode of a re-encoding: %v", err)
		}
		if !reflect.DeepEqual(ps, ps2) && !hasNaN(again) {
			t.Fatal("decode → encode → decode changed the products")
		}
	})
}

// hasNaN is a coarse excuse for DeepEqual's NaN != NaN: fuzzed floats may
// be NaN, which round-trip bit for bit but never compare equal.
func hasNaN(b []byte) bool {
	ps, _ := decodeProducts(b)
	_, err := json.Marshal(ps)
	return err != nil && strings.Contains(err.Error(), "NaN")
}

func FuzzDecodeJob(f *testing.F) {
	f.Add([]byte(`{"i":"x","a":1,"e":"2026-01-01T00:00:00Z"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		j, err := decodeJob(b)
		if err != nil {
			return
		}
		j2, err := decodeJob(encodeJob(j))
		if err != nil {
			t.Fatalf("decode of a re-encoding: %v", err)
		}
		if !j.Enqueued.Equal(j2.Enqueued) {
			t.Fatalf("Enqueued changed: %v → %v", j.Enqueued, j2.Enqueued)
		}
		j.Enqueued, j2.Enqueued = time.Time{}, time.Time{}
		if !reflect.DeepEqual(j, j2) {
			t.Fatalf("job changed: %+v → %+v", j, j2)
		}
	})
}
