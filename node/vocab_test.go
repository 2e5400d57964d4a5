package node

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

func TestVocabularyLayer(t *testing.T) {
	n, base := startNode(t)
	ctx := context.Background()
	if _, err := n.LoadDemo(ctx, 1); err != nil { // German-cataloguing institution
		t.Fatal(err)
	}
	// Built-in schemes map types at write time.
	var rec struct {
		Metadata struct {
			Type     string `json:"type"`
			TypeURI  string `json:"type_uri"`
			Subjects []struct{ Value, URI string }
		} `json:"metadata"`
	}
	found := false
	for i := 0; i < 50 && !found; i++ {
		a := call(t, "GET", base+"/api/records/uni-b-"+itoa(i), "", "")
		json.Unmarshal(a.body, &rec)
		found = rec.Metadata.Type == "Datensatz"
	}
	if !found || rec.Metadata.TypeURI != "http://purl.org/coar/resource_type/c_ddb1" {
		t.Fatalf("a Datensatz record has type_uri %q", rec.Metadata.TypeURI)
	}
	// Loading a subject scheme re-maps the records in the background.
	body, _ := os.ReadFile("testdata/subjects.ttl")
	a := call(t, "POST", base+"/api/vocab/schemes?id=test-subjects&field=subject&format=turtle", testToken, string(body))
	if a.status != 201 {
		t.Fatalf("load = %d %s", a.status, a.body)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		idle, runs := n.RemapIdle()
		if idle && runs > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("re-mapping never finished")
		}
		time.Sleep(20 * time.Millisecond)
	}
	mapped := 0
	for i := 0; i < 300; i++ {
		r, err := n.Store().Get(ctx, "uni-b-"+itoa(i))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range r.Metadata.Subjects {
			if s.Value == "Glaziologie" {
				if s.URI != "https://vocab.example.org/subjects/glaciology" || s.Scheme != "test-subjects" {
					t.Fatalf("subject %+v not mapped", s)
				}
				mapped++
			}
		}
	}
	if mapped == 0 {
		t.Fatal("no record has the subject Glaziologie")
	}
	if rep, _ := n.Store().Verify(ctx, nil); !rep.OK() {
		t.Fatal(rep.Problems)
	}
	// The schemes, their triples and a concept page; the re-mapping's
	// progress (here: finished, every record seen, the Glaziologie ones
	// changed).
	var list struct {
		Schemes []struct{ ID string }
		Remap   struct {
			Running                 bool
			Records, Changed, Total int64
			Started, Finished       time.Time
			Error                   string
		}
	}
	json.Unmarshal(call(t, "GET", base+"/api/vocab", "", "").body, &list)
	if len(list.Schemes) != 3 {
		t.Fatalf("schemes: %+v", list)
	}
	held, _ := n.Store().Len(ctx)
	if rm := list.Remap; rm.Running || rm.Records != held || rm.Total != held || rm.Changed < int64(mapped) ||
		rm.Started.IsZero() || rm.Finished.Before(rm.Started) || rm.Error != "" {
		t.Errorf("remap status %+v, want finished over %d records with at least %d changed", rm, held, mapped)
	}
	nt := call(t, "GET", base+"/vocab/test-subjects.nt", "", "")
	if nt.status != 200 || nt.header.Get("Content-Type") != "application/n-triples" || !strings.Contains(string(nt.body), "Glaziologie") {
		t.Fatalf("scheme triples: %d %s", nt.status, nt.header.Get("Content-Type"))
	}
	for accept, ctype := range map[string]string{"text/turtle": "text/turtle; charset=utf-8", "application/ld+json": "application/ld+json", "text/html": "text/html; charset=utf-8"} {
		c := call(t, "GET", base+"/vocab/coar-resource-types/c_6501", "", "", "Accept", accept, "Accept-Language", "de")
		if c.status != 200 || c.header.Get("Content-Type") != ctype {
			t.Errorf("concept as %s: %d %q", accept, c.status, c.header.Get("Content-Type"))
		}
		if accept == "text/html" && !strings.Contains(string(c.body), "Zeitschriftenaufsatz") {
			t.Errorf("German label missing from the concept page")
		}
	}
	if c := call(t, "GET", base+"/vocab/coar-resource-types/c_6501", "", "", "Accept", "image/png"); c.status != 406 {
		t.Errorf("unacceptable format: %d", c.status)
	}
	// Values that map to nothing are listed by source.
	var un struct {
		Sources []struct {
			Source string
			Values []struct {
				Field, Value string
				Records      int
			}
		}
	}
	json.Unmarshal(call(t, "GET", base+"/api/vocab/unmapped", "", "").body, &un)
	if len(un.Sources) == 0 || un.Sources[0].Source != n.Config().NodeID || len(un.Sources[0].Values) == 0 {
		t.Fatalf("unmapped: %+v", un)
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// A re-derivation interrupted by a stop runs again at the next start.
func TestInterruptedRemapResumes(t *testing.T) {
	ctx := context.Background()
	cfg := DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.Finish()
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	n.LoadDemo(ctx, 0)
	n.Remap()
	n.Close() // stops the run, most likely before it finished
	if v, _ := n.Store(), 0; v == nil {
		t.Fatal("no store")
	}
	n, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		idle, runs := n.RemapIdle()
		pending, _ := n.Store().GetState(stateRederivePending)
		if idle && runs > 0 && pending == nil {
			break
		}
		if idle && runs == 0 && pending == nil {
			// The first run finished before Close: nothing was left to do.
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("re-derivation never completed (idle %v, runs %d, pending %q)", idle, runs, pending)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
