package ld

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/colligo/colligo/ld/linkheader"
	"github.com/colligo/colligo/node/problem"
	"github.com/colligo/colligo/store"
)

// Routes registers the publisher's URLs:
//
//	GET, HEAD /records/:id                  landing page and every format, by Accept or ?format=
//	GET, HEAD /records/:id/linkset          application/linkset (or +json, by Accept or ?format=)
//	GET, HEAD /records/:id/linkset.json     application/linkset+json
//	GET, HEAD /records/:id/metadata.<ext>   each format at its own URL (see Formats)
//	GET, HEAD /ns/v1/context.jsonld         our JSON-LD context
func (p *Publisher) Routes(r *httprouter.Router) {
	for _, m := range []string{http.MethodGet, http.MethodHead} {
		r.Handle(m, "/records/:id", p.serveRecord)
		r.Handle(m, "/records/:id/:resource", p.serveResource)
		r.Handle(m, ContextPath, p.serveContext)
	}
}

// linksetOffers are the two forms of a linkset, application/linkset first:
// it is the type advertised for /records/{id}/linkset.
var linksetOffers = []Offer{
	{Name: "linkset", Type: TypeLinkset, Aliases: []string{"lset", "text"}},
	{Name: "linkset.json", Type: TypeLinksetJSON, Aliases: []string{"json", "application/json"}},
}

// kind says which Link header a response carries.
type kind int

const (
	// landingKind: the record's URL, whatever the format: Level 1.
	landingKind kind = iota
	// metadataKind: a metadata resource: describes and linkset.
	metadataKind
	// linksetKind: a linkset: none.
	linksetKind
)

func (p *Publisher) serveRecord(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	w.Header().Set("Vary", "Accept")
	offer, err := Negotiate(r, RecordOffers)
	if err != nil {
		NotAcceptable(w, r, RecordOffers, err)
		return
	}
	f, _ := formatByName(offer.Name)
	id := ps.ByName("id")
	if f.File != "" {
		w.Header().Set("Content-Location", "/records/"+id+"/"+f.File)
	}
	p.serve(w, r, id, f.Name, f.Type, landingKind)
}

func (p *Publisher) serveResource(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	id, res := ps.ByName("id"), ps.ByName("resource")
	switch res {
	case "linkset":
		w.Header().Set("Vary", "Accept")
		offer, err := Negotiate(r, linksetOffers)
		if err != nil {
			NotAcceptable(w, r, linksetOffers, err)
			return
		}
		p.serve(w, r, id, offer.Name, offer.Type, linksetKind)
		return
	case "linkset.json":
		p.serve(w, r, id, "linkset.json", TypeLinksetJSON, linksetKind)
		return
	}
	for _, f := range Formats {
		if f.File != "" && f.File == res {
			p.serve(w, r, id, f.Name, f.Type, metadataKind)
			return
		}
	}
	names := []string{"linkset", "linkset.json"}
	for _, f := range Formats {
		if f.File != "" {
			names = append(names, f.File)
		}
	}
	problem.Error(w, r, http.StatusNotFound, "no resource "+strconv.Quote(res)+" under /records/"+id+"; there are "+strings.Join(names, ", "))
}

// serve answers for one record in one format: 404, 410 with a tombstone,
// 304, or 200 from the cache or a fresh rendering.
func (p *Publisher) serve(w http.ResponseWriter, r *http.Request, id, format, contentType string, k kind) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Expose-Headers", "Link, ETag, Content-Location, Vary")
	if !store.ValidID(id) {
		problem.Error(w, r, http.StatusNotFound, "no record with id "+strconv.Quote(id))
		return
	}
	ctx := r.Context()
	head, err := p.st.Head(ctx, id)
	if err != nil {
		p.storeError(w, r, id, err)
		return
	}
	if head.Deleted {
		p.serveTombstone(w, r, id, format)
		return
	}
	v := Validators{ETag: p.etag(head, format), LastModified: head.Datestamp}
	h.Set("Cache-Control", "public, no-cache")
	if k == metadataKind {
		h.Set("Link", p.metadataLinks(id))
	}
	if NotModified(r, v) {
		if k == landingKind {
			// A 304 repeats the header fields of the 200 it stands for
			// where it can; Level 1 costs a record read, which the 304
			// saves, so it is sent from the cache only.
			if e := p.cache.get(id+"\x00"+format, v.ETag); e != nil {
				if link, err := e.unpackLink(); err == nil {
					h.Set("Link", link)
				}
			}
		}
		WriteNotModified(w, v)
		return
	}
	bufp := unpackBufs.Get().(*[]byte)
	defer func() {
		if cap(*bufp) <= 1<<20 {
			unpackBufs.Put(bufp)
		}
	}()
	rend, err := p.rendition(r, id, head, format, bufp)
	if err != nil {
		p.storeError(w, r, id, err)
		return
	}
	v.ETag = rend.etag
	v.Set(h)
	if k == landingKind {
		h.Set("Link", rend.link)
	}
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(rend.body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(rend.body)
	}
}

// rendition returns the rendering of the record version head in a format,
// from the cache or rendered now. When the record changed since head was
// read, the rendition is of the newer version, with its entity tag. A body
// from the cache is unpacked into *buf, valid until the buffer's next use.
func (p *Publisher) rendition(r *http.Request, id string, head store.Head, format string, buf *[]byte) (rendition, error) {
	key := id + "\x00" + format
	if e := p.cache.get(key, p.etag(head, format)); e != nil {
		link, err := e.unpackLink()
		var body []byte
		if err == nil {
			body, *buf, err = e.unpackBody(*buf)
		}
		if err == nil {
			p.hits.Inc()
			return rendition{etag: e.etag, body: body, link: link}, nil
		}
		p.log.Error("render cache entry does not unpack; rendering again", "record", id, "format", format, "err", err)
	}
	p.misses.Inc()
	rec, h, err := p.st.GetWithHead(r.Context(), id)
	if err != nil {
		return rendition{}, err
	}
	body, level1, err := p.render(rec, format, true)
	if err != nil {
		return rendition{}, err
	}
	rend := rendition{etag: p.etag(h, format), body: body, link: level1}
	if p.cache.enabled() {
		p.cache.put(pack(key, &rend))
	}
	return rend, nil
}

// metadataLinks are the Level 2 links of a metadata resource: what it
// describes, and the linkset.
func (p *Publisher) metadataLinks(id string) string {
	landing := p.RecordURL(id)
	return linkheader.Format([]linkheader.Link{
		{Target: landing, Rel: "describes", Type: TypeHTML},
		{Target: landing + "/linkset", Rel: "linkset", Type: TypeLinkset},
		{Target: landing + "/linkset.json", Rel: "linkset", Type: TypeLinksetJSON},
	})
}

// serveTombstone answers 410 for a deleted record: the tombstone page for
// HTML, a problem for other formats; both with the cite-as link, since the
// identifier still names what was published.
func (p *Publisher) serveTombstone(w http.ResponseWriter, r *http.Request, id, format string) {
	rec, _, err := p.st.GetWithHead(r.Context(), id)
	if err != nil {
		p.storeError(w, r, id, err)
		return
	}
	h := w.Header()
	landing := p.RecordURL(id)
	cite := citeAs(rec, landing, p.harvested(rec))
	h.Set("Link", linkheader.Format([]linkheader.Link{{Target: linkheader.URI(cite), Rel: "cite-as"}}))
	h.Set("Cache-Control", "public, no-cache")
	withdrawn := rec.Datestamp.UTC().Format(time.DateOnly)
	if format != "html" {
		problem.Write(w, r, problem.Details{Status: http.StatusGone, Title: "Withdrawn",
			Detail: "record " + id + " was withdrawn on " + withdrawn + "; cite it as " + cite + " (" + Citation(rec) + ")"})
		return
	}
	body, err := p.Render(rec, "html")
	if err != nil {
		p.storeError(w, r, id, err)
		return
	}
	h.Set("Content-Type", TypeHTML)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusGone)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

var contextETag = func() string {
	sum := sha256.Sum256(contextV1)
	return `"` + hex.EncodeToString(sum[:8]) + `"`
}()

func (p *Publisher) serveContext(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	// The path is versioned: what it serves never changes.
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	v := Validators{ETag: contextETag}
	if NotModified(r, v) {
		WriteNotModified(w, v)
		return
	}
	v.Set(h)
	h.Set("Content-Type", "application/ld+json")
	h.Set("Content-Length", strconv.Itoa(len(contextV1)))
	if r.Method != http.MethodHead {
		w.Write(contextV1)
	}
}

func (p *Publisher) storeError(w http.ResponseWriter, r *http.Request, id string, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		problem.Error(w, r, http.StatusNotFound, "no record with id "+strconv.Quote(id))
	case errors.Is(err, store.ErrClosed):
		problem.Error(w, r, http.StatusServiceUnavailable, "the node is shutting down")
	case r.Context().Err() != nil:
		// The client went away; nobody reads the answer.
		problem.Error(w, r, http.StatusServiceUnavailable, "the request was cancelled")
	default:
		p.log.Error("rendering a record failed", "record", id, "err", err)
		problem.Error(w, r, http.StatusInternalServerError, "could not render record "+strconv.Quote(id))
	}
}
