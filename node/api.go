package node

import (
	"bytes"
	_ "embed"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/colligo/colligo/node/problem"
	"github.com/colligo/colligo/store"
	"github.com/colligo/colligo/store/ingest"
)

//go:embed schema/record.json
var recordSchema []byte

func jsonEncoder(w io.Writer) *json.Encoder {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc
}

func (n *Node) recordSchema(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	w.Header().Set("Content-Type", "application/schema+json")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Write(recordSchema)
}

// etag is a record version's entity tag: its seq and content hash.
func etag(h store.Head) string {
	return fmt.Sprintf(`"%d-%s"`, h.Seq, hex.EncodeToString(h.Hash[:6]))
}

// parseETag reads the seq of an entity tag written by etag.
func parseETag(s string) (uint64, bool) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "W/")
	s = strings.Trim(s, `"`)
	seqPart, _, _ := strings.Cut(s, "-")
	var seq uint64
	if _, err := fmt.Sscan(seqPart, &seq); err != nil {
		return 0, false
	}
	return seq, true
}

// storeError answers an error of the store with the status it means.
func storeError(w http.ResponseWriter, r *http.Request, err error) {
	var ve *store.ValidationError
	switch {
	case errors.As(err, &ve):
		problem.Write(w, r, problem.Details{Type: problem.TypeInvalid, Status: http.StatusBadRequest,
			Title: "Invalid record", Detail: fmt.Sprintf("%d invalid field(s)", len(ve.Errors)), Errors: ve.Errors})
	case errors.Is(err, store.ErrNotFound):
		problem.Error(w, r, http.StatusNotFound, "no record with that id")
	case errors.Is(err, store.ErrConflict):
		problem.Error(w, r, http.StatusPreconditionFailed, "the record changed since the version in If-Match")
	case errors.Is(err, store.ErrClosed):
		problem.Error(w, r, http.StatusServiceUnavailable, "the node is shutting down")
	default:
		problem.Error(w, r, http.StatusInternalServerError, "the store failed to serve the request")
	}
}

func (n *Node) getRecord(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	rec, h, err := n.store.GetWithHead(r.Context(), ps.ByName("id"))
	if err != nil {
		storeError(w, r, err)
		return
	}
	tag := etag(h)
	w.Header().Set("ETag", tag)
	w.Header().Set("Last-Modified", h.Datestamp.Format(http.TimeFormat))
	if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, strings.Trim(tag, `"`)) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	writeJSON(w, http.StatusOK, rec)
}

// putBody is a record as a client sends it: what the store accepts, plus
// the read-only fields of a GET, which are ignored, so that a client can
// PUT back what it got.
type putBody struct {
	store.Record
	// Originals and provenance come from harvests only.
	Originals  json.RawMessage `json:"originals,omitempty"`
	Provenance json.RawMessage `json:"provenance,omitempty"`
}

func (n *Node) putRecord(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	id := ps.ByName("id")
	if ct := r.Header.Get("Content-Type"); ct != "" {
		// curl -d sends application/x-www-form-urlencoded unless told
		// otherwise; the body is still the JSON record, so read it.
		mt, _, _ := mime.ParseMediaType(ct)
		if mt != "application/json" && !strings.HasSuffix(mt, "+json") && mt != "application/x-www-form-urlencoded" && mt != "text/plain" {
			problem.Error(w, r, http.StatusUnsupportedMediaType, "send the record as application/json, not "+ct)
			return
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, n.cfg.MaxRecordBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			problem.Error(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("a record may have at most %d bytes", n.cfg.MaxRecordBytes))
			return
		}
		problem.Error(w, r, http.StatusBadRequest, "reading the body failed")
		return
	}
	var in putBody
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		problem.Write(w, r, problem.Details{Type: problem.TypeInvalid, Status: http.StatusBadRequest, Title: "Invalid record", Detail: jsonErrorDetail(err)})
		return
	}
	if dec.More() {
		problem.Error(w, r, http.StatusBadRequest, "the body holds more than one JSON value")
		return
	}
	rec := in.Record
	if rec.ID != "" && rec.ID != id {
		problem.Write(w, r, problem.Details{Type: problem.TypeInvalid, Status: http.StatusBadRequest, Title: "Invalid record",
			Detail: fmt.Sprintf("the body's id %q differs from the URL's %q", rec.ID, id)})
		return
	}
	rec.ID = id
	rec.Origin = n.cfg.NodeID
	rec.Deleted = false
	rec.OAISets, rec.Originals, rec.Provenance = nil, nil, nil
	p, err := n.store.Prepare(&rec)
	if err != nil {
		storeError(w, r, err)
		return
	}
	if m := r.Header.Get("If-Match"); m != "" {
		seq, ok := parseETag(m)
		if !ok {
			problem.Error(w, r, http.StatusBadRequest, "If-Match must be an ETag this node gave")
			return
		}
		p.IfSeq(seq)
	} else if r.Header.Get("If-None-Match") == "*" {
		p.IfSeq(0)
	}
	res, err := n.store.Commit(r.Context(), []*store.Prepared{p}, store.CommitOptions{})
	if err != nil {
		storeError(w, r, err)
		return
	}
	stored, h, err := n.store.GetWithHead(r.Context(), id)
	if err != nil {
		storeError(w, r, err)
		return
	}
	w.Header().Set("ETag", etag(h))
	w.Header().Set("Last-Modified", h.Datestamp.Format(http.TimeFormat))
	status := http.StatusOK
	if res[0].Outcome == store.Added {
		status = http.StatusCreated
		w.Header().Set("Location", "/api/records/"+id)
	}
	w.Header().Set("Colligo-Outcome", res[0].Outcome.String())
	writeJSON(w, status, stored)
}

// jsonErrorDetail says where a JSON body is wrong, without Go type names.
func jsonErrorDetail(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("the body is not valid JSON (at byte %d)", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("field %q has the wrong type (%s where %s is expected)", te.Field, te.Value, jsonKind(te.Type.Kind().String()))
	case errors.Is(err, io.EOF):
		return "the body is empty"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the body is not valid JSON (it ends too early)"
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return "unknown field " + f
	}
	return "the body is not a record: " + msg
}

func jsonKind(k string) string {
	switch k {
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	}
	return "a number"
}

func (n *Node) deleteRecord(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	res, err := n.store.Delete(r.Context(), ps.ByName("id"))
	if err != nil {
		storeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": res.ID, "deleted": true, "datestamp": res.Datestamp, "outcome": res.Outcome})
}

// listRecords pages through records in datestamp order:
// GET /api/records?limit=50&cursor=...
func (n *Node) listRecords(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	q := r.URL.Query()
	limit := atoiDefault(q.Get("limit"), 50, 1000)
	query := store.Query{Set: q.Get("set"), Origin: q.Get("origin")}
	if c := q.Get("cursor"); c != "" {
		b, err := base64.RawURLEncoding.DecodeString(c)
		if err != nil || len(b) != 16 {
			problem.Error(w, r, http.StatusBadRequest, "cursor is not one this node gave")
			return
		}
		query.After, query.MaxSeq = binary.BigEndian.Uint64(b), binary.BigEndian.Uint64(b[8:])
	} else {
		query.MaxSeq = n.store.LastSeq()
	}
	it := n.store.Scan(r.Context(), query)
	defer it.Close()
	out := struct {
		Total   int64           `json:"total"`
		Records []*store.Record `json:"records"`
		Next    string          `json:"next,omitempty"`
	}{Records: []*store.Record{}}
	var last uint64
	for len(out.Records) < limit && it.Next() {
		rec, err := n.store.Get(r.Context(), it.Entry().ID)
		if err != nil {
			continue
		}
		last = it.Entry().Seq
		out.Records = append(out.Records, rec)
	}
	if err := it.Err(); err != nil {
		storeError(w, r, err)
		return
	}
	if len(out.Records) == limit && it.Next() {
		b := binary.BigEndian.AppendUint64(nil, last)
		out.Next = base64.RawURLEncoding.EncodeToString(binary.BigEndian.AppendUint64(b, query.MaxSeq))
	}
	query.After = 0
	out.Total, _ = n.store.Count(r.Context(), query)
	writeJSON(w, http.StatusOK, out)
}

// importRecords imports the request body (a file) and streams progress as
// JSON lines: {"progress": ...} about once a second, then {"summary": ...}
// or {"error": "..."}.
func (n *Node) importRecords(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	name := filepath.Base(r.URL.Query().Get("name"))
	if name == "." || name == "/" {
		name = "upload"
	}
	format := ingest.Format(r.URL.Query().Get("format"))
	switch format {
	case ingest.FormatAuto, ingest.FormatOAI, ingest.FormatJSONL:
	default:
		problem.Error(w, r, http.StatusBadRequest, fmt.Sprintf("format %q is not oai or jsonl", format))
		return
	}
	n.jobs.Add(1)
	defer n.jobs.Done()
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	enc := json.NewEncoder(w)
	send := func(v any) {
		enc.Encode(v)
		if flusher != nil {
			flusher.Flush()
		}
	}
	rc := http.NewResponseController(w)
	rc.EnableFullDuplex()
	rc.SetReadDeadline(time.Time{})
	sum, err := ingest.Reader(r.Context(), n.store, r.Body, name, r.ContentLength, format, ingest.Options{
		Origin:   n.cfg.NodeID,
		Progress: func(p ingest.Progress) { send(map[string]any{"progress": p}) },
		Logger:   n.log,
	})
	if err != nil {
		send(map[string]any{"summary": sum, "error": err.Error()})
		return
	}
	n.log.Info("import finished", "file", name, "added", sum.Added, "updated", sum.Updated, "unchanged", sum.Unchanged, "deleted", sum.Deleted, "rejected", sum.Rejected, "elapsed", sum.Elapsed)
	send(map[string]any{"summary": sum})
}

func (n *Node) verify(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	n.jobs.Add(1)
	defer n.jobs.Done()
	rep, err := n.store.Verify(r.Context(), nil)
	if err != nil {
		storeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

func (n *Node) backup(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	var in struct {
		Dir string `json:"dir"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&in); err != nil || in.Dir == "" || !filepath.IsAbs(in.Dir) {
		problem.Error(w, r, http.StatusBadRequest, `send {"dir": "/absolute/path"}: the directory to write the backup to, which must not exist`)
		return
	}
	n.jobs.Add(1)
	defer n.jobs.Done()
	start := time.Now()
	if err := n.store.Checkpoint(r.Context(), in.Dir); err != nil {
		problem.Error(w, r, http.StatusConflict, err.Error())
		return
	}
	n.log.Info("backup written", "dir", in.Dir, "elapsed", time.Since(start))
	writeJSON(w, http.StatusOK, map[string]any{"dir": in.Dir, "seconds": time.Since(start).Seconds(), "last_seq": n.store.LastSeq()})
}
