package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime/debug"
	"sort"
	"sync"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/colligo/colligo/federation"
	"github.com/colligo/colligo/harvest"
	"github.com/colligo/colligo/ld/vocab"
	"github.com/colligo/colligo/search"
	"github.com/colligo/colligo/store"
)

// fedPart is the node's membership of a federation and its peer sync.
type fedPart struct {
	f  *federation.Federation
	sy *peerSyncer
}

// initFederation creates the federation member when gossip is configured;
// Start joins, Close leaves.
func (n *Node) initFederation() error {
	n.router.GET("/api/federation", n.federationAPI)
	if !n.cfg.Federation.Enabled() {
		return nil
	}
	sy := newPeerSyncer(n)
	f, err := federation.New(n.cfg.Federation, federation.Meta{ID: n.cfg.NodeID, BaseURL: n.cfg.BaseURL, Version: shortVersion()},
		nodeLocal{n}, sy, n.log, n.fedOpts...)
	if err != nil {
		return err
	}
	n.fed = &fedPart{f: f, sy: sy}
	n.SetOAIFriends(func() []string {
		var out []string
		for _, p := range f.Peers() {
			if p.Status != "left" {
				out = append(out, p.OAIBaseURL())
			}
		}
		return out
	})
	return nil
}

// startFederation joins the gossip (after the HTTP server listens: peers
// harvest this node as soon as they see it).
func (n *Node) startFederation(ctx context.Context) error {
	if n.fed == nil {
		return nil
	}
	return n.fed.f.Start(ctx)
}

// closeFederation leaves the group and stops peer harvests.
func (n *Node) closeFederation() {
	if n.fed == nil {
		return
	}
	n.fed.f.Close()
	n.fed.sy.close()
}

// Federation returns the node's federation member, or nil when it runs
// alone.
func (n *Node) Federation() *federation.Federation {
	if n.fed == nil {
		return nil
	}
	return n.fed.f
}

// nodeLocal is the node's own state, as the federation advertises it.
type nodeLocal struct{ n *Node }

func (l nodeLocal) State() federation.State {
	n := l.n
	st := federation.State{ID: n.cfg.NodeID}
	ctx := context.Background()
	it := n.store.Scan(ctx, store.Query{Origin: n.cfg.NodeID, Reverse: true})
	if it.Next() {
		st.HWM = it.Entry().Seq
	}
	it.Close()
	st.Records, _ = n.store.Count(ctx, store.Query{Origin: n.cfg.NodeID})
	for _, s := range n.vocab.Schemes() {
		if st.Vocab == nil {
			st.Vocab = map[string]federation.SchemeVersion{}
		}
		st.Vocab[s.ID] = federation.SchemeVersion{Hash: s.Hash, Loaded: s.Loaded.Unix()}
	}
	return st
}

func (l nodeLocal) Changed() <-chan struct{} { return l.n.store.Changed() }

// peerSyncer harvests peers when they join or change and copies the
// vocabularies they hold that this node lacks or holds in an older
// version. It owns one goroutine per peer while that peer has work.
type peerSyncer struct {
	n      *Node
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	client *http.Client

	mu    sync.Mutex
	peers map[string]*peerSync
}

// peerSync is what this node knows of its sync with one peer.
type peerSync struct {
	peer federation.Peer
	// running: a goroutine works for this peer; again: more work came
	// meanwhile.
	running, again bool
	// harvestedHWM is the peer's high-water mark at the start of the
	// last successful harvest.
	harvestedHWM uint64
	lastHarvest  time.Time
	lastErr      string
	// behindSince is when the peer first advertised changes not yet
	// harvested (zero when caught up).
	behindSince time.Time
}

func newPeerSyncer(n *Node) *peerSyncer {
	ctx, cancel := context.WithCancel(context.Background())
	return &peerSyncer{n: n, ctx: ctx, cancel: cancel, peers: map[string]*peerSync{},
		client: &http.Client{Timeout: 30 * time.Second, Transport: n.fedHTTP}}
}

func (s *peerSyncer) close() {
	s.cancel()
	s.wg.Wait()
}

// PeerSeen starts a harvest of the peer when it has changes this node has
// not harvested, and vocabulary copies. It does not block.
func (s *peerSyncer) PeerSeen(p federation.Peer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := s.peers[p.ID]
	if ps == nil {
		ps = &peerSync{}
		s.peers[p.ID] = ps
	}
	ps.peer = p
	work := ps.lastHarvest.IsZero() || p.State.HWM > ps.harvestedHWM || s.vocabBehind(p)
	if p.State.HWM > ps.harvestedHWM && ps.behindSince.IsZero() {
		ps.behindSince = time.Now()
	}
	if !work {
		return
	}
	if ps.running {
		ps.again = true
		return
	}
	ps.running = true
	s.wg.Add(1)
	go s.work(p.ID)
}

// PeerGone keeps the peer's records: they stay searchable, with the time
// the peer was last confirmed alive (see /api/federation).
func (s *peerSyncer) PeerGone(p federation.Peer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ps := s.peers[p.ID]; ps != nil {
		ps.peer.Status = p.Status
	}
}

// vocabBehind reports whether the peer holds a scheme this node lacks or
// holds in an older version.
func (s *peerSyncer) vocabBehind(p federation.Peer) bool {
	for id, v := range p.State.Vocab {
		mine := s.n.vocab.Scheme(id)
		if mine == nil || (mine.Hash != v.Hash && vocab.Newer(time.Unix(v.Loaded, 0), v.Hash, mine.Loaded, mine.Hash)) {
			return true
		}
	}
	return false
}

// work harvests the peer (and copies vocabularies) until no more work
// was asked for meanwhile.
func (s *peerSyncer) work(id string) {
	defer s.wg.Done()
	for {
		s.mu.Lock()
		p := s.peers[id].peer
		s.peers[id].again = false
		s.mu.Unlock()
		if s.vocabBehind(p) {
			if err := s.copyVocab(p); err != nil && s.ctx.Err() == nil {
				s.n.log.Warn("federation: copying a vocabulary failed", "peer", id, "err", err)
			}
		}
		hwm := p.State.HWM
		src := harvest.Source{ID: id, BaseURL: p.OAIBaseURL(), Prefix: harvest.PrefixOAIDC, Set: "source:" + id, Enabled: true}
		_, err := s.n.harvester.HarvestOnce(s.ctx, src, harvest.RunOptions{})
		if errors.Is(err, harvest.ErrRunning) {
			// Someone else harvests this peer right now: look again soon.
			select {
			case <-s.ctx.Done():
			case <-time.After(time.Second):
			}
		}
		s.mu.Lock()
		ps := s.peers[id]
		switch {
		case err == nil:
			ps.lastHarvest, ps.lastErr = time.Now().UTC(), ""
			if hwm > ps.harvestedHWM {
				ps.harvestedHWM = hwm
			}
			if ps.peer.State.HWM <= ps.harvestedHWM {
				ps.behindSince = time.Time{}
			}
		case s.ctx.Err() != nil:
		default:
			ps.lastErr = err.Error()
			s.n.log.Warn("federation: harvesting a peer failed", "peer", id, "err", err)
		}
		if s.ctx.Err() != nil || !(ps.again || errors.Is(err, harvest.ErrRunning)) {
			ps.running = false
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
	}
}

// copyVocab fetches the schemes the peer holds in a newer version.
func (s *peerSyncer) copyVocab(p federation.Peer) error {
	var list struct {
		Schemes []vocab.SchemeInfo `json:"schemes"`
	}
	if err := s.getJSON(p.BaseURL+"/api/vocab", &list); err != nil {
		return err
	}
	for _, info := range list.Schemes {
		mine := s.n.vocab.Scheme(info.ID)
		if mine != nil && (mine.Hash == info.Hash || !vocab.Newer(info.Loaded, info.Hash, mine.Loaded, mine.Hash)) {
			continue
		}
		nt, err := s.get(p.BaseURL + "/vocab/" + url.PathEscape(info.ID) + ".nt")
		if err != nil {
			return err
		}
		if _, err := s.n.vocabSvc.Adopt(s.ctx, nt, info.ID, info.Field, info.Loaded); err != nil {
			return fmt.Errorf("scheme %s from %s: %w", info.ID, p.ID, err)
		}
	}
	return nil
}

func (s *peerSyncer) get(u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(s.ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, vocab.MaxSchemeBytes+1))
}

func (s *peerSyncer) getJSON(u string, v any) error {
	b, err := s.get(u)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// Member is a node of the federation as /api/federation shows it.
type Member struct {
	ID         string `json:"id"`
	Self       bool   `json:"self,omitempty"`
	State      string `json:"state"`
	BaseURL    string `json:"base_url"`
	OAIBaseURL string `json:"oai_base_url"`
	GossipAddr string `json:"gossip_addr,omitempty"`
	// LastConfirmed is when the peer was last known alive.
	LastConfirmed *time.Time `json:"last_confirmed,omitempty"`
	// LastHarvest is when this node last finished harvesting the peer.
	LastHarvest *time.Time `json:"last_harvest"`
	LastError   string     `json:"last_error,omitempty"`
	// Records is how many records of its own the peer says it holds;
	// Held how many of them this node holds.
	Records int64 `json:"records"`
	Held    int64 `json:"held"`
	// LagRecords is Records - Held (not below 0); LagSeconds how long the
	// peer has had changes this node has not harvested.
	LagRecords int64   `json:"lag_records"`
	LagSeconds float64 `json:"lag_seconds"`
}

// FederationInfo is GET /api/federation.
type FederationInfo struct {
	Self    string   `json:"self"`
	Members []Member `json:"members"`
}

// FederationInfo returns the members of the federation and how far this
// node is behind each.
func (n *Node) FederationInfo(ctx context.Context) FederationInfo {
	out := FederationInfo{Self: n.cfg.NodeID, Members: []Member{}}
	own, _ := n.store.Count(ctx, store.Query{Origin: n.cfg.NodeID})
	self := Member{ID: n.cfg.NodeID, Self: true, State: "alive", BaseURL: n.cfg.BaseURL, OAIBaseURL: n.cfg.BaseURL + "/oai", Records: own, Held: own}
	if n.fed == nil {
		out.Members = append(out.Members, self)
		return out
	}
	self.GossipAddr = n.fed.f.Addr()
	out.Members = append(out.Members, self)
	n.fed.sy.mu.Lock()
	syncs := map[string]peerSync{}
	for id, ps := range n.fed.sy.peers {
		syncs[id] = *ps
	}
	n.fed.sy.mu.Unlock()
	for _, p := range n.fed.f.Peers() {
		m := Member{ID: p.ID, State: p.Status, BaseURL: p.BaseURL, OAIBaseURL: p.OAIBaseURL(), GossipAddr: p.Addr, Records: p.State.Records}
		if !p.LastConfirmed.IsZero() {
			t := p.LastConfirmed.UTC().Truncate(time.Second)
			m.LastConfirmed = &t
		}
		m.Held, _ = n.store.Count(ctx, store.Query{Origin: p.ID})
		m.LagRecords = max(m.Records-m.Held, 0)
		if ps, ok := syncs[p.ID]; ok {
			if !ps.lastHarvest.IsZero() {
				t := ps.lastHarvest.Truncate(time.Second)
				m.LastHarvest = &t
			}
			m.LastError = ps.lastErr
			if !ps.behindSince.IsZero() {
				m.LagSeconds = time.Since(ps.behindSince).Seconds()
			}
		}
		out.Members = append(out.Members, m)
	}
	sort.SliceStable(out.Members[1:], func(i, j int) bool { return out.Members[1+i].ID < out.Members[1+j].ID })
	return out
}

func (n *Node) federationAPI(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	writeJSON(w, http.StatusOK, n.FederationInfo(r.Context()))
}

// OriginStatus tells search how current an origin's records are: the
// state of the peer whose records they are and when it was last
// confirmed alive; ok is false for the node's own records and other
// sources.
func (n *Node) OriginStatus(origin string) (state string, lastConfirmed time.Time, ok bool) {
	if n.fed == nil || origin == n.cfg.NodeID {
		return "", time.Time{}, false
	}
	for _, p := range n.fed.f.Peers() {
		if p.ID == origin {
			return p.Status, p.LastConfirmed, true
		}
	}
	return "", time.Time{}, false
}

// shortVersion is the module version and commit, for the node metadata.
func shortVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		v := bi.Main.Version
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 8 {
				v += "+" + s.Value[:8]
			}
		}
		if len(v) > 40 {
			v = v[:40]
		}
		return v
	}
	return ""
}

// nodeFanout sends scope=live searches to live peers.
type nodeFanout struct{ n *Node }

func (f nodeFanout) LivePeers() []string {
	if f.n.fed == nil {
		return nil
	}
	var ids []string
	for _, p := range f.n.fed.f.LivePeers() {
		ids = append(ids, p.ID)
	}
	return ids
}

func (f nodeFanout) SearchPeer(ctx context.Context, peer string, v url.Values) (*search.Result, error) {
	if f.n.fed == nil {
		return nil, errors.New("no federation")
	}
	var base string
	for _, p := range f.n.fed.f.LivePeers() {
		if p.ID == peer {
			base = p.BaseURL
		}
	}
	if base == "" {
		return nil, fmt.Errorf("peer %s is not alive", peer)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/search?"+v.Encode(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := f.n.fed.sy.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("peer %s: %s", peer, resp.Status)
	}
	var res search.Result
	if err := json.NewDecoder(io.LimitReader(resp.Body, 32<<20)).Decode(&res); err != nil {
		return nil, fmt.Errorf("peer %s: %w", peer, err)
	}
	return &res, nil
}
