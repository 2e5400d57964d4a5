package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/colligo/colligo/node"
	"github.com/colligo/colligo/search"
)

// searchOpts are the flags of search and reindex.
type searchOpts struct {
	filters   multiFlag
	limit     int
	json      bool
	sort      string
	cursor    string
	allCopies bool
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func searchFlags(fs *flag.FlagSet, o *opts) {
	fs.Var(&o.search.filters, "filter", "facet:value to narrow to (repeatable: AND across facets, OR within one), e.g. type:Dataset")
	fs.IntVar(&o.search.limit, "limit", 10, "number of hits")
	fs.BoolVar(&o.search.json, "json", false, "print the JSON answer")
	fs.StringVar(&o.search.sort, "sort", "", "relevance, date or updated (default: relevance; updated for an empty query)")
	fs.StringVar(&o.search.cursor, "cursor", "", "continue from the cursor an earlier search printed")
	fs.BoolVar(&o.search.allCopies, "all-copies", false, "list every origin's copy of a work as its own hit")
}

// searchCmd searches the index: through the running node's API, or on a
// stopped data directory by opening the index (after catching it up with
// the store).
func searchCmd(ctx context.Context, e *env) error {
	q := strings.Join(e.args, " ")
	o := e.opts.search
	v := url.Values{"q": {q}, "limit": {strconv.Itoa(o.limit)}}
	for _, f := range o.filters {
		v.Add("filter", f)
	}
	if o.sort != "" {
		v.Set("sort", o.sort)
	}
	if o.cursor != "" {
		v.Set("cursor", o.cursor)
	}
	if o.allCopies {
		v.Set("all_copies", "true")
	}
	l, err := node.OpenLocal(e.cfg)
	if err != nil {
		return err
	}
	defer l.Close()
	var res *search.Result
	if l.Store != nil {
		req, err := search.ParseRequest(v)
		if err != nil {
			return usageError("%v", err)
		}
		svc, err := node.OpenSearch(e.cfg, l.Store, e.log)
		if err != nil {
			return err
		}
		defer svc.Close()
		pp := newProgress(e.stderr, false)
		err = svc.CatchUp(ctx, func(p search.Progress) {
			pp.print(fmt.Sprintf("search index: catching up, change %d of %d (%.0f records/s)", p.Seq, p.Last, p.Rate))
		})
		pp.done()
		if err != nil {
			return err
		}
		if res, err = svc.Search(ctx, req); err != nil {
			var be *search.BadRequestError
			if errors.As(err, &be) {
				return usageError("%v", err)
			}
			return err
		}
	} else {
		res = new(search.Result)
		if err := l.Client.JSON(ctx, http.MethodGet, "/api/search?"+v.Encode(), nil, res); err != nil {
			return err
		}
	}
	if o.json {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(res)
	}
	printSearchResult(e, res)
	return nil
}

func printSearchResult(e *env, res *search.Result) {
	fmt.Fprintf(e.stdout, "%d records match %s (%.1f ms)\n", res.Total, res.Query, res.TookMS)
	for i, h := range res.Hits {
		fmt.Fprintf(e.stdout, "\n%2d. %s\n    %s", i+1, h.Title, h.ID)
		if h.Year != "" {
			fmt.Fprintf(e.stdout, " · %s", h.Year)
		}
		if h.Type != "" {
			fmt.Fprintf(e.stdout, " · %s", h.Type)
		}
		fmt.Fprintf(e.stdout, " · %s\n", h.Origin)
		if len(h.Creators) > 0 {
			fmt.Fprintf(e.stdout, "    %s\n", strings.Join(h.Creators, "; "))
		}
		for _, c := range h.AlsoHeldBy {
			fmt.Fprintf(e.stdout, "    also held by %s: %s\n", c.Origin, c.ID)
		}
		fmt.Fprintf(e.stdout, "    %s\n", h.URL)
	}
	if res.Next != "" {
		fmt.Fprintf(e.stdout, "\nmore: --cursor %s\n", res.Next)
	}
}

// reindexCmd rebuilds the search index, through the running node (which
// keeps serving the old index meanwhile) or on a stopped data directory.
func reindexCmd(ctx context.Context, e *env) error {
	if len(e.args) > 0 {
		return usageError("reindex takes no arguments")
	}
	l, err := node.OpenLocal(e.cfg)
	if err != nil {
		return err
	}
	defer l.Close()
	pp := newProgress(e.stderr, false)
	show := func(p search.Progress) {
		pct := 100.0
		if p.Last > 0 {
			pct = 100 * float64(p.Seq) / float64(p.Last)
		}
		pp.print(fmt.Sprintf("reindex: %3.0f%% change %d of %d, %d records (%.0f/s)", pct, p.Seq, p.Last, p.Records, p.Rate))
	}
	if l.Store != nil {
		svc, err := node.OpenSearch(e.cfg, l.Store, e.log)
		if err != nil {
			return err
		}
		defer svc.Close()
		err = svc.Reindex(ctx, show)
		pp.done()
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "search index rebuilt up to change %d\n", svc.Checkpoint())
		return nil
	}
	var jobErr error
	var checkpoint uint64
	err = l.Client.Stream(ctx, http.MethodPost, "/api/admin/reindex", nil, 0, func(b []byte) error {
		var msg struct {
			Progress   *search.Progress `json:"progress"`
			Done       bool             `json:"done"`
			Checkpoint uint64           `json:"checkpoint"`
			Error      string           `json:"error"`
		}
		if err := json.Unmarshal(b, &msg); err != nil {
			return fmt.Errorf("node sent an unreadable progress line: %w", err)
		}
		if msg.Progress != nil {
			show(*msg.Progress)
		}
		if msg.Error != "" {
			jobErr = errors.New(msg.Error)
		}
		if msg.Done {
			checkpoint = msg.Checkpoint
		}
		return nil
	})
	pp.done()
	if err != nil {
		return err
	}
	if jobErr != nil {
		return jobErr
	}
	fmt.Fprintf(e.stdout, "search index rebuilt up to change %d; the node serves it now\n", checkpoint)
	return nil
}
