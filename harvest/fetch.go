package harvest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/colligo/colligo/oai/oaixml"
)

// request is one OAI-PMH request: a verb and its arguments.
type request struct {
	verb  string
	args  url.Values
	token string // resumptionToken: the only argument besides verb (§3.5)
}

func (q request) url(baseURL string) string {
	v := url.Values{"verb": {q.verb}}
	if q.token != "" {
		v.Set("resumptionToken", q.token)
	} else {
		for k, vs := range q.args {
			v[k] = vs
		}
	}
	// Source.Validate refuses base URLs with a query.
	return baseURL + "?" + v.Encode()
}

// page is one response, split: its record chunks stay raw for the workers.
type page struct {
	url          string
	responseDate string
	records      []*oaixml.Chunk
	token        *oaixml.ResumptionToken // nil: no resumptionToken element
	oaiErr       *oaixml.Error
	identify     *oaixml.Identify
	formats      []*oaixml.MetadataFormat
	bytes        int64
	gzipSniffed  bool
}

// HTTPError is an answer that is not an OAI-PMH response: an HTTP error
// status whose body is not an OAI-PMH error.
type HTTPError struct {
	Status int
	// Snippet is the start of the body, as text.
	Snippet string
}

func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("HTTP %d %s", e.Status, http.StatusText(e.Status))
	if e.Snippet != "" {
		msg += ": " + e.Snippet
	}
	return msg
}

// retryable marks a failure worth another try; after is the wait the
// source asked for (Retry-After), or 0 for the harvester's backoff.
type retryable struct {
	err   error
	after time.Duration
	asked bool // the source sent Retry-After
}

func (r *retryable) Error() string { return r.err.Error() }
func (r *retryable) Unwrap() error { return r.err }

// fetch sends req and reads the answer, retrying what is worth retrying.
// A returned page may carry an OAI-PMH error (oaiErr); the error return is
// for answers that are not OAI-PMH responses, wrapped in *Error with the URL.
func (h *Harvester) fetch(ctx context.Context, r *run, req request) (*page, error) {
	u := req.url(r.src.BaseURL)
	for attempt := 0; ; attempt++ {
		p, err := h.fetchOnce(ctx, u)
		if err == nil {
			if p.gzipSniffed {
				r.warnOnce("gzip", "the source sends gzip without Content-Encoding: gzip (decompressed anyway)")
			}
			return p, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var se *statusOAIError
		if errors.As(err, &se) {
			r.warnOnce("status", fmt.Sprintf("the source answers OAI-PMH errors with HTTP status %d", se.status))
			return se.page, nil
		}
		var re *retryable
		if !errors.As(err, &re) {
			return nil, &Error{URL: u, Err: err}
		}
		if attempt >= h.cfg.Retries {
			return nil, &Error{URL: u, Err: fmt.Errorf("%w (gave up after %d retries)", re.err, attempt), Transient: true}
		}
		wait := re.after
		if !re.asked {
			wait = h.backoff(attempt)
		}
		r.retried(u, re.err, wait)
		if err := h.wait(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// backoff is the wait before retry attempt+1: BackoffBase doubled per
// attempt, capped at BackoffMax, with "equal jitter" (half fixed, half
// random) so that harvesters that failed together do not return together.
func (h *Harvester) backoff(attempt int) time.Duration {
	d := h.cfg.BackoffBase
	for i := 0; i < attempt && d < h.cfg.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, h.cfg.BackoffMax)
	half := d / 2
	return half + time.Duration(rand.Int64N(int64(half)+1))
}

// sleepCtx waits d or until ctx ends: no bare sleeps.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// wantGzip reports whether to ask the source at u for gzip (see
// Config.Compression).
func (h *Harvester) wantGzip(u *url.URL) bool {
	switch h.cfg.Compression {
	case "gzip":
		return true
	case "none":
		return false
	}
	return !isLoopback(u.Hostname())
}

// isLoopback reports whether host names this machine: localhost or a
// loopback IP address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// fetchOnce makes one attempt.
func (h *Harvester) fetchOnce(parent context.Context, u string) (*page, error) {
	ctx, cancel := context.WithTimeout(parent, h.cfg.RequestTimeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	hreq.Header.Set("User-Agent", h.cfg.UserAgent)
	hreq.Header.Set("Accept", "text/xml, application/xml;q=0.9, */*;q=0.1")
	// Asked for explicitly, gzip is left to readPage, whose decoder
	// (klauspost/compress) takes half the CPU of the one net/http uses
	// transparently: a harvest decompresses every byte it reads.
	if h.wantGzip(hreq.URL) {
		hreq.Header.Set("Accept-Encoding", "gzip")
	} else {
		hreq.Header.Set("Accept-Encoding", "identity")
	}
	resp, err := h.client.Do(hreq)
	if err != nil {
		if parent.Err() != nil {
			return nil, parent.Err()
		}
		// Connection refused or reset, DNS, timeout: all may pass.
		return nil, &retryable{err: timeoutText(err, h.cfg.RequestTimeout)}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, h.statusError(resp, u)
	}
	p, err := h.readPage(resp.Body, u, declaredGzip(resp.Header))
	if err != nil {
		if parent.Err() != nil {
			return nil, parent.Err()
		}
		if errors.Is(err, oaixml.ErrTooLarge) {
			return nil, fmt.Errorf("response exceeds max_page_bytes (%d bytes)", h.cfg.MaxPageBytes)
		}
		// A body cut short or garbled in transit reads as a broken
		// document; the next try usually gets it whole.
		return nil, &retryable{err: timeoutText(err, h.cfg.RequestTimeout)}
	}
	return p, nil
}

func timeoutText(err error, d time.Duration) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("no complete answer within request_timeout %s", d)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err // the URL is reported once, by *Error
	}
	return err
}

// statusError classifies a non-200 answer. Sources answer OAI-PMH errors
// with HTTP error statuses (Zenodo: 422 with an OAI-PMH error body), so a
// body that is an OAI-PMH error is the answer; 503, 429 and 408 are retried
// after the source's Retry-After, other 5xx after a backoff.
func (h *Harvester) statusError(resp *http.Response, u string) error {
	after, asked := h.retryAfter(resp.Header.Get("Retry-After"))
	code := resp.StatusCode
	switch code {
	case http.StatusServiceUnavailable, http.StatusTooManyRequests, http.StatusRequestTimeout:
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return &retryable{err: &HTTPError{Status: code}, after: after, asked: asked}
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if p, err := h.readPage(strings.NewReader(string(body)), u, declaredGzip(resp.Header)); err == nil && p.oaiErr != nil {
		return &statusOAIError{page: p, status: code}
	}
	he := &HTTPError{Status: code, Snippet: snippet(body)}
	if code >= 500 || asked {
		return &retryable{err: he, after: after, asked: asked}
	}
	return he
}

// statusOAIError carries an OAI-PMH error answered with an HTTP error
// status: fetch turns it back into a page.
type statusOAIError struct {
	page   *page
	status int
}

func (e *statusOAIError) Error() string {
	return fmt.Sprintf("HTTP %d with %v", e.status, e.page.oaiErr)
}

// retryAfter reads Retry-After: delay-seconds or an HTTP-date (RFC 9110
// §10.2.3), capped at RetryAfterMax.
func (h *Harvester) retryAfter(v string) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n > int64(h.cfg.RetryAfterMax/time.Second)+1 {
			n = int64(h.cfg.RetryAfterMax/time.Second) + 1
		}
		d = time.Duration(max(n, 0)) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(h.clock())
	} else {
		return 0, false
	}
	return min(max(d, 0), h.cfg.RetryAfterMax), true
}

func snippet(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// declaredGzip reports whether the answer says it is gzip-compressed.
func declaredGzip(hd http.Header) bool {
	switch strings.ToLower(strings.TrimSpace(hd.Get("Content-Encoding"))) {
	case "gzip", "x-gzip":
		return true
	}
	return false
}

// gzipReaders are reused: a gzip.Reader holds tens of kilobytes of
// decoder state.
var gzipReaders sync.Pool

// readPage splits a response body. A gzip body is decompressed, declared
// (Content-Encoding, see fetchOnce) or not (some sources send gzip
// without saying so). Record chunks are kept raw; the envelope is parsed.
func (h *Harvester) readPage(body io.Reader, u string, declared bool) (*page, error) {
	p := &page{url: u}
	cr := &countReader{r: body}
	br := bufio.NewReaderSize(cr, 64<<10)
	var r io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, _ := gzipReaders.Get().(*gzip.Reader)
		var err error
		if gz == nil {
			gz, err = gzip.NewReader(br)
		} else {
			err = gz.Reset(br)
		}
		if err != nil {
			return nil, fmt.Errorf("gzip body: %w", err)
		}
		defer func() {
			gz.Close()
			gzipReaders.Put(gz)
		}()
		r, p.gzipSniffed = gz, !declared
	}
	sp := oaixml.NewSplitter(r, oaixml.Options{MaxChunkSize: h.cfg.MaxRecordBytes, MaxBytes: h.cfg.MaxPageBytes})
	for {
		c, err := sp.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch c.Name {
		case "record":
			p.records = append(p.records, c)
			continue
		case "header", "set", "request":
			continue
		}
		v, err := oaixml.ParseChunk(c, nil)
		if err != nil {
			return nil, err
		}
		switch v := v.(type) {
		case oaixml.ResponseDate:
			p.responseDate = string(v)
		case *oaixml.ResumptionToken:
			p.token = v
		case *oaixml.Error:
			if p.oaiErr == nil {
				p.oaiErr = v
			}
		case *oaixml.Identify:
			p.identify = v
		case *oaixml.MetadataFormat:
			p.formats = append(p.formats, v)
		}
	}
	p.bytes = cr.n
	if p.responseDate == "" && p.oaiErr == nil && p.identify == nil && len(p.records) == 0 && p.token == nil && len(p.formats) == 0 {
		// An HTML page or an empty answer must not pass for an empty list.
		return nil, errors.New("not an OAI-PMH response (no responseDate, records or error)")
	}
	return p, nil
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
