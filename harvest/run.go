package harvest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/colligo/colligo/oai/oaixml"
	"github.com/colligo/colligo/store"
)

// RunOptions are the options of one harvest.
type RunOptions struct {
	// Progress, if not nil, is called about once a second and at the end
	// with the counts so far. It runs in the harvest's goroutine.
	Progress func(Result)
	// OnCommit, if not nil, is called after each page's records and the
	// checkpoint that follows them are durably stored, with that
	// checkpoint. It runs in the harvest's goroutine and must return
	// quickly. Crash tests use it to kill a harvest at a known position.
	OnCommit func(Checkpoint)
}

// Counts count what a harvest did.
type Counts struct {
	Pages int64 `json:"pages"`
	// Records is the number of records received (deleted ones included).
	Records   int64 `json:"records"`
	Added     int64 `json:"added"`
	Updated   int64 `json:"updated"`
	Unchanged int64 `json:"unchanged"`
	Deleted   int64 `json:"deleted"`
	Rejected  int64 `json:"rejected"`
	// Sanitized counts records from which characters XML forbids were
	// dropped.
	Sanitized int64 `json:"sanitized"`
	// Retries counts requests that were tried again.
	Retries int64 `json:"retries"`
	// Bytes is the size of the responses read (decompressed).
	Bytes int64 `json:"bytes"`
}

func (c *Counts) add(o Counts) {
	c.Pages += o.Pages
	c.Records += o.Records
	c.Added += o.Added
	c.Updated += o.Updated
	c.Unchanged += o.Unchanged
	c.Deleted += o.Deleted
	c.Rejected += o.Rejected
	c.Sanitized += o.Sanitized
	c.Retries += o.Retries
	c.Bytes += o.Bytes
}

// Result is what one harvest did.
type Result struct {
	Source  string `json:"source"`
	BaseURL string `json:"base_url"`
	Prefix  string `json:"prefix"`
	Set     string `json:"set,omitempty"`
	// Mode is "full" (no from), "incremental" (from the last harvest) or
	// "resumed" (a list interrupted earlier, continued with its token).
	Mode string `json:"mode"`
	// From is the from argument of the (first) list, if any.
	From  string    `json:"from,omitempty"`
	Start time.Time `json:"start"`
	// Seconds is the duration so far, or of the whole harvest.
	Seconds float64 `json:"duration_seconds"`
	// Rate is records received per second.
	Rate float64 `json:"records_per_second"`
	Counts
	// CompleteListSize is what the source announced (-1: nothing).
	CompleteListSize int64 `json:"complete_list_size"`
	// Complete is set when every list ran to its end.
	Complete bool `json:"complete"`
	// Errors lists the first 100 rejected records.
	Errors []RecordError `json:"errors,omitempty"`
	// Warnings are faults of the source that were worked around.
	Warnings []string `json:"warnings,omitempty"`
}

// maxRestarts bounds how often one harvest starts a list again after the
// source rejected its resumptionToken.
const maxRestarts = 3

// unitSize is the number of records a worker takes at once.
const unitSize = 64

// run is one harvest of one source.
type run struct {
	h     *Harvester
	src   Source
	opts  RunOptions
	info  *sourceInfo
	start time.Time
	// harvestDate is the provenance harvestDate of this run's records.
	harvestDate time.Time

	mu         sync.Mutex
	res        Result
	warned     map[string]bool
	lastReport time.Time
}

// HarvestOnce harvests src once, in the caller's goroutine: Identify
// (cached for Config.IdentifyTTL), then the list from where the last
// harvest of this source left it (see Checkpoint), to its end. It returns
// what it did, and an error when the harvest could not complete; records
// stored before the error stay stored and the next harvest continues from
// the last stored page. The error wraps ErrRunning when a harvest of the
// source is running, and an *Error naming the URL that failed otherwise.
// When ctx ends, HarvestOnce stops after the commit in progress and
// returns ctx's error.
func (h *Harvester) HarvestOnce(ctx context.Context, src Source, opts RunOptions) (*Result, error) {
	src = src.WithDefaults()
	if err := src.Validate(); err != nil {
		return nil, fmt.Errorf("harvest %s: %w", src.ID, err)
	}
	ctx, release, err := h.acquire(ctx, src.ID)
	if err != nil {
		return nil, fmt.Errorf("harvest %s: %w", src.ID, err)
	}
	defer release()
	now := h.clock()
	r := &run{
		h: h, src: src, opts: opts, start: now,
		harvestDate: now.UTC().Truncate(time.Second),
		warned:      map[string]bool{},
		lastReport:  time.Now(),
		res: Result{Source: src.ID, BaseURL: src.BaseURL, Prefix: src.Prefix, Set: src.Set,
			Start: now.UTC().Truncate(time.Second), CompleteListSize: -1},
	}
	h.started(src, r)
	err = r.harvest(ctx)
	res := r.snapshot()
	res.Complete = err == nil
	if opts.Progress != nil {
		opts.Progress(res)
	}
	h.finished(src, &res, err)
	if err != nil {
		return &res, fmt.Errorf("harvest %s: %w", src.ID, err)
	}
	return &res, nil
}

// acquire takes the source's one-harvest-at-a-time lock and returns a ctx
// that Close and RemoveSource cancel.
func (h *Harvester) acquire(ctx context.Context, id string) (context.Context, func(), error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, nil, ErrClosed
	}
	if _, busy := h.running[id]; busy {
		return nil, nil, ErrRunning
	}
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(h.ctx, cancel)
	j := &job{cancel: cancel, done: make(chan struct{})}
	h.running[id] = j
	h.wg.Add(1)
	return ctx, func() {
		stop()
		cancel()
		h.mu.Lock()
		delete(h.running, id)
		h.mu.Unlock()
		close(j.done)
		h.wg.Done()
	}, nil
}

func (r *run) harvest(ctx context.Context) error {
	info, err := r.h.sourceInfo(ctx, r)
	if err != nil {
		return err
	}
	r.info = info
	if err := info.offers(r.src.BaseURL, r.src.Prefix); err != nil {
		return err
	}
	if info.deletedRecord == "no" {
		r.warnOnce("deletedRecord", "the source does not report deletions (deletedRecord no): records deleted there stay here")
	}
	primary := &list{prefix: PrefixOAIDC, format: info.format(PrefixOAIDC)}
	if r.src.Prefix == PrefixOAIDC {
		return r.runList(ctx, primary)
	}
	// Records are mapped from oai_dc; the source's own format is kept
	// beside it (see the package documentation).
	primary.keep = r.src.Prefix
	if err := r.runList(ctx, primary); err != nil {
		return err
	}
	second := &list{prefix: r.src.Prefix, format: info.format(r.src.Prefix), attach: true, nextFrom: primary.nextFrom}
	return r.runList(ctx, second)
}

// list is one OAI-PMH list of a harvest: a ListRecords request and its
// resumptions, for one metadataPrefix.
type list struct {
	prefix string
	format oaixml.MetadataFormat
	// attach: the payload is added to the stored record, whose model
	// comes from its oai_dc version.
	attach bool
	// keep: when storing an oai_dc version, keep the stored payload of
	// this prefix.
	keep string
	// nextFrom: for an attach list, the next from once it completes (the
	// primary list's), so both lists cover the same span.
	nextFrom string
}

func (l *list) request(src Source, from string) request {
	args := url.Values{"metadataPrefix": {l.prefix}}
	if src.Set != "" {
		args.Set("set", src.Set)
	}
	if from != "" {
		args.Set("from", from)
	}
	return request{verb: "ListRecords", args: args}
}

// pageWork is one page on its way through the pipeline.
type pageWork struct {
	p     *page
	units []*unit
	// first: the first page of a (new or restarted) list with from listFrom.
	first    bool
	listFrom string
	day      bool // the source needs day granularity
	arrived  time.Time
	next     string // the page's resumptionToken
	final    bool
	// err ends the list after this page (which may carry records, p) or,
	// with p nil, before it.
	err error
	// abandon: the failure is the token's; do not resume with it.
	abandon bool
}

// unit is a slice of a page's records for one worker.
type unit struct {
	l      *list
	url    string
	chunks []*oaixml.Chunk
	items  []item
	done   chan struct{}
}

// item is a prepared record, or why there is none.
type item struct {
	prep      *store.Prepared
	err       *RecordError
	sanitized bool
	datestamp string
	ds        time.Time
}

// runList runs one list from its checkpoint to its end. Three stages
// overlap: the fetcher requests pages, asking for page N+1 as soon as page
// N's token is read; workers parse and prepare page N's records; this
// goroutine commits pages in order, each with the checkpoint that follows
// it, one commit syncing while the next is queued.
func (r *run) runList(parent context.Context, l *list) error {
	h := r.h
	name := checkpointName(r.src.ID, l.prefix)
	raw, err := h.st.GetState(name)
	if err != nil {
		return err
	}
	cp, err := decodeCheckpoint(raw)
	if err != nil {
		r.warn(fmt.Sprintf("unreadable checkpoint ignored: %v", err))
	}
	if !cp.matches(r.src, l.prefix) {
		cp = Checkpoint{BaseURL: r.src.BaseURL, Prefix: l.prefix, Set: r.src.Set}
	}
	day := r.info.day || cp.DayGranularity
	var start listStart
	mode := "full"
	switch {
	case cp.Token != "":
		start = listStart{token: cp.Token, from: cp.ListFrom}
		mode = "resumed"
	case cp.NextFrom != "":
		start = listStart{from: formatFrom(cp.NextFrom, day)}
		mode = "incremental"
	}
	r.mu.Lock()
	if r.res.Mode == "" {
		r.res.Mode, r.res.From = mode, start.from
	}
	r.mu.Unlock()

	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	workers := h.cfg.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	pages := make(chan *pageWork, 2)
	work := make(chan *unit, 64)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(pages)
		defer close(work)
		r.fetchList(ctx, l, start, day, pages, work)
	}()
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for u := range work {
				for i, c := range u.chunks {
					u.items[i] = r.prepare(ctx, u.l, u.url, c)
					u.chunks[i] = nil
				}
				close(u.done)
			}
		}()
	}
	err = r.commitList(ctx, l, &cp, name, pages)
	cancel()
	for range pages {
	}
	wg.Wait()
	return err
}

// listStart is where a list begins: a checkpointed token, or a from.
type listStart struct {
	token string
	from  string
}

// fetchList requests the pages of a list and hands them on, in order. It
// owns the list's protocol: restarting when the source rejects a token,
// falling back to day granularity, detecting token loops and runs of
// empty pages.
func (r *run) fetchList(ctx context.Context, l *list, start listStart, day bool, pages chan<- *pageWork, work chan<- *unit) {
	send := func(pw *pageWork) bool {
		select {
		case pages <- pw:
			return true
		case <-ctx.Done():
			return false
		}
	}
	listFrom := start.from
	if day && strings.Contains(listFrom, "T") {
		listFrom = formatFrom(listFrom, true)
	}
	req := l.request(r.src, listFrom)
	first, fromCheckpoint := true, false
	if start.token != "" {
		req = request{verb: "ListRecords", token: start.token}
		first, fromCheckpoint = false, true
	}
	seen := map[string]bool{}
	if start.token != "" {
		seen[start.token] = true
	}
	empty, restarts := 0, 0
	dayFallback := false
	restart := func(why string) {
		r.warn(fmt.Sprintf("%s: started the list again from %s", why, fromText(listFrom)))
		req, first, fromCheckpoint = l.request(r.src, listFrom), true, false
		restarts++
		clear(seen)
		empty = 0
	}
	for {
		p, err := r.h.fetch(ctx, r, req)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if fromCheckpoint && restarts < maxRestarts {
				// A token from an earlier run may have expired; sources
				// answer that with anything from badResumptionToken to
				// HTTP 404 or 500.
				restart(fmt.Sprintf("the checkpointed resumptionToken failed (%v)", err))
				continue
			}
			send(&pageWork{err: err})
			return
		}
		r.addBytes(p.bytes)
		arrived := r.h.clock()
		if e := p.oaiErr; e != nil {
			switch {
			case e.Code == "noRecordsMatch":
				// Also after a token: Humanities CORE answers the last
				// token so instead of an empty last page.
				send(&pageWork{p: p, first: first, listFrom: listFrom, day: dayFallback, final: true, arrived: arrived})
				return
			case e.Code == "noSetHierarchy" && req.token == "" && r.src.Set != "":
				// A repository without sets has no records in the one
				// asked for: an empty list, and a warning (a federation
				// peer answers so until it holds records of its own; a
				// source given a set it does not have shows here).
				r.warn(fmt.Sprintf("the source has no sets (%v): nothing in set %q", e, r.src.Set))
				send(&pageWork{p: p, first: first, listFrom: listFrom, day: dayFallback, final: true, arrived: arrived})
				return
			case e.Code == "badResumptionToken" && req.token != "" && restarts < maxRestarts:
				restart(fmt.Sprintf("the source rejected resumptionToken %q (%v)", req.token, e))
				continue
			case e.Code == "badArgument" && req.token == "" && strings.Contains(req.args.Get("from"), "T") && !dayFallback:
				// Identify promised seconds, the source takes days.
				dayFallback = true
				listFrom = formatFrom(listFrom, true)
				r.warn(fmt.Sprintf("the source answered a from with a time with %v; used day granularity", e))
				req = l.request(r.src, listFrom)
				continue
			}
			send(&pageWork{err: &Error{URL: p.url, Err: e}})
			return
		}
		fromCheckpoint = false
		pw := &pageWork{p: p, first: first, listFrom: listFrom, day: dayFallback, arrived: arrived}
		if p.token != nil {
			pw.next = p.token.Value
			r.listSize(p.token.CompleteListSize)
		}
		switch {
		case pw.next == "":
			// No token, or an empty one: the list is complete. Alma sends
			// no element at all on the last page.
			pw.final = true
		case seen[pw.next]:
			pw.err = &Error{URL: p.url, Err: fmt.Errorf("%w: the source sent resumptionToken %q a second time", ErrTokenLoop, pw.next)}
			pw.abandon = true
		case len(p.records) == 0:
			if empty++; empty > r.h.cfg.MaxEmptyPages {
				pw.err = &Error{URL: p.url, Err: fmt.Errorf("%w: %d pages in a row without records", ErrEmptyPages, empty)}
			} else {
				r.warnOnce("empty", "the source sent pages without records but with a resumptionToken (followed)")
			}
		default:
			empty = 0
		}
		seen[pw.next] = true
		for i := 0; i < len(p.records); i += unitSize {
			chunks := p.records[i:min(i+unitSize, len(p.records))]
			u := &unit{l: l, url: p.url, chunks: chunks, items: make([]item, len(chunks)), done: make(chan struct{})}
			select {
			case work <- u:
			case <-ctx.Done():
				return
			}
			pw.units = append(pw.units, u)
		}
		p.records = nil
		if !send(pw) || pw.final || pw.err != nil {
			return
		}
		first = false
		req = request{verb: "ListRecords", token: pw.next}
	}
}

func fromText(from string) string {
	if from == "" {
		return "the beginning (full harvest)"
	}
	return "from=" + from
}

// commitList commits pages in order, each with the checkpoint after it.
func (r *run) commitList(ctx context.Context, l *list, cp *Checkpoint, name string, pages <-chan *pageWork) error {
	type pending struct {
		pc *store.PendingCommit
		cp Checkpoint
	}
	var queue []pending
	// settle waits for queued commits until keep remain.
	settle := func(keep int) error {
		for len(queue) > keep {
			q := queue[0]
			queue = queue[1:]
			res, err := q.pc.Wait()
			if err != nil {
				return fmt.Errorf("store: %w", err)
			}
			r.counted(res)
			if r.opts.OnCommit != nil {
				r.opts.OnCommit(q.cp)
			}
		}
		return nil
	}
	fail := func(err error) error {
		if serr := settle(0); serr != nil {
			return errors.Join(err, serr)
		}
		return err
	}
	maxT, _ := parseDatestamp(cp.MaxDatestamp)
	done := false
	// next returns the next page. A commit in flight overlaps with the
	// preparation of the next page; when none is ready (a slow source),
	// it is finished first, so that the status and the checkpoint do not
	// lag a page behind while the source makes us wait.
	next := func() (*pageWork, bool, error) {
		select {
		case pw, ok := <-pages:
			return pw, ok, nil
		default:
		}
		if err := settle(0); err != nil {
			return nil, false, err
		}
		pw, ok := <-pages
		return pw, ok, nil
	}
	for {
		pw, ok, err := next()
		if err != nil {
			return fail(err)
		}
		if !ok {
			break
		}
		if err := ctx.Err(); err != nil {
			// Stop after the commit in progress, not one page later:
			// CommitAsync may still take a page when ctx has ended.
			return fail(err)
		}
		if pw.p == nil {
			return fail(pw.err)
		}
		if pw.first {
			cp.startList(pw.listFrom, pw.p.responseDate, pw.arrived)
			maxT = time.Time{}
		}
		if pw.day {
			cp.DayGranularity = true
		}
		var batch []*store.Prepared
		var n, rejected, sanitized int64
		var errs []RecordError
		for _, u := range pw.units {
			select {
			case <-u.done:
			case <-ctx.Done():
				return fail(ctx.Err())
			}
			for i := range u.items {
				it := &u.items[i]
				n++
				if it.sanitized {
					sanitized++
				}
				if it.ds.After(maxT) {
					maxT = it.ds
					cp.MaxDatestamp = it.datestamp
				}
				if it.err != nil {
					rejected++
					errs = append(errs, *it.err)
					continue
				}
				batch = append(batch, it.prep)
			}
		}
		cp.Pages++
		cp.Records += n
		r.pageDone(n, rejected, sanitized, errs)
		switch {
		case pw.abandon:
			cp.abandonList()
		case pw.final:
			cp.finishList(r.h.clock())
			if l.attach {
				cp.NextFrom = l.nextFrom
			}
			l.nextFrom = cp.NextFrom
			done = true
		default:
			cp.Token = pw.next
		}
		pc, err := r.h.st.CommitAsync(ctx, batch, store.CommitOptions{State: map[string][]byte{name: cp.encode()}})
		if err != nil {
			return fail(fmt.Errorf("store: %w", err))
		}
		queue = append(queue, pending{pc, *cp})
		if err := settle(1); err != nil {
			return fail(err)
		}
		r.progress()
		if pw.err != nil {
			return fail(pw.err)
		}
	}
	if err := settle(0); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if !done {
		return errors.New("the list ended without its last page")
	}
	return nil
}

// Bookkeeping, shared by the fetcher and the committer.

func (r *run) warn(msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.res.Warnings) < 50 {
		r.res.Warnings = append(r.res.Warnings, msg)
	}
	// Reported in the result and the source's status; a log line each
	// only when debugging.
	r.h.log.Debug(msg, "source", r.src.ID, "endpoint", r.src.BaseURL)
}

func (r *run) warnOnce(key, msg string) {
	r.mu.Lock()
	seen := r.warned[key]
	r.warned[key] = true
	r.mu.Unlock()
	if !seen {
		r.warn(msg)
	}
}

func (r *run) retried(u string, err error, wait time.Duration) {
	r.mu.Lock()
	r.res.Retries++
	n := r.res.Retries
	r.mu.Unlock()
	if n <= 10 {
		r.warn(fmt.Sprintf("retrying in %s: %s: %v", wait.Round(time.Millisecond), u, err))
	}
}

func (r *run) addBytes(n int64) {
	r.mu.Lock()
	r.res.Bytes += n
	r.mu.Unlock()
}

func (r *run) listSize(n int64) {
	if n < 0 {
		return
	}
	r.mu.Lock()
	if n > r.res.CompleteListSize {
		r.res.CompleteListSize = n
	}
	r.mu.Unlock()
}

func (r *run) pageDone(n, rejected, sanitized int64, errs []RecordError) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.res.Pages++
	r.res.Records += n
	r.res.Rejected += rejected
	r.res.Sanitized += sanitized
	for _, e := range errs {
		if len(r.res.Errors) < 100 {
			r.res.Errors = append(r.res.Errors, e)
		}
	}
	if len(errs) > 0 {
		r.h.log.Debug("records rejected", "source", r.src.ID, "count", len(errs), "first", errs[0].Error)
	}
}

func (r *run) counted(res []store.PutResult) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range res {
		switch p.Outcome {
		case store.Added:
			r.res.Added++
		case store.Updated:
			r.res.Updated++
		case store.Unchanged:
			r.res.Unchanged++
		case store.Deleted:
			r.res.Deleted++
		}
	}
}

func (r *run) snapshot() Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	res := r.res
	res.Errors = append([]RecordError(nil), r.res.Errors...)
	res.Warnings = append([]string(nil), r.res.Warnings...)
	el := r.h.clock().Sub(r.start)
	res.Seconds = el.Seconds()
	if el > 0 {
		res.Rate = float64(res.Records) / el.Seconds()
	}
	return res
}

func (r *run) progress() {
	if r.opts.Progress == nil || time.Since(r.lastReport) < time.Second {
		return
	}
	r.lastReport = time.Now()
	res := r.snapshot()
	res.Errors = nil
	r.opts.Progress(res)
}
