package ingest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/colligo/colligo/oai/crosswalk"
	"github.com/colligo/colligo/store"
	"github.com/colligo/colligo/store/gen"
)

func openStore(t testing.TB, dir string) *store.Store { return openStoreMapped(t, dir, nil) }

// openStoreMapped opens a store whose derive runs mapping (when set), then
// the oai_dc crosswalk.
func openStoreMapped(t testing.TB, dir string, mapping func(*store.Record)) *store.Store {
	t.Helper()
	st, err := store.Open(store.Config{Dir: dir, RepositoryID: "node.example", CacheSize: 256 << 20, Derive: func(r *store.Record) (store.Derived, error) {
		if mapping != nil {
			mapping(r)
		}
		return store.Derived{Renditions: map[string][]byte{"oai_dc": crosswalk.OAIDC(r, "")}}, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func verifyClean(t testing.TB, st *store.Store) *store.VerifyReport {
	t.Helper()
	rep, err := st.Verify(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("verify: %d problems: %v", rep.Count, rep.Problems)
	}
	return rep
}

// Real responses of real repositories import; re-importing changes nothing.
func TestImportRealFiles(t *testing.T) {
	ctx := context.Background()
	st := openStore(t, t.TempDir())
	defer st.Close()
	real := "../../oai/oaixml/testdata/real/"
	tests := []struct {
		file                                string
		added, deleted, rejected, sanitized int64
	}{
		{"eprints-cogprints-listrecords-oai_dc.xml", 45, 0, 0, 0},
		{"zenodo-listrecords-oai_dc-set-software-token.xml", 50, 0, 0, 0},
		{"dataverse-dvn-listrecords-mostly-deleted-token.xml", 1, 9, 0, 0},
		{"puc-rio-maxwell-listrecords-NOT-WELLFORMED-vt-char-oaidc-prefix.xml", 5, 0, 0, 1},
		{"cyberleninka-listrecords-oai_dc-russian.xml", 54, 0, 0, 0},
		// marcxml is not oai_dc: every record is rejected, with its reason.
		{"cds-invenio-listrecords-marcxml.xml", 0, 0, 2, 0},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			sum, err := File(ctx, st, real+tc.file, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if sum.Added != tc.added || sum.Deleted != tc.deleted || sum.Rejected != tc.rejected || sum.Sanitized != tc.sanitized {
				t.Fatalf("summary %+v, want added %d deleted %d rejected %d sanitized %d", sum, tc.added, tc.deleted, tc.rejected, tc.sanitized)
			}
			for _, e := range sum.Errors {
				if e.Line == 0 || e.File == "" || e.Error == "" {
					t.Errorf("rejection without position or reason: %+v", e)
				}
			}
			again, err := File(ctx, st, real+tc.file, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if again.Added+again.Updated+again.Deleted != 0 || again.Unchanged != tc.added+tc.deleted {
				t.Fatalf("re-import changed something: %+v", again)
			}
		})
	}
	verifyClean(t, st)
	// A mapped record carries what the source said.
	r, err := st.Get(ctx, LocalID("oai:zenodo.org:8434414"))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Metadata.Titles) == 0 || r.Provenance[0].Identifier != "oai:zenodo.org:8434414" {
		t.Errorf("record = %+v", r)
	}
}

func TestImportGeneratedXMLAndJSONL(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	g := gen.New(7, gen.Institutions[0])
	var xmlBuf bytes.Buffer
	if err := g.WriteOAIDC(&xmlBuf, 0, 3000, true); err != nil {
		t.Fatal(err)
	}
	// gzip, to check the transparent decompression too.
	xmlPath := filepath.Join(dir, "records.xml.gz")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(xmlBuf.Bytes())
	zw.Close()
	os.WriteFile(xmlPath, gz.Bytes(), 0o644)
	st := openStore(t, filepath.Join(dir, "db"))
	defer st.Close()
	var progress []Progress
	sum, err := File(ctx, st, xmlPath, Options{BatchSize: 500, Progress: func(p Progress) { progress = append(progress, p) }})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Added != 2940 || sum.Deleted != 60 || sum.Rejected != 0 {
		t.Fatalf("summary %+v, want 2940 added, 60 deleted", sum)
	}
	if len(progress) == 0 || progress[len(progress)-1].Records != 3000 {
		t.Fatalf("progress = %+v", progress)
	}
	r, err := st.Get(ctx, LocalID(g.OAIIdentifier(10)))
	if err != nil {
		t.Fatal(err)
	}
	want := g.Record(10)
	store.Normalize(want)
	if r.Metadata.Titles[0] != want.Metadata.Titles[0] || r.Metadata.Issued != want.Metadata.Issued || len(r.Metadata.Creators) != len(want.Metadata.Creators) {
		t.Errorf("imported record %+v\nwant %+v", r.Metadata, want.Metadata)
	}
	// JSON Lines of the same institution, native ids.
	var jl bytes.Buffer
	g.WriteJSONL(&jl, 0, 500)
	jl.WriteString("{\"id\": \"bad\", \"metadata\": {\"titles\": []}}\n")
	jl.WriteString("not json\n")
	sum, err = Reader(ctx, st, &jl, "records.jsonl", 0, FormatAuto, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Added != 500 || sum.Rejected != 2 {
		t.Fatalf("JSONL summary %+v, want 500 added and 2 rejected", sum)
	}
	if sum.Errors[0].Line != 501 || !strings.Contains(sum.Errors[0].Error, "metadata.titles") || sum.Errors[1].Line != 502 {
		t.Errorf("rejections = %+v", sum.Errors)
	}
	verifyClean(t, st)
}

func TestImportFileErrors(t *testing.T) {
	ctx := context.Background()
	st := openStore(t, t.TempDir())
	defer st.Close()
	dir := t.TempDir()
	truncated := `<OAI-PMH><ListRecords><record><header><identifier>oai:x.example:1</identifier><datestamp>2024-01-01</datestamp></header><metadata><oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>One</dc:title></oai_dc:dc></metadata></record><record><header><identifier>oai:x.example:2</ident`
	os.WriteFile(filepath.Join(dir, "truncated.xml"), []byte(truncated), 0o644)
	os.WriteFile(filepath.Join(dir, "binary.dat"), []byte{0, 1, 2, 3}, 0o644)
	sum, err := File(ctx, st, filepath.Join(dir, "truncated.xml"), Options{})
	var fe *FileError
	if !errors.As(err, &fe) || fe.Line == 0 {
		t.Fatalf("truncated file: %v, want a FileError with a line", err)
	}
	if sum.Added != 1 {
		t.Fatalf("records before the fault: %+v, want 1 added", sum)
	}
	if _, err := File(ctx, st, filepath.Join(dir, "binary.dat"), Options{}); !errors.As(err, &fe) {
		t.Fatalf("binary file: %v", err)
	}
	if _, err := File(ctx, st, filepath.Join(dir, "missing.xml"), Options{}); !errors.As(err, &fe) {
		t.Fatalf("missing file: %v", err)
	}
	verifyClean(t, st)
}

func TestLocalID(t *testing.T) {
	a, b := LocalID("oai:zenodo.org:10357859"), LocalID("oai:zenodo.org:10357859")
	if a != b || !store.ValidID(a) || !strings.HasPrefix(a, "zenodo.org-10357859-") {
		t.Fatalf("LocalID = %q, %q", a, b)
	}
	for _, id := range []string{"oai:pos.sissa.it:LATTICE 2013/001", "oai:bnf.fr:gallica/ark:/12148/bpt6k5440618t", "", strings.Repeat("x", 500), "日本語"} {
		if got := LocalID(id); !store.ValidID(got) {
			t.Errorf("LocalID(%q) = %q is not a valid id", id, got)
		}
	}
	if LocalID("oai:a.example:1/2") == LocalID("oai:a.example:1-2") {
		t.Error("identifiers that differ only in punctuation collide")
	}
}

// TestCrashDuringImport kills an importing child process with SIGKILL at
// random points, 20 times. After each kill the store verifies clean and
// holds every record the child had acknowledged.
func TestCrashDuringImport(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	g := gen.New(11, gen.Institutions[1])
	const n = 20000
	f, _ := os.Create(filepath.Join(dir, "records.xml"))
	if err := g.WriteOAIDC(f, 0, n, true); err != nil {
		t.Fatal(err)
	}
	f.Close()
	db := filepath.Join(dir, "db")
	rng := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 20; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.v")
		cmd.Env = append(os.Environ(), "COLLIGO_CRASH_CHILD="+db+","+filepath.Join(dir, "records.xml"))
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill after a random number of acknowledged batches (0 to 4),
		// or at a random moment before the first.
		killAfter := rng.IntN(5)
		var acked int64
		sc := bufio.NewScanner(out)
		timer := time.AfterFunc(time.Duration(rng.IntN(300))*time.Millisecond+50*time.Millisecond, func() {
			if killAfter == 0 {
				cmd.Process.Signal(syscall.SIGKILL)
			}
		})
		seen := 0
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "ACK "); ok {
				acked, _ = strconv.ParseInt(v, 10, 64)
				if seen++; killAfter > 0 && seen == killAfter {
					cmd.Process.Signal(syscall.SIGKILL)
				}
			}
		}
		timer.Stop()
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		st := openStore(t, db)
		verifyClean(t, st)
		for i := int64(0); i < acked && i < n; i++ {
			id := LocalID(g.OAIIdentifier(int(i)))
			if _, err := st.Head(context.Background(), id); err != nil {
				t.Fatalf("round %d: record %d (%s) was acknowledged (acked %d) but is missing: %v", round, i, id, acked, err)
			}
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// Finally import to the end: the store holds exactly the file.
	st := openStore(t, db)
	defer st.Close()
	if _, err := File(context.Background(), st, filepath.Join(dir, "records.xml"), Options{}); err != nil {
		t.Fatal(err)
	}
	if rep := verifyClean(t, st); rep.Records != n {
		t.Fatalf("%d records after the last import, want %d", rep.Records, n)
	}
}

// TestCrashChild is the child of TestCrashDuringImport: it imports and
// prints "ACK n" after each durable batch.
func TestCrashChild(t *testing.T) {
	spec := os.Getenv("COLLIGO_CRASH_CHILD")
	if spec == "" {
		t.Skip("run by TestCrashDuringImport")
	}
	db, file, _ := strings.Cut(spec, ",")
	st := openStore(t, db)
	defer st.Close()
	_, err := File(context.Background(), st, file, Options{BatchSize: 700, OnCommit: func(n int64) {
		fmt.Printf("ACK %d\n", n)
	}})
	if err != nil {
		t.Fatal(err)
	}
}
