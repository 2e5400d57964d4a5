package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/colligo/colligo/federation"
	"github.com/colligo/colligo/node"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// binary builds colligo once for the process tests.
func binary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "colligo-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "colligo")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// The gossip port also takes UDP: check it is free too.
	addr := ln.Addr().String()
	if pc, err := net.ListenPacket("udp", addr); err == nil {
		pc.Close()
	} else {
		return freePort(t)
	}
	return addr
}

// proc is a colligo serve process.
type proc struct {
	t      testing.TB
	id     string
	data   string
	http   string
	gossip string
	args   []string
	env    []string
	cmd    *exec.Cmd
	logs   *bytes.Buffer
	mu     *sync.Mutex
}

func (p *proc) start() {
	p.t.Helper()
	cmd := exec.Command(binary(p.t), p.args...)
	cmd.Env = append(os.Environ(), p.env...)
	w := &lockedWriter{mu: p.mu, b: p.logs}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.cmd = cmd
	p.t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Signal(syscall.SIGTERM)
			p.cmd.Wait()
		}
	})
}

func (p *proc) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()
}

func (p *proc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w *lockedWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(b)
}

func startProc(t *testing.T, id string, demo int, key string, seeds ...string) *proc {
	p := &proc{t: t, id: id, data: t.TempDir(), http: freePort(t), gossip: freePort(t), logs: &bytes.Buffer{}, mu: &sync.Mutex{}}
	p.args = []string{"serve", "--demo", "--demo-collection", fmt.Sprint(demo), "--data", p.data, "--http", p.http,
		"--node-id", id, "--repository-id", id + ".example", "--gossip", p.gossip, "--log-level", "info"}
	if len(seeds) > 0 {
		p.args = append(p.args, "--join", strings.Join(seeds, ","))
	}
	p.env = []string{"COLLIGO_GOSSIP_KEY=" + key, "COLLIGO_ADMIN_TOKEN=secret-" + id}
	p.start()
	return p
}

func getJSON(url string, v any) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

func fedInfo(p *proc) (node.FederationInfo, error) {
	var info node.FederationInfo
	err := getJSON("http://"+p.http+"/api/federation", &info)
	return info, err
}

func member(info node.FederationInfo, id string) *node.Member {
	for i := range info.Members {
		if info.Members[i].ID == id {
			return &info.Members[i]
		}
	}
	return nil
}

func waitUntil(t testing.TB, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func searchTotal(p *proc, q string) int64 {
	var res struct{ Total int64 }
	if err := getJSON("http://"+p.http+"/api/search?q="+q+"&facet=none", &res); err != nil {
		return -1
	}
	return res.Total
}

// TestFederationProcesses runs real colligo processes: three join and
// cross-index; a write on A is searchable on B and C; A killed with
// SIGKILL is seen dead while B and C keep serving; A restarted catches up;
// a node with the wrong key cannot join.
func TestFederationProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	key, _ := federation.Keygen()
	a := startProc(t, "uni-a", 0, key)
	b := startProc(t, "uni-b", 1, key, a.gossip)
	c := startProc(t, "uni-c", 2, key, a.gossip)
	procs := []*proc{a, b, c}
	for _, p := range procs {
		waitUntil(t, p.id+" converging", 60*time.Second, func() bool {
			info, err := fedInfo(p)
			if err != nil || len(info.Members) != 3 {
				return false
			}
			for _, m := range info.Members {
				if m.State != "alive" || m.Held != node.DemoRecords {
					return false
				}
			}
			return true
		})
	}
	// A write on A is searchable on B and C.
	body := `{"metadata": {"titles": [{"value": "Qwertzuiop federated glacier record"}]}}`
	req, _ := http.NewRequest("PUT", "http://"+a.http+"/api/records/fresh-1", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer secret-uni-a")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("PUT on A: %v %v", err, resp)
	}
	resp.Body.Close()
	for _, p := range []*proc{b, c} {
		waitUntil(t, p.id+" finding A's new record", 10*time.Second, func() bool { return searchTotal(p, "qwertzuiop") == 1 })
	}
	// A crashes: B and C see it dead and keep serving.
	a.kill()
	for _, p := range []*proc{b, c} {
		waitUntil(t, p.id+" seeing uni-a dead", 20*time.Second, func() bool {
			info, err := fedInfo(p)
			m := member(info, "uni-a")
			return err == nil && m != nil && m.State == "dead"
		})
		if searchTotal(p, "qwertzuiop") != 1 {
			t.Errorf("%s lost A's records after A died", p.id)
		}
	}
	// B writes while A is down; A restarts and catches up.
	req, _ = http.NewRequest("PUT", "http://"+b.http+"/api/records/missed-1", strings.NewReader(`{"metadata": {"titles": [{"value": "Asdfghjkl written while A was down"}]}}`))
	req.Header.Set("Authorization", "Bearer secret-uni-b")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 201 {
		t.Fatalf("PUT on B: %v %v", err, resp)
	}
	a.start()
	waitUntil(t, "uni-a catching up", 60*time.Second, func() bool { return searchTotal(a, "asdfghjkl") == 1 })
	for _, p := range []*proc{b, c} {
		waitUntil(t, p.id+" seeing uni-a alive again", 20*time.Second, func() bool {
			info, _ := fedInfo(p)
			m := member(info, "uni-a")
			return m != nil && m.State == "alive"
		})
	}
	// A node with another key cannot join.
	other, _ := federation.Keygen()
	x := startProc(t, "intruder", 0, other, a.gossip)
	time.Sleep(3 * time.Second)
	if info, err := fedInfo(a); err != nil || member(info, "intruder") != nil {
		t.Fatalf("the intruder joined: %+v %v", info, err)
	}
	if info, err := fedInfo(x); err != nil || len(info.Members) != 1 {
		t.Fatalf("the intruder sees members: %+v %v", info, err)
	}
	waitUntil(t, "the refusal in A's log", 10*time.Second, func() bool { return strings.Contains(a.log(), "gossip refused") })
	// colligo peers, through the running node.
	out, err := exec.Command(binary(t), "peers", "--data", b.data).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "uni-a") || !strings.Contains(string(out), "uni-c") {
		t.Fatalf("colligo peers: %v\n%s", err, out)
	}
}
