// Package problem writes HTTP error answers as RFC 9457 problem details
// (application/problem+json). Every package that serves HTTP uses it, so
// that a client meets one error format everywhere (OAI-PMH errors excepted:
// the protocol answers those in XML with status 200).
package problem

import (
	"encoding/json"
	"net/http"
)

// Details is an RFC 9457 problem details object.
type Details struct {
	// Type is a URI naming the kind of problem; "about:blank" when the
	// status says it all.
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	// Errors lists invalid fields (type urn:colligo:problem:invalid-record).
	Errors any `json:"errors,omitempty"`
	// Available lists what the resource can be had as (406 answers).
	Available []string `json:"available,omitempty"`
}

// Problem types beyond plain HTTP statuses.
const (
	TypeInvalid     = "urn:colligo:problem:invalid-record"
	TypeBadQuery    = "urn:colligo:problem:bad-query"
	TypeUnavailable = "urn:colligo:problem:not-acceptable"
)

// Write writes a problem answer. title defaults to the status text.
func Write(w http.ResponseWriter, r *http.Request, d Details) {
	if d.Type == "" {
		d.Type = "about:blank"
	}
	if d.Title == "" {
		d.Title = http.StatusText(d.Status)
	}
	if d.Instance == "" && r != nil {
		d.Instance = r.URL.RequestURI()
	}
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Content-Length")
	w.WriteHeader(d.Status)
	if r != nil && r.Method == http.MethodHead {
		return
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(d)
}

// Error writes a problem with a status and a detail message.
func Error(w http.ResponseWriter, r *http.Request, status int, detail string) {
	Write(w, r, Details{Status: status, Detail: detail})
}
