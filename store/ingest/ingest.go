// Package ingest imports files of records into a store: OAI-PMH XML
// (ListRecords or GetRecord responses, or any file of <record>s) with
// oai_dc metadata, and JSON Lines of native records, optionally gzipped.
//
// Import streams: a reader goroutine cuts the input into records, workers
// parse, map and prepare them in parallel, and the caller's goroutine
// commits them in order, in synced batches. Memory is bounded by a few
// batches whatever the file size. A bad record is reported with its file
// and line and skipped; every record is written whole or not at all.
package ingest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/colligo/colligo/oai/crosswalk"
	"github.com/colligo/colligo/oai/oaixml"
	"github.com/colligo/colligo/store"
)

// Format is an input format.
type Format string

// Input formats.
const (
	FormatAuto  Format = ""
	FormatOAI   Format = "oai"
	FormatJSONL Format = "jsonl"
)

// Options configure an import.
type Options struct {
	// Origin is the origin given to imported records; "" leaves it to the
	// record (JSON Lines) or empty (this node's own records).
	Origin string
	// Workers parse records in parallel. Default GOMAXPROCS.
	Workers int
	// BatchSize is the number of records per synced commit. Default 1000.
	BatchSize int
	// Progress, if not nil, is called about once a second and at the end.
	Progress func(Progress)
	// OnCommit, if not nil, is called after each batch is durably stored
	// with the number of records committed so far (a test seam for crash
	// tests, and how callers acknowledge).
	OnCommit func(committed int64)
	// MaxRecordSize bounds one record. Default 16 MiB.
	MaxRecordSize int
	// Logger receives warnings (sanitised records). Nil discards.
	Logger *slog.Logger
}

// Progress reports how far an import has come.
type Progress struct {
	File       string  `json:"file"`
	Bytes      int64   `json:"bytes"`
	TotalBytes int64   `json:"total_bytes"`
	Records    int64   `json:"records"`
	Rate       float64 `json:"records_per_second"`
	Summary
}

// RecordError is one rejected record.
type RecordError struct {
	File       string `json:"file"`
	Line       int    `json:"line"`
	Identifier string `json:"identifier,omitempty"`
	Error      string `json:"error"`
}

// Summary counts what an import did.
type Summary struct {
	Added     int64 `json:"added"`
	Updated   int64 `json:"updated"`
	Unchanged int64 `json:"unchanged"`
	Deleted   int64 `json:"deleted"`
	Rejected  int64 `json:"rejected"`
	// Errors lists the first 100 rejected records.
	Errors []RecordError `json:"errors,omitempty"`
	// Sanitized counts records from which forbidden characters were dropped.
	Sanitized int64         `json:"sanitized"`
	Elapsed   time.Duration `json:"elapsed_ns"`
}

// Stored is the number of records the import wrote or found unchanged.
func (s *Summary) Stored() int64 { return s.Added + s.Updated + s.Unchanged + s.Deleted }

func (s *Summary) reject(e RecordError) {
	s.Rejected++
	if len(s.Errors) < 100 {
		s.Errors = append(s.Errors, e)
	}
}

func (s *Summary) add(o Summary) {
	s.Added += o.Added
	s.Updated += o.Updated
	s.Unchanged += o.Unchanged
	s.Deleted += o.Deleted
	s.Sanitized += o.Sanitized
	for _, e := range o.Errors {
		s.reject(e)
	}
	s.Rejected += o.Rejected - int64(len(o.Errors))
	s.Elapsed += o.Elapsed
}

// FileError is a file that could not be read, or whose structure broke
// part-way (records before the fault are stored).
type FileError struct {
	File string
	Line int
	Err  error
}

func (e *FileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

func (e *FileError) Unwrap() error { return e.Err }

// Files imports files in order. It goes on after a file that cannot be
// read and returns the summary of all files and the first file error.
func Files(ctx context.Context, st *store.Store, paths []string, opts Options) (Summary, error) {
	var total Summary
	var firstErr error
	for _, p := range paths {
		s, err := File(ctx, st, p, opts)
		total.add(s)
		if err != nil {
			if ctx.Err() != nil {
				return total, err
			}
			if firstErr == nil {
				firstErr = err
			}
		}
	}
	return total, firstErr
}

// File imports one file; the format is detected from the name and content.
func File(ctx context.Context, st *store.Store, path string, opts Options) (Summary, error) {
	f, err := os.Open(path)
	if err != nil {
		return Summary{}, &FileError{File: path, Err: err}
	}
	defer f.Close()
	var size int64
	if fi, err := f.Stat(); err == nil {
		size = fi.Size()
	}
	return Reader(ctx, st, f, path, size, FormatAuto, opts)
}

// Reader imports from r; name is used in messages and format detection,
// size (or 0) in progress reports.
func Reader(ctx context.Context, st *store.Store, r io.Reader, name string, size int64, format Format, opts Options) (Summary, error) {
	start := time.Now()
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 1000
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	cr := &countingReader{r: r}
	br := bufio.NewReaderSize(cr, 64<<10)
	if head, _ := br.Peek(2); len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return Summary{}, &FileError{File: name, Err: err}
		}
		br = bufio.NewReaderSize(gz, 64<<10)
		name = strings.TrimSuffix(name, ".gz")
	}
	if format == FormatAuto {
		format = detect(name, br)
		if format == FormatAuto {
			return Summary{}, &FileError{File: name, Err: errors.New("neither OAI-PMH XML nor JSON Lines")}
		}
	}
	im := &importer{st: st, opts: opts, name: name, size: size, counted: cr, start: start}
	var err error
	switch format {
	case FormatOAI:
		err = im.run(ctx, im.readOAI(br), im.prepareOAI)
	case FormatJSONL:
		err = im.run(ctx, im.readJSONL(br), im.prepareJSON)
	default:
		err = &FileError{File: name, Err: fmt.Errorf("unknown format %q", format)}
	}
	im.sum.Elapsed = time.Since(start)
	im.report()
	return im.sum, err
}

// detect tells the format from the file name, else from the first byte.
func detect(name string, br *bufio.Reader) Format {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".jsonl", ".ndjson":
		return FormatJSONL
	case ".xml":
		return FormatOAI
	}
	head, _ := br.Peek(512)
	head = bytes.TrimLeft(bytes.TrimPrefix(head, []byte("\xEF\xBB\xBF")), " \t\r\n")
	switch {
	case len(head) > 0 && head[0] == '<':
		return FormatOAI
	case len(head) > 0 && head[0] == '{':
		return FormatJSONL
	}
	return FormatAuto
}

type countingReader struct {
	r  io.Reader
	mu sync.Mutex
	n  int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.mu.Lock()
	c.n += int64(n)
	c.mu.Unlock()
	return n, err
}

func (c *countingReader) count() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// item is one record of the input, raw until a worker prepares it.
type item struct {
	chunk *oaixml.Chunk // OAI
	line  []byte        // JSON Lines
	lnum  int
	// filled by workers:
	prep      *store.Prepared
	err       *RecordError
	sanitized bool
}

// unit is a slice of items handed to one worker, committed in order.
type unit struct {
	items []item
	done  chan struct{}
}

type importer struct {
	st      *store.Store
	opts    Options
	name    string
	size    int64
	counted *countingReader
	start   time.Time
	sum     Summary
	records int64
	last    time.Time
}

// run drives the pipeline: read produces units; workers prepare them;
// the caller's goroutine commits them in input order.
func (im *importer) run(parent context.Context, read func(ctx context.Context, out chan<- *unit) error, prepare func(*item)) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	units := make(chan *unit, 2*im.opts.Workers) // in order, for the committer
	work := make(chan *unit, 2*im.opts.Workers)
	var readErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(units)
		defer close(work)
		src := make(chan *unit)
		done := make(chan error, 1)
		go func() { done <- read(ctx, src); close(src) }()
		for u := range src {
			select {
			case units <- u:
			case <-ctx.Done():
			}
			select {
			case work <- u:
			case <-ctx.Done():
			}
		}
		readErr = <-done
	}()
	for i := 0; i < im.opts.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for u := range work {
				for j := range u.items {
					prepare(&u.items[j])
				}
				close(u.done)
			}
		}()
	}
	err := im.commitUnits(ctx, units)
	cancel()
	// Drain so the reader and workers can finish.
	for u := range units {
		_ = u
	}
	wg.Wait()
	if err != nil {
		return err
	}
	if readErr != nil && !errors.Is(readErr, context.Canceled) {
		return readErr
	}
	return parent.Err()
}

func (im *importer) commitUnits(ctx context.Context, units <-chan *unit) error {
	batch := make([]*store.Prepared, 0, im.opts.BatchSize)
	// One commit waits to be synced while the next is queued behind it:
	// the store groups them, and preparing never waits for a sync.
	var inflight *store.PendingCommit
	settle := func() error {
		if inflight == nil {
			return nil
		}
		res, err := inflight.Wait()
		inflight = nil
		if err != nil {
			return fmt.Errorf("ingest %s: commit: %w", im.name, err)
		}
		for _, r := range res {
			switch r.Outcome {
			case store.Added:
				im.sum.Added++
			case store.Updated:
				im.sum.Updated++
			case store.Unchanged:
				im.sum.Unchanged++
			case store.Deleted:
				im.sum.Deleted++
			}
		}
		if im.opts.OnCommit != nil {
			im.opts.OnCommit(im.sum.Stored())
		}
		return nil
	}
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		next, err := im.st.CommitAsync(ctx, batch, store.CommitOptions{})
		if err != nil {
			return fmt.Errorf("ingest %s: commit: %w", im.name, err)
		}
		batch = make([]*store.Prepared, 0, im.opts.BatchSize)
		if err := settle(); err != nil {
			return err
		}
		inflight = next
		return nil
	}
	for u := range units {
		select {
		case <-u.done:
		case <-ctx.Done():
			settle()
			return ctx.Err()
		}
		for i := range u.items {
			it := &u.items[i]
			im.records++
			if it.sanitized {
				im.sum.Sanitized++
			}
			if it.err != nil {
				im.sum.reject(*it.err)
				continue
			}
			if it.prep == nil {
				continue
			}
			batch = append(batch, it.prep)
			if len(batch) >= im.opts.BatchSize {
				if err := flush(); err != nil {
					settle()
					return err
				}
			}
		}
		if time.Since(im.last) >= time.Second {
			im.report()
		}
	}
	if err := flush(); err != nil {
		settle()
		return err
	}
	return settle()
}

func (im *importer) report() {
	im.last = time.Now()
	if im.opts.Progress == nil {
		return
	}
	el := time.Since(im.start).Seconds()
	p := Progress{File: im.name, Bytes: im.counted.count(), TotalBytes: im.size, Records: im.records, Summary: im.sum}
	if el > 0 {
		p.Rate = float64(im.records) / el
	}
	p.Errors = nil
	im.opts.Progress(p)
}

const unitSize = 256

// readOAI splits an OAI-PMH document into units of record chunks.
func (im *importer) readOAI(r io.Reader) func(ctx context.Context, out chan<- *unit) error {
	return func(ctx context.Context, out chan<- *unit) error {
		sp := oaixml.NewSplitter(r, oaixml.Options{MaxChunkSize: im.opts.MaxRecordSize})
		u := &unit{done: make(chan struct{})}
		send := func() bool {
			if len(u.items) == 0 {
				return true
			}
			select {
			case out <- u:
			case <-ctx.Done():
				return false
			}
			u = &unit{items: make([]item, 0, unitSize), done: make(chan struct{})}
			return true
		}
		for {
			c, err := sp.Next()
			if err == io.EOF {
				send()
				return nil
			}
			if err != nil {
				send()
				line := 0
				var se *oaixml.SyntaxError
				if errors.As(err, &se) {
					line = se.Line
					err = errors.New(se.Msg)
				}
				return &FileError{File: im.name, Line: line, Err: err}
			}
			switch c.Name {
			case "record":
			case "error":
				// An OAI-PMH error response (noRecordsMatch...): no records.
				if v, perr := oaixml.ParseChunk(c, nil); perr == nil {
					if e, ok := v.(*oaixml.Error); ok && e.Code != "noRecordsMatch" {
						send()
						return &FileError{File: im.name, Line: c.Line, Err: e}
					}
				}
				continue
			default:
				continue
			}
			u.items = append(u.items, item{chunk: c, lnum: c.Line})
			if len(u.items) == unitSize && !send() {
				return ctx.Err()
			}
		}
	}
}

// readJSONL splits JSON Lines into units.
func (im *importer) readJSONL(r io.Reader) func(ctx context.Context, out chan<- *unit) error {
	return func(ctx context.Context, out chan<- *unit) error {
		br := bufio.NewReaderSize(r, 256<<10)
		max := im.opts.MaxRecordSize
		if max <= 0 {
			max = 16 << 20
		}
		u := &unit{done: make(chan struct{})}
		send := func() bool {
			if len(u.items) == 0 {
				return true
			}
			select {
			case out <- u:
			case <-ctx.Done():
				return false
			}
			u = &unit{items: make([]item, 0, unitSize), done: make(chan struct{})}
			return true
		}
		lnum := 0
		for {
			line, err := readLine(br, max)
			if len(line) > 0 || errors.Is(err, errLineTooLong) {
				lnum++
			}
			if errors.Is(err, errLineTooLong) {
				u.items = append(u.items, item{lnum: lnum, err: &RecordError{File: im.name, Line: lnum, Error: fmt.Sprintf("line longer than %d bytes", max)}})
			} else if len(bytes.TrimSpace(line)) > 0 {
				u.items = append(u.items, item{line: line, lnum: lnum})
			}
			if len(u.items) == unitSize && !send() {
				return ctx.Err()
			}
			if err == io.EOF {
				send()
				return nil
			}
			if err != nil && !errors.Is(err, errLineTooLong) {
				send()
				return &FileError{File: im.name, Line: lnum, Err: err}
			}
		}
	}
}

var errLineTooLong = errors.New("line too long")

// readLine returns the next line without its newline, or errLineTooLong
// after skipping a line longer than max.
func readLine(br *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	for {
		frag, err := br.ReadSlice('\n')
		if len(line)+len(frag) > max {
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			if err == io.EOF {
				return nil, errLineTooLong
			}
			return nil, errLineTooLong
		}
		line = append(line, frag...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			return bytes.TrimRight(line, "\r\n"), err
		}
		return bytes.TrimRight(line, "\r\n"), nil
	}
}

// prepareOAI parses one record chunk and prepares the record.
func (im *importer) prepareOAI(it *item) {
	var m store.Metadata
	rec, err := oaixml.ParseRecord(it.chunk, crosswalk.DCSink(&m))
	it.chunk = nil
	if err != nil {
		var ie *oaixml.ItemError
		e := RecordError{File: im.name, Line: it.lnum, Error: err.Error()}
		if errors.As(err, &ie) {
			e.Line, e.Identifier, e.Error = ie.Line, ie.Identifier, ie.Err.Error()
		}
		it.err = &e
		return
	}
	it.sanitized = rec.Sanitized
	if rec.Sanitized {
		im.opts.Logger.Warn("dropped characters XML forbids", "file", im.name, "line", rec.Line, "record", rec.Header.Identifier)
	}
	if !rec.Header.Deleted && rec.MetadataNamespace != crosswalk.NamespaceOAIDC {
		it.err = &RecordError{File: im.name, Line: rec.Line, Identifier: rec.Header.Identifier,
			Error: fmt.Sprintf("metadata in namespace %q: import reads oai_dc", rec.MetadataNamespace)}
		return
	}
	r := &store.Record{
		ID:       LocalID(rec.Header.Identifier),
		Deleted:  rec.Header.Deleted,
		Origin:   im.opts.Origin,
		Metadata: m,
		Provenance: []store.Provenance{{
			Identifier:        rec.Header.Identifier,
			Datestamp:         rec.Header.Datestamp,
			MetadataNamespace: rec.MetadataNamespace,
			Altered:           true,
		}},
	}
	if rec.Header.Deleted {
		r.Metadata = store.Metadata{}
	}
	im.prepare(it, r, rec.Header.Identifier)
}

// prepareJSON decodes one native record.
func (im *importer) prepareJSON(it *item) {
	r := new(store.Record)
	d := json.NewDecoder(bytes.NewReader(it.line))
	d.DisallowUnknownFields()
	err := d.Decode(r)
	it.line = nil
	if err != nil {
		it.err = &RecordError{File: im.name, Line: it.lnum, Error: "invalid record JSON: " + err.Error()}
		return
	}
	if r.ID == "" {
		for _, id := range r.Metadata.Identifiers {
			if n, ok := store.NormalizeIdentifier(id.Scheme, id.Value); ok {
				r.ID = LocalID(n.Scheme + ":" + n.Value)
				break
			}
		}
	}
	if im.opts.Origin != "" {
		r.Origin = im.opts.Origin
	}
	r.OAISets, r.OAIIdentifier = nil, ""
	im.prepare(it, r, r.ID)
}

func (im *importer) prepare(it *item, r *store.Record, ident string) {
	p, err := im.st.Prepare(r)
	if err != nil {
		it.err = &RecordError{File: im.name, Line: it.lnum, Identifier: ident, Error: err.Error()}
		var ve *store.ValidationError
		if errors.As(err, &ve) {
			var parts []string
			for _, fe := range ve.Errors {
				parts = append(parts, fe.Field+": "+fe.Message)
			}
			it.err.Error = strings.Join(parts, "; ")
		}
		return
	}
	it.prep = p
}

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// LocalID derives a local record id from a source identifier: a readable
// part (the identifier without "oai:", characters outside the URL-safe set
// replaced) and a hash of the whole identifier, so that the same source
// record always gets the same id and different ones never collide.
func LocalID(identifier string) string {
	sum := sha256.Sum256([]byte(identifier))
	h := idEncoding.EncodeToString(sum[:])[:10]
	s := strings.TrimPrefix(identifier, "oai:")
	var b strings.Builder
	dash := false
	for _, c := range s {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_'
		if ok {
			b.WriteRune(c)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= 80 {
			break
		}
	}
	readable := strings.Trim(b.String(), "-.")
	if readable == "" {
		return h
	}
	return readable + "-" + h
}
