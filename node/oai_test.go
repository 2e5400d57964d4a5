package node

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/colligo/colligo/oai"
	"github.com/colligo/colligo/oai/oaitest"
)

// startNodeCfg starts a node on a loopback port with cfg (DataDir set).
func startNodeCfg(t *testing.T, cfg Config) *Node {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.HTTPAddr = ln.Addr().String()
	cfg.BaseURL = ""
	if err := cfg.Finish(); err != nil {
		t.Fatal(err)
	}
	n, err := New(cfg, WithListener(ln))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

func oaiGet(t *testing.T, n *Node, query string) string {
	t.Helper()
	resp, err := http.Get("http://" + n.Addr() + "/oai?" + query)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %d %s", query, resp.StatusCode, body)
	}
	oaitest.Validate(t, body)
	oaitest.CheckDates(t, body)
	return string(body)
}

// The node serves OAI-PMH at <base_url>/oai, and re-derives its records in
// the background when the set configuration changes between two starts.
func TestOAIWiring(t *testing.T) {
	ctx := context.Background()
	cfg := DefaultConfig()
	cfg.DataDir = t.TempDir()
	n := startNodeCfg(t, cfg)
	if _, err := n.LoadDemo(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	body := oaiGet(t, n, "verb=Identify")
	if want := "<baseURL>" + n.Config().BaseURL + "/oai</baseURL>"; !strings.Contains(body, want) {
		t.Errorf("Identify has no %s:\n%s", want, body)
	}
	// Before any set is configured, only the automatic source sets exist.
	if body := oaiGet(t, n, "verb=ListIdentifiers&metadataPrefix=oai_dc&set=type:dataset"); !strings.Contains(body, `code="noRecordsMatch"`) {
		t.Errorf("sets before any are configured:\n%.500s", body)
	}
	if body := oaiGet(t, n, "verb=ListIdentifiers&metadataPrefix=oai_dc&set=source:"+n.Config().NodeID); !strings.Contains(body, "<header>") {
		t.Errorf("the node's own records are not in source:<node id>:\n%.500s", body)
	}
	n.SetOAIFriends(func() []string { return []string{"https://peer.example/oai"} })
	if body := oaiGet(t, n, "verb=Identify"); !strings.Contains(body, "<baseURL>https://peer.example/oai</baseURL>") {
		t.Errorf("friends not listed:\n%s", body)
	}
	// The first start records the fingerprint the records were derived with.
	waitFor(t, func() bool { fp, _ := n.Store().GetState(stateDeriveFingerprint); return fp != nil })
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}

	cfg.OAI.Sets = []oai.SetConfig{{Spec: "type:dataset", Name: "Datasets", Types: []string{"Dataset"}}}
	n = startNodeCfg(t, cfg)
	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		return strings.Contains(oaiGet(t, n, "verb=ListIdentifiers&metadataPrefix=oai_dc&set=type:dataset"), "<header>")
	})
	final := n.Config()
	d, _ := oai.NewDeriver(final.oaiConfig())
	waitFor(t, func() bool { fp, _ := n.Store().GetState(stateDeriveFingerprint); return string(fp) == d.Fingerprint() })
}

func TestOAIConfigErrors(t *testing.T) {
	cfg := DefaultConfig()
	if err := cfg.Finish(); err != nil {
		t.Fatal(err)
	}
	cfg.OAI.PageSize = 0
	var ce *ConfigError
	if err := cfg.Validate(); !errors.As(err, &ce) || ce.Field != "oai.page_size" {
		t.Errorf("Validate() = %v, want an error on oai.page_size", err)
	}
}

// waitFor polls cond until it holds or 30 seconds pass.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 30s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The example configuration loads, and so does the [[oai.sets]] example of
// the README.
func TestOAIConfigFile(t *testing.T) {
	c := DefaultConfig()
	if err := c.LoadFile("../configs/colligo.toml"); err != nil {
		t.Fatal(err)
	}
	if err := c.Finish(); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.OAI.PageSize != 500 || c.OAI.TokenLifetime != 168*time.Hour {
		t.Errorf("[oai] = %+v", c.OAI)
	}
	path := t.TempDir() + "/sets.toml"
	sets := `[[oai.sets]]
spec = "type:dataset"
name = "Research data"
description = "Datasets and software"
types = ["Dataset", "Software"]
origins = ["uni-a.example"]
filter = ["language=de", "license_spdx=CC-BY-*"]

[[oai.sets]]
spec = "source:uni-b.example"
name = "Universität Beispielstadt"
`
	if err := os.WriteFile(path, []byte(sets), 0o644); err != nil {
		t.Fatal(err)
	}
	c = DefaultConfig()
	if err := c.LoadFile(path); err != nil {
		t.Fatal(err)
	}
	c.Finish()
	if err := c.Validate(); err != nil || len(c.OAI.Sets) != 2 || c.OAI.Sets[0].Filter[1] != "license_spdx=CC-BY-*" {
		t.Errorf("sets %+v: %v", c.OAI.Sets, err)
	}
}
