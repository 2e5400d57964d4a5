package harvest

import (
	"errors"
	"fmt"
)

// Sentinel errors. Check with errors.Is.
var (
	// ErrRunning: a harvest of that source is already running.
	ErrRunning = errors.New("a harvest of this source is already running")
	// ErrUnknownSource: no source with that id.
	ErrUnknownSource = errors.New("no such source")
	// ErrSourceExists: a source with that id exists already.
	ErrSourceExists = errors.New("a source with this id exists")
	// ErrConfigSource: the source is defined in the config file, which the
	// API does not rewrite.
	ErrConfigSource = errors.New("the source is defined in the config file")
	// ErrTokenLoop: the source sent a resumptionToken it had sent before.
	ErrTokenLoop = errors.New("resumptionToken loop")
	// ErrEmptyPages: too many pages in a row without records.
	ErrEmptyPages = errors.New("too many empty pages")
	// ErrClosed: the harvester was closed.
	ErrClosed = errors.New("harvester closed")
)

// Error is a harvest that failed at a request: the URL and the cause.
// Unwrap gives the cause: an *oaixml.Error for an OAI-PMH error answer, an
// *HTTPError, ErrTokenLoop, a network error...
type Error struct {
	URL string
	Err error
	// Transient is set when the request failed in a way that may pass
	// (timeouts, 5xx, 503) and the retries ran out.
	Transient bool
}

func (e *Error) Error() string {
	if e.URL == "" {
		return e.Err.Error()
	}
	return fmt.Sprintf("%s: %v", e.URL, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// RecordError is one record that could not be stored.
type RecordError struct {
	// URL is the request whose answer held the record.
	URL        string `json:"url"`
	Line       int    `json:"line,omitempty"`
	Identifier string `json:"identifier,omitempty"`
	Error      string `json:"error"`
}
