package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/colligo/colligo/node"
	"github.com/colligo/colligo/oai/crosswalk"
	"github.com/colligo/colligo/store"
	"github.com/colligo/colligo/store/gen"
)

// oaiServer serves n generated oai_dc records in pages of 50.
func oaiServer(t *testing.T, n int) *httptest.Server {
	g := gen.New(5, gen.Institutions[1])
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2024-06-01T00:00:00Z</responseDate><request>x</request>`)
		defer fmt.Fprint(w, `</OAI-PMH>`)
		switch q.Get("verb") {
		case "Identify":
			fmt.Fprint(w, `<Identify><repositoryName>T</repositoryName><baseURL>x</baseURL><protocolVersion>2.0</protocolVersion><adminEmail>a@b.example</adminEmail><earliestDatestamp>2024-01-01</earliestDatestamp><deletedRecord>persistent</deletedRecord><granularity>YYYY-MM-DD</granularity></Identify>`)
			return
		case "ListMetadataFormats":
			fmt.Fprint(w, `<ListMetadataFormats><metadataFormat><metadataPrefix>oai_dc</metadataPrefix><schema>s</schema><metadataNamespace>http://www.openarchives.org/OAI/2.0/oai_dc/</metadataNamespace></metadataFormat></ListMetadataFormats>`)
			return
		}
		if q.Get("from") != "" {
			fmt.Fprint(w, `<error code="noRecordsMatch"/>`)
			return
		}
		off, _ := strconv.Atoi(q.Get("resumptionToken"))
		fmt.Fprint(w, "<ListRecords>")
		for i := off; i < min(off+50, n); i++ {
			fmt.Fprintf(w, `<record><header><identifier>%s</identifier><datestamp>2024-02-01</datestamp></header><metadata>%s</metadata></record>`,
				g.OAIIdentifier(i), crosswalk.OAIDC(g.Record(i), ""))
		}
		if off+50 < n {
			fmt.Fprintf(w, `<resumptionToken>%d</resumptionToken>`, off+50)
		}
		fmt.Fprint(w, "</ListRecords>")
	}))
	t.Cleanup(srv.Close)
	return srv
}

// harvest and sources on a stopped data directory.
func TestHarvestCommandLocal(t *testing.T) {
	srv := oaiServer(t, 120)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	code, out, errOut := runCLI(t, context.Background(), "harvest", srv.URL+"/oai", "--data", data, "--quiet")
	if code != 0 || !strings.Contains(out, "harvested 127.0.0.1-") || !strings.Contains(out, "120 added") {
		t.Fatalf("harvest: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, context.Background(), "harvest", srv.URL+"/oai", "--data", data)
	if code != 0 || !strings.Contains(out, "(incremental, complete)") || !strings.Contains(out, "0 records") {
		t.Fatalf("second harvest: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, context.Background(), "sources", "add", srv.URL+"/oai", "--every", "2h", "--id", "uni-b", "--data", data)
	if code != 0 || !strings.Contains(out, "added source uni-b") || !strings.Contains(out, "every 2h0m0s") {
		t.Fatalf("sources add: exit %d\n%s\n%s", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, context.Background(), "sources", "add", srv.URL+"/oai", "--id", "uni-b", "--data", data); code != 1 || !strings.Contains(errOut, "--id") {
		t.Errorf("duplicate add: exit %d %s", code, errOut)
	}
	code, out, _ = runCLI(t, context.Background(), "sources", "--data", data)
	if code != 0 || !strings.Contains(out, "ID ") || !strings.Contains(out, "uni-b") || !strings.Contains(out, "2h0m0s") {
		t.Fatalf("sources: exit %d\n%s", code, out)
	}
	// A harvest of the registered URL continues that source.
	code, out, _ = runCLI(t, context.Background(), "harvest", srv.URL+"/oai", "--data", data)
	if code != 0 || !strings.Contains(out, "harvested uni-b (full") {
		t.Errorf("harvest of a registered source: %s", out)
	}
	code, out, _ = runCLI(t, context.Background(), "sources", "--data", data)
	if !strings.Contains(out, "0/120/0/0") {
		t.Errorf("sources after the harvest:\n%s", out)
	}
	if code, out, _ := runCLI(t, context.Background(), "sources", "remove", "uni-b", "--data", data); code != 0 || !strings.Contains(out, "removed") {
		t.Errorf("remove: %d %s", code, out)
	}

	// A source that cannot be harvested: exit 1 with the reason.
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "gone fishing", http.StatusInternalServerError)
	}))
	defer bad.Close()
	cfg := filepath.Join(dir, "colligo.toml")
	os.WriteFile(cfg, []byte("[harvest]\nretries = 0\n"), 0o644)
	code, _, errOut = runCLI(t, context.Background(), "harvest", bad.URL+"/oai", "--data", data, "--config", cfg)
	if code != 1 || !strings.Contains(errOut, "HTTP 500") || !strings.Contains(errOut, "gone fishing") {
		t.Errorf("failing harvest: exit %d\n%s", code, errOut)
	}
	if code, _, errOut := runCLI(t, context.Background(), "harvest", "ftp://x.example/oai", "--data", data); code != 2 || !strings.Contains(errOut, "http or https") {
		t.Errorf("bad URL: exit %d %s", code, errOut)
	}
}

// harvest and sources through the running node that holds the data
// directory.
func TestHarvestCommandThroughNode(t *testing.T) {
	srv := oaiServer(t, 80)
	data := t.TempDir()
	cfg := node.DefaultConfig()
	cfg.DataDir = data
	if err := cfg.Finish(); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	n, err := node.New(cfg, node.WithListener(ln))
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if err := n.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, context.Background(), "harvest", srv.URL+"/oai", "--data", data, "--id", "uni-b")
	if code != 0 || !strings.Contains(out, "harvested uni-b (full, complete)") || !strings.Contains(out, "80 added") {
		t.Fatalf("harvest through the node: exit %d\n%s\n%s", code, out, errOut)
	}
	if c, _ := n.Store().Count(context.Background(), store.Query{Origin: "uni-b", Set: "source:uni-b"}); c != 80 {
		t.Errorf("%d records of uni-b in the node", c)
	}
	code, out, errOut = runCLI(t, context.Background(), "sources", "add", srv.URL+"/oai", "--id", "uni-b", "--data", data)
	if code != 0 {
		t.Fatalf("sources add through the node: %d %s %s", code, out, errOut)
	}
	code, out, _ = runCLI(t, context.Background(), "sources", "--data", data)
	if code != 0 || !strings.Contains(out, "uni-b") {
		t.Errorf("sources through the node:\n%s", out)
	}
	if _, err := n.Harvester().Source("uni-b"); err != nil {
		t.Error(err)
	}
}

// A foreground harvest (a bulk load, without a write-ahead log) killed
// with SIGKILL leaves a consistent data directory, and the next harvest
// completes it to exactly the source's records.
func TestHarvestCommandKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	const n = 6000
	pages := make(chan struct{}, 1000) // more than both harvests ask for
	srv := oaiServer(t, n)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("verb") == "ListRecords" {
			pages <- struct{}{}
		}
		srv.Config.Handler.ServeHTTP(w, r)
	}))
	defer slow.Close()
	data := filepath.Join(t.TempDir(), "data")
	cmd := exec.Command(binary(t), "harvest", slow.URL+"/oai", "--data", data, "--quiet")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for range 30 { // of 120 pages
		<-pages
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if code, out, errOut := runCLI(t, context.Background(), "verify", "--data", data); code != 0 || !strings.Contains(out, "consistent") {
		t.Fatalf("verify after the kill: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut := runCLI(t, context.Background(), "harvest", slow.URL+"/oai", "--data", data, "--quiet")
	if code != 0 || !strings.Contains(out, "complete)") {
		t.Fatalf("harvest after the kill: exit %d\n%s\n%s", code, out, errOut)
	}
	st, err := store.Open(store.Config{Dir: data})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if rep, err := st.Verify(context.Background(), nil); err != nil || !rep.OK() || rep.Records != n {
		t.Errorf("after the second harvest: %v %+v, want %d records", err, rep, n)
	}
}
