package search

import (
	"context"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// Fanout sends a search to live peers (issue 8: scope=live). The node
// implements it with the federation's member list and HTTP.
type Fanout interface {
	// LivePeers returns the ids of the peers alive now.
	LivePeers() []string
	// SearchPeer runs a search on a peer's node (GET /api/search with the
	// parameters v) and returns its answer.
	SearchPeer(ctx context.Context, peer string, v url.Values) (*Result, error)
}

// OriginStatus says how current an origin's records are: the state of
// the peer whose records they are (alive, suspect, dead, left) and when it
// was last confirmed alive; ok is false when the origin is no peer.
type OriginStatus func(origin string) (state string, lastConfirmed time.Time, ok bool)

// PeerAnswer reports how a peer answered a live search.
type PeerAnswer struct {
	ID     string  `json:"id"`
	OK     bool    `json:"ok"`
	Total  int64   `json:"total"`
	TookMS float64 `json:"took_ms"`
	Error  string  `json:"error,omitempty"`
}

// annotate marks the hits of peers that are not alive with the peer's
// state and the time it was last confirmed (their records stay
// searchable).
func (s *Service) annotate(res *Result) {
	if s.opt.OriginStatus == nil {
		return
	}
	for i := range res.Hits {
		h := &res.Hits[i]
		if state, when, ok := s.opt.OriginStatus(h.Origin); ok && state != "alive" {
			h.OriginState = state
			if !when.IsZero() {
				t := when.UTC().Truncate(time.Second)
				h.OriginConfirmed = &t
			}
		}
	}
}

// SearchLive answers a scope=live search: each live peer answers for its
// own records (the request plus filter=origin:<peer>), in parallel within
// the deadline, and the local index for every other origin; the answers
// are merged. When a peer did not answer in time, its records come from
// the local index and the result is marked Partial. A live search has a
// single page (no cursor).
func (s *Service) SearchLive(ctx context.Context, req Request, params url.Values) (*Result, error) {
	if s.opt.Fanout == nil {
		return s.Search(ctx, req)
	}
	peers := s.opt.Fanout.LivePeers()
	timeout := s.opt.FanoutTimeout
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	type answer struct {
		res *Result
		pa  PeerAnswer
	}
	answers := make([]answer, len(peers))
	var wg sync.WaitGroup
	for i, p := range peers {
		v := url.Values{}
		for k, vs := range params {
			if k != "scope" && k != "cursor" {
				v[k] = vs
			}
		}
		v.Add("filter", "origin:"+p)
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			res, err := s.opt.Fanout.SearchPeer(pctx, p, v)
			a := answer{res: res, pa: PeerAnswer{ID: p, TookMS: float64(time.Since(start).Microseconds()) / 1000}}
			if err != nil {
				a.res, a.pa.Error = nil, err.Error()
			} else {
				a.pa.OK, a.pa.Total = true, res.Total
			}
			answers[i] = a
		}()
	}
	// The local part leaves out the records of the peers that answer.
	wg.Wait()
	local := req
	local.Cursor = ""
	var excl []string
	for _, a := range answers {
		if a.pa.OK {
			excl = append(excl, "NOT origin:"+quoteTerm(a.pa.ID))
		}
	}
	if len(excl) > 0 {
		q := strings.TrimSpace(req.Query)
		if q != "" {
			q = "(" + q + ") AND "
		}
		local.Query = q + strings.Join(excl, " AND ")
	}
	res, err := s.Search(ctx, local)
	if err != nil {
		return nil, err
	}
	res.Next = ""
	res.Query = strings.TrimSpace(req.Query)
	res.Scope = "live"
	for _, a := range answers {
		res.Peers = append(res.Peers, a.pa)
		if !a.pa.OK {
			res.Partial = true
			continue
		}
		res.Total += a.res.Total
		res.Hits = append(res.Hits, a.res.Hits...)
		for name, vals := range a.res.Facets {
			res.Facets[name] = mergeFacet(res.Facets[name], vals)
		}
	}
	sortHits(res.Hits, res.Sort)
	limit := req.Limit
	if limit == 0 {
		limit = DefaultLimit
	}
	if len(res.Hits) > limit {
		res.Hits = res.Hits[:limit]
	}
	s.annotate(res)
	return res, nil
}

// quoteTerm quotes a value for the query language when it needs it.
func quoteTerm(v string) string {
	if strings.ContainsAny(v, " \t\"():") {
		return `"` + strings.ReplaceAll(v, `"`, ``) + `"`
	}
	return v
}

func mergeFacet(a, b []FacetValue) []FacetValue {
	counts := map[string]int64{}
	var order []string
	for _, l := range [][]FacetValue{a, b} {
		for _, v := range l {
			if _, ok := counts[v.Value]; !ok {
				order = append(order, v.Value)
			}
			counts[v.Value] += v.Count
		}
	}
	out := make([]FacetValue, 0, len(order))
	for _, v := range order {
		out = append(out, FacetValue{Value: v, Count: counts[v]})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Count > out[j].Count })
	return out
}

// sortHits orders merged hits as the sort asks: relevance by score (scores
// of different nodes are comparable only roughly: BM25 statistics
// differ), date by issue date, updated by the change time.
func sortHits(hits []Hit, by string) {
	sort.SliceStable(hits, func(i, j int) bool {
		a, b := hits[i], hits[j]
		switch by {
		case SortDate:
			return a.Issued > b.Issued
		case SortUpdated:
			return a.Updated.After(b.Updated)
		}
		return a.Score > b.Score
	})
}
