package federation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// Meta is what a node says about itself in memberlist's node metadata,
// which is limited to 512 bytes: its id, its base URL (the OAI-PMH base URL
// is BaseURL + "/oai") and its version.
type Meta struct {
	ID      string `json:"id"`
	BaseURL string `json:"url"`
	Version string `json:"v,omitempty"`
}

// State is what a node advertises beyond its metadata, in push-pull
// exchanges and broadcasts: where its own records stand and which
// vocabularies it holds.
type State struct {
	ID string `json:"id"`
	// HWM is the change sequence number of the node's latest write to its
	// own records: when it grows, peers harvest.
	HWM uint64 `json:"hwm"`
	// Records is how many records (tombstones included) the node holds of
	// its own.
	Records int64 `json:"records"`
	// Vocab maps the id of each concept scheme the node holds to its
	// version.
	Vocab map[string]SchemeVersion `json:"vocab,omitempty"`
	// Leaving is set in the last state a node sends before it leaves, so
	// that peers tell "left" from "dead" (memberlist's leave event does
	// not say which).
	Leaving bool `json:"leaving,omitempty"`
	// Sent orders the states of one node: when the node published it
	// (Unix nanoseconds, strictly increasing per node). Broadcasts are
	// relayed by their receivers, so they can arrive late and out of
	// order: an older one is ignored.
	Sent int64 `json:"sent,omitempty"`
}

// SchemeVersion identifies the version of a concept scheme: its content
// hash and when it was first loaded (Unix seconds).
type SchemeVersion struct {
	Hash   string `json:"h"`
	Loaded int64  `json:"t"`
}

// Peer is another node of the federation.
type Peer struct {
	Meta
	State State
	// Status is alive, suspect, dead or left.
	Status string
	// Addr is its gossip address.
	Addr string
	// LastConfirmed is when it was last known alive.
	LastConfirmed time.Time
	leaving       bool
}

// OAIBaseURL is the peer's OAI-PMH base URL.
func (p *Peer) OAIBaseURL() string { return strings.TrimRight(p.BaseURL, "/") + "/oai" }

// Local is what the federation needs from its own node.
type Local interface {
	// State returns the node's current state.
	State() State
	// Changed returns a channel closed when the state may have changed.
	Changed() <-chan struct{}
}

// Syncer acts on peers (harvests them, fetches their vocabularies). Its
// methods are called from the federation's goroutine and must not block
// for long: start work and return.
type Syncer interface {
	// PeerSeen reports a live peer and its latest state: at join, when its
	// state changes, and after every push-pull.
	PeerSeen(p Peer)
	// PeerGone reports a peer found dead or gone (it left).
	PeerGone(p Peer)
}

// Federation is a node's membership of the peer group, on memberlist. It
// owns its goroutines: Start starts them, Close stops them.
type Federation struct {
	cfg    Config
	meta   Meta
	local  Local
	syncer Syncer
	log    *slog.Logger

	ml     *memberlist.Memberlist
	queue  *memberlist.TransmitLimitedQueue
	events chan event

	mu    sync.Mutex
	peers map[string]*Peer

	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once

	stampMu   sync.Mutex
	lastStamp int64 // the latest State.Sent of this node
	transport memberlist.Transport
	keyring   *memberlist.Keyring
}

type eventKind int

const (
	evJoin eventKind = iota
	evLeave
	evUpdate
	evState
)

type event struct {
	kind  eventKind
	node  *memberlist.Node
	state *State
	// direct is set for a state from the node itself (push-pull), which
	// is taken even when it seems older (the node's clock went back).
	direct bool
}

// Option is a test seam.
type Option func(*Federation)

// WithTransport makes memberlist use t (tests drop packets between nodes
// with it to make partitions).
func WithTransport(t memberlist.Transport) Option { return func(f *Federation) { f.transport = t } }

// New returns a federation member; it does not gossip until Start. meta
// must fit in 512 bytes.
func New(cfg Config, meta Meta, local Local, syncer Syncer, logger *slog.Logger, opts ...Option) (*Federation, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if !cfg.Enabled() {
		return nil, errors.New("federation.New: no gossip address")
	}
	if b, _ := json.Marshal(meta); len(b) > memberlist.MetaMaxSize {
		return nil, fmt.Errorf("federation.New: node metadata is %d bytes, memberlist allows %d", len(b), memberlist.MetaMaxSize)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	f := &Federation{cfg: cfg, meta: meta, local: local, syncer: syncer, log: logger.With("component", "federation"),
		events: make(chan event, 4096), peers: map[string]*Peer{}}
	for _, o := range opts {
		o(f)
	}
	return f, nil
}

// Start joins the gossip: it binds the gossip address, joins the seeds in
// the background (retrying until one answers), and starts broadcasting the
// node's state. ctx bounds nothing after Start returns; Close stops it all.
func (f *Federation) Start(ctx context.Context) error {
	mc := memberlist.DefaultLANConfig()
	mc.Name = f.meta.ID
	host, port, _ := net.SplitHostPort(f.cfg.Gossip)
	mc.BindAddr = host
	mc.BindPort, _ = strconv.Atoi(port)
	if f.cfg.Advertise != "" {
		h, p, _ := net.SplitHostPort(f.cfg.Advertise)
		mc.AdvertiseAddr = h
		mc.AdvertisePort, _ = strconv.Atoi(p)
	}
	mc.Label = f.cfg.ClusterLabel
	kr, err := f.cfg.keyring()
	if err != nil {
		return err
	}
	mc.Keyring = kr
	f.keyring = kr
	mc.GossipVerifyIncoming, mc.GossipVerifyOutgoing = kr != nil, kr != nil
	mc.ProbeInterval = f.cfg.ProbeInterval.Duration
	mc.ProbeTimeout = f.cfg.ProbeInterval.Duration / 2
	mc.GossipInterval = f.cfg.GossipInterval.Duration
	mc.PushPullInterval = f.cfg.PushPullInterval.Duration
	mc.SuspicionMult = 3
	mc.DeadNodeReclaimTime = 10 * time.Second // a restarted node comes back at once
	mc.Delegate = delegate{f}
	mc.Events = eventDelegate{f}
	mc.Logger = log.New(&logWriter{f.log}, "", 0)
	if f.transport != nil {
		mc.Transport = f.transport
	}
	ml, err := memberlist.Create(mc)
	if err != nil {
		return fmt.Errorf("federation: gossip on %s: %w", f.cfg.Gossip, err)
	}
	f.ml = ml
	// Each state is sent 8·⌈log10(n+1)⌉ times by each node that holds it
	// new (see the relay in handle): states are small, and a missed one
	// waits for the next push-pull.
	f.queue = &memberlist.TransmitLimitedQueue{NumNodes: ml.NumMembers, RetransmitMult: 8}
	ctx, f.cancel = context.WithCancel(context.WithoutCancel(ctx))
	f.wg.Add(2)
	go f.loop(ctx)
	go f.join(ctx)
	if f.cfg.KeyringFile != "" {
		f.wg.Add(1)
		go f.watchKeyring(ctx)
	}
	f.log.Info("gossip started", "addr", ml.LocalNode().Address(), "label", f.cfg.ClusterLabel, "encrypted", kr != nil, "seeds", strings.Join(f.cfg.Seeds, ","))
	return nil
}

// Addr returns the gossip address the node advertises.
func (f *Federation) Addr() string {
	if f.ml == nil {
		return ""
	}
	return f.ml.LocalNode().Address()
}

// Close leaves the group (telling the others, so they see "left" rather
// than "dead"), stops gossip and waits for the goroutines. Safe to call
// twice.
func (f *Federation) Close() error {
	var err error
	f.closeOnce.Do(func() {
		if f.ml == nil {
			return
		}
		// Stop our goroutines first: a state published after the leaving
		// one would replace it in the broadcast queue.
		f.cancel()
		f.wg.Wait()
		// Say we are leaving, and give the gossip a moment to carry it.
		st := f.local.State()
		st.Leaving = true
		f.broadcast(f.stamp(st))
		for deadline := time.Now().Add(time.Second); f.queue.NumQueued() > 0 && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
		}
		if e := f.ml.Leave(time.Second); e != nil {
			f.log.Debug("leave", "err", e)
		}
		err = f.ml.Shutdown()
	})
	return err
}

// join retries joining the seeds with backoff until one answers.
func (f *Federation) join(ctx context.Context) {
	defer f.wg.Done()
	if len(f.cfg.Seeds) == 0 {
		return
	}
	delay := 200 * time.Millisecond
	for {
		n, err := f.ml.Join(f.cfg.Seeds)
		if n > 0 {
			f.log.Info("joined the federation", "contacted", n)
			return
		}
		f.log.Debug("join failed, retrying", "seeds", strings.Join(f.cfg.Seeds, ","), "err", err, "in", delay)
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, 10*time.Second)
	}
}

// loop handles membership events and broadcasts the node's own state
// when it changes.
func (f *Federation) loop(ctx context.Context) {
	defer f.wg.Done()
	var lastSent State
	publish := time.NewTicker(100 * time.Millisecond)
	defer publish.Stop()
	reconnect := time.NewTicker(f.cfg.ReconnectInterval.Duration)
	defer reconnect.Stop()
	var joining sync.WaitGroup
	defer joining.Wait()
	busy := false
	joined := make(chan struct{}, 1)
	changed := f.local.Changed()
	dirty := true
	for {
		select {
		case <-ctx.Done():
			return
		case e := <-f.events:
			f.handle(e)
		case <-joined:
			busy = false
		case <-reconnect.C:
			// Memberlist stops talking to nodes it found dead; a partition
			// that heals, or a peer that restarts elsewhere, is reached
			// again by joining it (as serf reconnects failed members).
			addrs := f.lostAddrs()
			if busy || len(addrs) == 0 {
				continue
			}
			busy = true
			joining.Add(1)
			go func() {
				defer joining.Done()
				if n, err := f.ml.Join(addrs); n > 0 {
					f.log.Debug("reconnected", "contacted", n)
				} else if err != nil {
					f.log.Debug("reconnect failed", "err", err)
				}
				joined <- struct{}{}
			}()
		case <-changed:
			changed = f.local.Changed()
			dirty = true
		case <-publish.C:
			// At most ten broadcasts a second, whatever the write rate.
			if !dirty {
				continue
			}
			dirty = false
			st := f.local.State()
			if st.HWM != lastSent.HWM || st.Records != lastSent.Records || !sameVocab(st.Vocab, lastSent.Vocab) {
				lastSent = st
				f.broadcast(f.stamp(st))
			}
		}
	}
}

func sameVocab(a, b map[string]SchemeVersion) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// stateBroadcast is one queued state message; a newer one for the same
// node invalidates it.
type stateBroadcast struct {
	id  string
	msg []byte
}

func (b *stateBroadcast) Invalidates(o memberlist.Broadcast) bool {
	ob, ok := o.(*stateBroadcast)
	return ok && ob.id == b.id
}
func (b *stateBroadcast) Message() []byte { return b.msg }
func (b *stateBroadcast) Finished()       {}

// stamp sets st.Sent to a time later than any this node stamped before.
func (f *Federation) stamp(st State) State {
	f.stampMu.Lock()
	defer f.stampMu.Unlock()
	f.lastStamp = max(f.lastStamp+1, time.Now().UnixNano())
	st.Sent = f.lastStamp
	return st
}

func (f *Federation) broadcast(st State) {
	b, err := json.Marshal(st)
	if err != nil {
		return
	}
	f.queue.QueueBroadcast(&stateBroadcast{id: st.ID, msg: b})
}

// handle applies one event to the peer table and tells the syncer.
func (f *Federation) handle(e event) {
	now := time.Now().UTC()
	f.mu.Lock()
	var seen, gone *Peer
	switch e.kind {
	case evJoin, evUpdate, evLeave:
		var meta Meta
		if err := json.Unmarshal(e.node.Meta, &meta); err != nil || meta.ID == "" {
			f.mu.Unlock()
			f.log.Warn("peer with unreadable metadata ignored", "peer", e.node.Name, "addr", e.node.Address())
			return
		}
		if meta.ID == f.meta.ID {
			f.mu.Unlock()
			return
		}
		p := f.peers[meta.ID]
		if p == nil {
			p = &Peer{State: State{ID: meta.ID}}
			f.peers[meta.ID] = p
		}
		p.Meta, p.Addr = meta, e.node.Address()
		if e.kind == evLeave {
			p.Status = "dead"
			if p.leaving || e.node.State == memberlist.StateLeft {
				p.Status = "left"
			}
			c := *p
			gone = &c
			f.log.Info("peer gone", "peer", meta.ID, "status", p.Status)
		} else {
			if p.Status != "alive" {
				f.log.Info("peer alive", "peer", meta.ID, "url", meta.BaseURL)
			}
			p.Status, p.LastConfirmed, p.leaving = "alive", now, false
			c := *p
			seen = &c
		}
	case evState:
		if e.state.ID == f.meta.ID || e.state.ID == "" {
			f.mu.Unlock()
			return
		}
		p := f.peers[e.state.ID]
		if p != nil && !e.direct && e.state.Sent <= p.State.Sent {
			// Already known, or older than what is known.
			f.mu.Unlock()
			return
		}
		if !e.direct {
			// Relay what is new to this node, as serf relays user events:
			// memberlist sends a broadcast to a few random nodes a few
			// times, which can miss some; relayed, it reaches every node.
			f.broadcast(*e.state)
		}
		if p == nil {
			// State before membership: keep it for when the peer shows up.
			p = &Peer{State: *e.state, Status: "unknown"}
			f.peers[e.state.ID] = p
			f.mu.Unlock()
			return
		}
		p.State = *e.state
		p.leaving = e.state.Leaving
		if p.Status == "alive" {
			p.LastConfirmed = now
			c := *p
			seen = &c
		}
	}
	f.mu.Unlock()
	if seen != nil && f.syncer != nil {
		f.syncer.PeerSeen(*seen)
	}
	if gone != nil && f.syncer != nil {
		f.syncer.PeerGone(*gone)
	}
}

// lostAddrs returns the gossip addresses to try again: dead peers, and the
// seeds when no peer is alive.
func (f *Federation) lostAddrs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var addrs []string
	alive := false
	for _, p := range f.peers {
		switch p.Status {
		case "dead":
			if p.Addr != "" {
				addrs = append(addrs, p.Addr)
			}
		case "alive":
			alive = true
		}
	}
	if !alive {
		addrs = append(addrs, f.cfg.Seeds...)
	}
	return addrs
}

// Peers returns the other nodes ever seen, with their status (suspect
// from memberlist's view), sorted by id.
func (f *Federation) Peers() []Peer {
	status := map[string]string{}
	if f.ml != nil {
		for _, n := range f.ml.Members() {
			switch n.State {
			case memberlist.StateSuspect:
				status[n.Name] = "suspect"
			case memberlist.StateAlive:
				status[n.Name] = "alive"
			}
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Peer, 0, len(f.peers))
	for _, p := range f.peers {
		if p.Status == "unknown" {
			continue
		}
		c := *p
		if s, ok := status[p.ID]; ok && p.Status == "alive" {
			c.Status = s
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// LivePeers returns the peers currently alive.
func (f *Federation) LivePeers() []Peer {
	var out []Peer
	for _, p := range f.Peers() {
		if p.Status == "alive" {
			out = append(out, p)
		}
	}
	return out
}

// Self returns the node's own metadata.
func (f *Federation) Self() Meta { return f.meta }

// delegate implements memberlist.Delegate. Its methods hand work to the
// loop's channel and never block.
type delegate struct{ f *Federation }

func (d delegate) NodeMeta(limit int) []byte {
	b, _ := json.Marshal(d.f.meta)
	if len(b) > limit {
		return nil
	}
	return b
}

func (d delegate) NotifyMsg(b []byte) {
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return
	}
	d.f.send(event{kind: evState, state: &st})
}

func (d delegate) GetBroadcasts(overhead, limit int) [][]byte {
	return d.f.queue.GetBroadcasts(overhead, limit)
}

func (d delegate) LocalState(join bool) []byte {
	b, _ := json.Marshal(d.f.stamp(d.f.local.State()))
	return b
}

func (d delegate) MergeRemoteState(buf []byte, join bool) {
	var st State
	if err := json.Unmarshal(buf, &st); err != nil {
		return
	}
	d.f.send(event{kind: evState, state: &st, direct: true})
}

func (f *Federation) send(e event) {
	select {
	case f.events <- e:
	default:
		// Push-pull repairs whatever is dropped here.
		f.log.Warn("federation event queue full: event dropped")
	}
}

type eventDelegate struct{ f *Federation }

func (d eventDelegate) NotifyJoin(n *memberlist.Node) {
	d.f.send(event{kind: evJoin, node: copyNode(n)})
}
func (d eventDelegate) NotifyLeave(n *memberlist.Node) {
	d.f.send(event{kind: evLeave, node: copyNode(n)})
}
func (d eventDelegate) NotifyUpdate(n *memberlist.Node) {
	d.f.send(event{kind: evUpdate, node: copyNode(n)})
}

func copyNode(n *memberlist.Node) *memberlist.Node {
	c := *n
	c.Meta = append([]byte(nil), n.Meta...)
	return &c
}

// watchKeyring applies changes of the keyring file: new keys are
// installed, the first key becomes the one used to encrypt, removed keys
// are dropped.
func (f *Federation) watchKeyring(ctx context.Context) {
	defer f.wg.Done()
	var last time.Time
	if fi, err := os.Stat(f.cfg.KeyringFile); err == nil {
		last = fi.ModTime()
	}
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		fi, err := os.Stat(f.cfg.KeyringFile)
		if err != nil || !fi.ModTime().After(last) {
			continue
		}
		last = fi.ModTime()
		keys, err := readKeyring(f.cfg.KeyringFile)
		if err != nil {
			f.log.Warn("keyring file unreadable; keys unchanged", "err", err)
			continue
		}
		kr := f.keyring
		if kr == nil {
			f.log.Warn("keyring file changed, but gossip started unencrypted; restart to encrypt")
			continue
		}
		if c := f.cfg.Key; c != "" {
			if k, err := decodeKey(string(c)); err == nil {
				keys = append(keys, k)
			}
		}
		for _, k := range keys {
			kr.AddKey(k)
		}
		kr.UseKey(keys[0])
		for _, old := range kr.GetKeys() {
			keep := false
			for _, k := range keys {
				keep = keep || string(k) == string(old)
			}
			if !keep {
				kr.RemoveKey(old)
			}
		}
		f.log.Info("gossip keyring reloaded", "keys", len(keys))
	}
}

// logWriter turns memberlist's "[LEVEL] memberlist: ..." lines into slog
// records: errors and warnings (a node with the wrong key or label) are
// logged at Warn, the rest at Debug.
type logWriter struct{ l *slog.Logger }

func (w *logWriter) Write(p []byte) (int, error) {
	msg := strings.TrimSpace(string(p))
	if i := strings.Index(msg, "]"); i >= 0 && strings.HasPrefix(msg, "[") {
		msg = strings.TrimSpace(msg[i+1:])
	}
	l := strings.ToLower(msg)
	switch {
	case strings.Contains(l, "decrypt"), strings.Contains(l, "encrypt"), strings.Contains(l, "label"),
		strings.Contains(l, "conflicting address"), strings.Contains(l, "keyring"):
		// Someone with the wrong key or label, or a name clash: the
		// operator must act.
		w.l.Warn("gossip refused: " + msg)
	default:
		// Failed probes and pushes to dead peers are routine.
		w.l.Debug(msg)
	}
	return len(p), nil
}
