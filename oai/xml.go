package oai

import (
	"bytes"
	"errors"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/colligo/colligo/store"
)

// Namespaces and schemas of what the provider writes.
const (
	namespaceOAI        = "http://www.openarchives.org/OAI/2.0/"
	schemaOAI           = "http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd"
	namespaceProvenance = "http://www.openarchives.org/OAI/2.0/provenance"
	schemaProvenance    = "http://www.openarchives.org/OAI/2.0/provenance.xsd"
	namespaceIdentifier = "http://www.openarchives.org/OAI/2.0/oai-identifier"
	schemaIdentifier    = "http://www.openarchives.org/OAI/2.0/oai-identifier.xsd"
	namespaceFriends    = "http://www.openarchives.org/OAI/2.0/friends/"
	schemaFriends       = "http://www.openarchives.org/OAI/2.0/friends.xsd"
	namespaceXSI        = "http://www.w3.org/2001/XMLSchema-instance"
)

const xmlHead = `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
	`<OAI-PMH xmlns="` + namespaceOAI + `" xmlns:xsi="` + namespaceXSI + `" xsi:schemaLocation="` + namespaceOAI + " " + schemaOAI + `">` + "\n"

// chunkSize is how much of a response is buffered before it is written
// out: memory per response is bounded by it (plus one record), whatever
// the page size.
const chunkSize = 32 << 10

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, chunkSize+16<<10); return &b }}

// Compressors are pooled: a flate writer holds about a megabyte. BestSpeed
// because a list is written as fast as the store scans it: klauspost's
// (a dependency already, through Pebble) compresses a page of oai_dc at
// 384 MB/s on one core of the 2-core benchmark machine, compress/flate at
// 210 MB/s, and 100,000 records/s of oai_dc is 230 MB/s.
var (
	gzipPool = sync.Pool{New: func() any { w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed); return w }}
	zlibPool = sync.Pool{New: func() any { w, _ := zlib.NewWriterLevel(nil, zlib.BestSpeed); return w }}
)

// response writes one OAI-PMH response: a buffer of at most about
// chunkSize bytes between the writer and the connection, written out
// (through gzip or deflate when the client accepts them) whenever it
// fills. Appending bytes to it is all a list does per record.
type response struct {
	w       http.ResponseWriter
	out     io.Writer
	gz      *gzip.Writer
	zl      *zlib.Writer
	bufp    *[]byte
	buf     []byte
	started bool
	err     error
	// The formatted datestamp of the last second written: consecutive
	// records mostly share it.
	dsUnix int64
	ds     [20]byte
}

func newResponse(w http.ResponseWriter, r *http.Request) *response {
	x := &response{w: w, out: w, dsUnix: -1 << 62}
	x.bufp = bufPool.Get().(*[]byte)
	x.buf = (*x.bufp)[:0]
	h := w.Header()
	h.Set("Content-Type", "text/xml; charset=utf-8")
	h.Add("Vary", "Accept-Encoding")
	switch acceptEncoding(r.Header.Get("Accept-Encoding")) {
	case "gzip":
		h.Set("Content-Encoding", "gzip")
		x.gz = gzipPool.Get().(*gzip.Writer)
		x.gz.Reset(w)
		x.out = x.gz
	case "deflate":
		h.Set("Content-Encoding", "deflate")
		x.zl = zlibPool.Get().(*zlib.Writer)
		x.zl.Reset(w)
		x.out = x.zl
	}
	return x
}

// acceptEncoding picks gzip, deflate or "" (identity) from an
// Accept-Encoding header, honouring q-values; gzip wins a tie.
func acceptEncoding(header string) string {
	best, bestQ := "", 0.0
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.ToLower(strings.TrimSpace(name))
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.TrimSpace(k) == "q" {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = f
				}
			}
		}
		if q <= 0 {
			continue
		}
		switch name {
		case "gzip", "x-gzip", "*":
			if q > bestQ || (q == bestQ && best != "gzip") {
				best, bestQ = "gzip", q
			}
		case "deflate":
			if q > bestQ {
				best, bestQ = "deflate", q
			}
		}
	}
	return best
}

// str and raw append to the buffer.
func (x *response) str(s string) { x.buf = append(x.buf, s...) }
func (x *response) raw(b []byte) { x.buf = append(x.buf, b...) }

// text appends s escaped as element content.
func (x *response) text(s string) { x.buf = appendEscaped(x.buf, s) }

// elem appends <name>escaped text</name>.
func (x *response) elem(name, s string) {
	x.buf = append(x.buf, '<')
	x.buf = append(x.buf, name...)
	x.buf = append(x.buf, '>')
	x.buf = appendEscaped(x.buf, s)
	x.buf = append(x.buf, "</"...)
	x.buf = append(x.buf, name...)
	x.buf = append(x.buf, '>')
}

// datestamp appends t as YYYY-MM-DDThh:mm:ssZ.
func (x *response) datestamp(t time.Time) {
	if u := t.Unix(); u != x.dsUnix {
		x.dsUnix = u
		t.UTC().AppendFormat(x.ds[:0], time.RFC3339)
	}
	x.buf = append(x.buf, x.ds[:]...)
}

// maybeFlush writes the buffer out once it holds a chunk.
func (x *response) maybeFlush() {
	if len(x.buf) >= chunkSize {
		x.flush()
	}
}

func (x *response) flush() {
	if len(x.buf) == 0 || x.err != nil {
		x.buf = x.buf[:0]
		return
	}
	x.started = true
	_, x.err = x.out.Write(x.buf)
	x.buf = x.buf[:0]
}

// finish writes what is left and releases the buffer and compressor. It
// returns the first write error (the client went away). A response that
// was never flushed (GetRecord, errors, the short verbs) goes out with a
// Content-Length, in one write, rather than chunked.
func (x *response) finish() error {
	if !x.started && x.gz == nil && x.zl == nil && x.err == nil {
		x.w.Header().Set("Content-Length", strconv.Itoa(len(x.buf)))
	}
	x.flush()
	if x.gz != nil {
		if err := x.gz.Close(); x.err == nil {
			x.err = err
		}
	}
	if x.zl != nil {
		if err := x.zl.Close(); x.err == nil {
			x.err = err
		}
	}
	err := x.err
	x.release()
	return err
}

// release drops what is buffered and releases the buffer and compressor
// without writing anything more. Before anything was written, it also
// takes back the headers, so that the request can be answered otherwise.
func (x *response) release() {
	if !x.started {
		h := x.w.Header()
		h.Del("Content-Encoding")
		h.Del("Vary")
	}
	if x.gz != nil {
		x.gz.Reset(io.Discard)
		gzipPool.Put(x.gz)
		x.gz = nil
	}
	if x.zl != nil {
		x.zl.Reset(io.Discard)
		zlibPool.Put(x.zl)
		x.zl = nil
	}
	if x.bufp != nil {
		if cap(x.buf) <= 4*chunkSize { // a huge record grew it: let it go
			*x.bufp = x.buf[:0]
			bufPool.Put(x.bufp)
		}
		x.bufp, x.buf = nil, nil
	}
	x.err = errReleased
}

var errReleased = errors.New("response released")

// appendEscaped appends s escaped for element content and attribute
// values; tab, newline and carriage return are written as character
// references so that attribute values keep them.
func appendEscaped(b []byte, s string) []byte {
	last := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '&':
			esc = "&amp;"
		case '"':
			esc = "&quot;"
		case '\t':
			esc = "&#x9;"
		case '\n':
			esc = "&#xA;"
		case '\r':
			esc = "&#xD;"
		default:
			continue
		}
		b = append(b, s[last:i]...)
		b = append(b, esc...)
		last = i + 1
	}
	return append(b, s[last:]...)
}

// xmlSafe reports whether s is UTF-8 made of characters XML 1.0 allows, so
// that it can be echoed in a response.
func xmlSafe(s string) bool {
	for _, r := range s {
		switch {
		case r == utf8.RuneError:
			return false
		case r < 0x20 && r != '\t' && r != '\n' && r != '\r':
			return false
		case r >= 0xD800 && r <= 0xDFFF, r == 0xFFFE, r == 0xFFFF:
			return false
		}
	}
	return utf8.ValidString(s)
}

// appendProvenance appends the OAI provenance container (provenance.xsd)
// for a harvest chain, nearest harvest outermost. The outermost
// originDescription is altered="true": the node's own renderings are what
// it describes; the provider rewrites the flag when it serves an original
// payload as received (see aboutOriginal). now stands in for a harvest date the
// writer did not give.
func appendProvenance(b []byte, chain []store.Provenance, now time.Time) []byte {
	if b == nil {
		n := 320
		for _, p := range chain {
			n += 220 + len(p.BaseURL) + len(p.Identifier) + len(p.MetadataNamespace)
		}
		b = make([]byte, 0, n)
	}
	b = append(b, `<provenance xmlns="`+namespaceProvenance+`" xmlns:xsi="`+namespaceXSI+`" xsi:schemaLocation="`+namespaceProvenance+" "+schemaProvenance+`">`...)
	for i, p := range chain {
		harvested := p.HarvestDate
		if harvested.IsZero() {
			harvested = now
		}
		b = append(b, `<originDescription harvestDate="`...)
		b = harvested.UTC().Truncate(time.Second).AppendFormat(b, time.RFC3339)
		b = append(b, `" altered="`...)
		if i == 0 || p.Altered {
			b = append(b, `true">`...)
		} else {
			b = append(b, `false">`...)
		}
		b = append(b, "<baseURL>"...)
		b = appendEscaped(b, p.BaseURL)
		b = append(b, "</baseURL><identifier>"...)
		b = appendEscaped(b, p.Identifier)
		b = append(b, "</identifier><datestamp>"...)
		b = append(b, sourceDatestamp(p.Datestamp, harvested)...)
		b = append(b, "</datestamp><metadataNamespace>"...)
		b = appendEscaped(b, p.MetadataNamespace)
		b = append(b, "</metadataNamespace>"...)
	}
	for range chain {
		b = append(b, "</originDescription>"...)
	}
	return append(b, "</provenance>"...)
}

// sourceDatestamp writes a source's datestamp in one of the two forms
// OAI-PMH allows. Sources write others (no Z, an offset, fractions of a
// second, a space for the T): those are converted to UTC seconds; what
// cannot be read at all is replaced by the harvest date, which is later
// than the true datestamp and so still a correct bound for a harvester.
func sourceDatestamp(s string, harvested time.Time) string {
	s = strings.TrimSpace(s)
	if len(s) == 10 {
		if _, err := time.Parse(time.DateOnly, s); err == nil {
			return s
		}
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC().Truncate(time.Second).Format(time.RFC3339)
		}
	}
	return harvested.UTC().Truncate(time.Second).Format(time.RFC3339)
}

// aboutOriginal returns the about payload for a record served in an original
// format: the same chain, with the outermost description saying the
// metadata was not altered.
func aboutOriginal(about []byte) []byte {
	return bytes.Replace(about, []byte(` altered="true"`), []byte(` altered="false"`), 1)
}
