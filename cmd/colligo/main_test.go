package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/colligo/colligo/node"
	"github.com/colligo/colligo/store/gen"
)

func runCLI(t *testing.T, ctx context.Context, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(ctx, args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "colligo.toml")
	os.WriteFile(file, []byte("data_dir = \"from-file\"\nhttp_addr = \"127.0.0.1:9001\"\nrepository_name = \"File name\"\n"), 0o644)
	tests := []struct {
		name     string
		env      map[string]string
		flags    []string
		data     string
		http     string
		repoName string
	}{
		{"file over defaults", nil, nil, "from-file", "127.0.0.1:9001", "File name"},
		{"env over file", map[string]string{"COLLIGO_DATA": "from-env"}, nil, "from-env", "127.0.0.1:9001", "File name"},
		{"flag over env", map[string]string{"COLLIGO_DATA": "from-env"}, []string{"--data", "from-flag"}, "from-flag", "127.0.0.1:9001", "File name"},
		{"unset flag keeps file", nil, []string{"--repository-id", "x.example"}, "from-file", "127.0.0.1:9001", "File name"},
		{"env name", map[string]string{"COLLIGO_REPOSITORY_NAME": "Env name", "COLLIGO_HTTP": "127.0.0.1:9002"}, nil, "from-file", "127.0.0.1:9002", "Env name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := find("serve")
			fs, o := newFlagSet(c, io.Discard)
			if err := fs.Parse(append([]string{"--config", file}, tc.flags...)); err != nil {
				t.Fatal(err)
			}
			e, err := loadEnv(fs, o, func(k string) string { return tc.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			if e.cfg.DataDir != tc.data || e.cfg.HTTPAddr != tc.http || e.cfg.RepositoryName != tc.repoName {
				t.Errorf("data %q http %q name %q, want %q %q %q", e.cfg.DataDir, e.cfg.HTTPAddr, e.cfg.RepositoryName, tc.data, tc.http, tc.repoName)
			}
			if !e.dataSet {
				t.Error("data directory chosen by the file was not noticed")
			}
			if e.cfg.BaseURL != "http://"+tc.http {
				t.Errorf("base URL %q", e.cfg.BaseURL)
			}
		})
	}
	os.WriteFile(file, []byte("data_dri = \"typo\"\n"), 0o644)
	fs, o := newFlagSet(find("serve"), io.Discard)
	fs.Parse([]string{"--config", file})
	if _, err := loadEnv(fs, o, func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), "data_dri") {
		t.Errorf("unknown key: %v", err)
	}
}

func TestExampleConfigLoads(t *testing.T) {
	c := node.DefaultConfig()
	if err := c.LoadFile("../../configs/colligo.toml"); err != nil {
		t.Fatal(err)
	}
	if err := c.Finish(); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	d := node.DefaultConfig()
	d.Finish()
	if c.HTTPAddr != d.HTTPAddr || c.DataDir != d.DataDir || c.CacheSizeMiB != d.CacheSizeMiB {
		t.Errorf("the example file's values differ from the defaults")
	}
}

func genFile(t *testing.T, n int) string {
	path := filepath.Join(t.TempDir(), "records.xml")
	f, _ := os.Create(path)
	if err := gen.New(5, gen.Institutions[0]).WriteOAIDC(f, 0, n, true); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return path
}

func TestCommandsOnStoppedDataDir(t *testing.T) {
	ctx := context.Background()
	data := filepath.Join(t.TempDir(), "data")
	file := genFile(t, 1000)
	code, out, errs := runCLI(t, ctx, "import", "--data", data, file)
	if code != 0 || !strings.Contains(out, "980 added") || !strings.Contains(out, "20 deleted") {
		t.Fatalf("import = %d %q %q", code, out, errs)
	}
	code, out, _ = runCLI(t, ctx, "import", "--data", data, file)
	if code != 0 || !strings.Contains(out, "1000 unchanged") {
		t.Fatalf("re-import = %d %q", code, out)
	}
	if code, out, _ = runCLI(t, ctx, "verify", "--data", data); code != 0 || !strings.Contains(out, "consistent") {
		t.Fatalf("verify = %d %q", code, out)
	}
	bk := filepath.Join(t.TempDir(), "bk")
	if code, out, errs = runCLI(t, ctx, "backup", "--data", data, bk); code != 0 {
		t.Fatalf("backup = %d %q %q", code, out, errs)
	}
	restored := filepath.Join(t.TempDir(), "restored")
	if code, out, errs = runCLI(t, ctx, "restore", "--data", restored, bk); code != 0 {
		t.Fatalf("restore = %d %q %q", code, out, errs)
	}
	if code, out, _ = runCLI(t, ctx, "verify", "--data", restored); code != 0 || !strings.Contains(out, "1000 records (20 deleted)") {
		t.Fatalf("verify restored = %d %q", code, out)
	}
	if code, _, errs = runCLI(t, ctx, "restore", "--data", restored, bk); code != 1 || !strings.Contains(errs, "not empty") {
		t.Fatalf("restore over data = %d %q", code, errs)
	}
}

func TestExitCodes(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	bad := filepath.Join(t.TempDir(), "bad.xml")
	os.WriteFile(bad, []byte(`<OAI-PMH><ListRecords><record><header><identifier>oai:x.example:1</identifier></header><metadata><oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>No title</dc:creator></oai_dc:dc></metadata></record></ListRecords></OAI-PMH>`), 0o644)
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"unknown command", []string{"frobnicate"}, 2, "unknown command"},
		{"import without files", []string{"import", "--data", data}, 2, "at least one FILE"},
		{"missing file", []string{"import", "--data", data, "/nonexistent.xml"}, 1, "no such file"},
		{"bad record is reported, not fatal", []string{"import", "--data", data, bad}, 0, "metadata.titles"},
		{"bad flag", []string{"import", "--nope"}, 2, "flag provided but not defined"},
		{"bad config value", []string{"serve", "--repository-id", "nodot"}, 2, "repository_id"},
		{"help", []string{"help"}, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := runCLI(t, ctx, tc.args...)
			if code != tc.code || !strings.Contains(errs, tc.stderr) {
				t.Fatalf("exit %d stderr %q, want %d containing %q", code, errs, tc.code, tc.stderr)
			}
		})
	}
}

// With a node holding the data directory, the CLI goes through it.
func TestCommandsThroughRunningNode(t *testing.T) {
	ctx := context.Background()
	cfg := node.DefaultConfig()
	cfg.DataDir = t.TempDir()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	cfg.HTTPAddr = ln.Addr().String()
	cfg.Finish()
	n, err := node.New(cfg, node.WithListener(ln))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	file := genFile(t, 800)
	code, out, errs := runCLI(t, ctx, "import", "--data", cfg.DataDir, file)
	if code != 0 || !strings.Contains(out, "784 added") {
		t.Fatalf("import through node = %d %q %q", code, out, errs)
	}
	if c, _ := n.Store().Len(ctx); c != 800 {
		t.Fatalf("node holds %d records", c)
	}
	if code, out, _ = runCLI(t, ctx, "verify", "--data", cfg.DataDir); code != 0 || !strings.Contains(out, "consistent") {
		t.Fatalf("verify through node = %d %q", code, out)
	}
	bk := filepath.Join(t.TempDir(), "bk")
	if code, out, errs = runCLI(t, ctx, "backup", "--data", cfg.DataDir, bk); code != 0 {
		t.Fatalf("backup through node = %d %q %q", code, out, errs)
	}
	if _, err := os.Stat(bk); err != nil {
		t.Fatal(err)
	}
}

func TestServeDemo(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	data := t.TempDir()
	done := make(chan int)
	var errb bytes.Buffer
	go func() {
		done <- run(ctx, []string{"serve", "--demo", "--data", data, "--http", "127.0.0.1:0"}, io.Discard, &errb)
	}()
	var info *node.Info
	deadline := time.Now().Add(20 * time.Second)
	for {
		var err error
		if info, err = node.ReadInfo(data); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("node file never appeared: %s", errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	resp, err := http.Get("http://" + info.HTTPAddr + "/api/records?limit=1")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Contains(b, []byte(`"total": 300`)) {
		t.Errorf("demo node lists %s", b)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve exited %d: %s", code, errb.String())
	}
}
