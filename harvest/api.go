package harvest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/julienschmidt/httprouter"

	"github.com/colligo/colligo/node/problem"
)

// Routes registers the admin API of sources. admin wraps a handler with
// the node's bearer-token check; every route needs it.
//
//	GET    /api/sources              sources with their status
//	POST   /api/sources              add a source (JSON: base_url, id, prefix, set, every, enabled)
//	GET    /api/sources/:id          one source with its status
//	DELETE /api/sources/:id          forget a source (its records stay)
//	POST   /api/sources/:id/harvest  harvest now; progress as JSON lines
//	POST   /api/harvest              harvest a source given in the body, registered or not; JSON lines
func (h *Harvester) Routes(r *httprouter.Router, admin func(httprouter.Handle) httprouter.Handle) {
	r.GET("/api/sources", admin(h.listSources))
	r.POST("/api/sources", admin(h.addSource))
	r.GET("/api/sources/:id", admin(h.getSource))
	r.DELETE("/api/sources/:id", admin(h.deleteSource))
	r.POST("/api/sources/:id/harvest", admin(h.harvestSource))
	r.POST("/api/harvest", admin(h.harvestBody))
}

// apiError answers an error of this package with the status it means.
func apiError(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, ErrUnknownSource):
		status = http.StatusNotFound
	case errors.Is(err, ErrSourceExists), errors.Is(err, ErrConfigSource), errors.Is(err, ErrRunning):
		status = http.StatusConflict
	case errors.Is(err, ErrClosed):
		status = http.StatusServiceUnavailable
	case errors.Is(err, errInvalid):
		status = http.StatusBadRequest
	}
	problem.Error(w, r, status, err.Error())
}

var errInvalid = errors.New("invalid source")

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func (h *Harvester) listSources(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	writeJSON(w, http.StatusOK, map[string]any{"sources": h.Sources()})
}

func (h *Harvester) getSource(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	s, err := h.Source(ps.ByName("id"))
	if err != nil {
		apiError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s)
}

// readSource reads a source from a request body.
func readSource(w http.ResponseWriter, r *http.Request) (Source, error) {
	var src Source
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		return src, fmt.Errorf("%w: reading the body: %v", errInvalid, err)
	}
	if err := src.UnmarshalJSON(b); err != nil {
		return src, fmt.Errorf(`%w: send {"base_url": "https://...", "id": "...", "prefix": "oai_dc", "set": "...", "every": "1h"}: %v`, errInvalid, err)
	}
	if err := src.Validate(); err != nil {
		return src, fmt.Errorf("%w: %v", errInvalid, err)
	}
	return src.WithDefaults(), nil
}

func (h *Harvester) addSource(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	src, err := readSource(w, r)
	if err != nil {
		apiError(w, r, err)
		return
	}
	if src, err = h.AddSource(r.Context(), src); err != nil {
		apiError(w, r, err)
		return
	}
	st, err := h.Source(src.ID)
	if err != nil {
		apiError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/sources/"+src.ID)
	writeJSON(w, http.StatusCreated, st)
}

func (h *Harvester) deleteSource(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	if err := h.RemoveSource(r.Context(), ps.ByName("id")); err != nil {
		apiError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Harvester) harvestSource(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	s, err := h.Source(ps.ByName("id"))
	if err != nil {
		apiError(w, r, err)
		return
	}
	h.stream(w, r, s.Source)
}

func (h *Harvester) harvestBody(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	src, err := readSource(w, r)
	if err != nil {
		apiError(w, r, err)
		return
	}
	if s, err := h.Source(src.ID); err == nil {
		if s.BaseURL != src.BaseURL || s.Prefix != src.Prefix || s.Set != src.Set {
			apiError(w, r, fmt.Errorf("%w: source %q is registered with base_url %s, prefix %s, set %q; give another id", errInvalid, src.ID, s.BaseURL, s.Prefix, s.Set))
			return
		}
		src = s.Source
	}
	h.stream(w, r, src)
}

// StreamLine is one line of a harvest's JSON Lines answer: progress about
// once a second, then the result, with error set when the harvest failed.
type StreamLine struct {
	Progress *Result `json:"progress,omitempty"`
	Result   *Result `json:"result,omitempty"`
	Error    string  `json:"error,omitempty"`
	ErrorURL string  `json:"error_url,omitempty"`
}

// stream runs a harvest for an HTTP client, streaming progress.
func (h *Harvester) stream(w http.ResponseWriter, r *http.Request, src Source) {
	h.mu.Lock()
	_, busy := h.running[src.ID]
	closed := h.closed
	h.mu.Unlock()
	switch {
	case closed:
		apiError(w, r, ErrClosed)
		return
	case busy:
		apiError(w, r, fmt.Errorf("source %q: %w", src.ID, ErrRunning))
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	send := func(l StreamLine) {
		_ = enc.Encode(l)
		if flusher != nil {
			flusher.Flush()
		}
	}
	res, err := h.HarvestOnce(r.Context(), src, RunOptions{Progress: func(p Result) { send(StreamLine{Progress: &p}) }})
	line := StreamLine{Result: res}
	if err != nil {
		line.Error = err.Error()
		var he *Error
		if errors.As(err, &he) {
			line.ErrorURL = he.URL
		}
	}
	send(line)
}
