package ld

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"sync"

	jsonld "github.com/piprate/json-gold/ld"
)

// ContextPath is where a node serves its JSON-LD context. The version is in
// the path: a change that alters what a term means gets a new path, and the
// old one keeps being served as it was.
const ContextPath = "/ns/v1/context.jsonld"

// contextV1 is the context ContextPath serves: the schema.org term
// definitions (release 30.0, copied verbatim in meaning) of the terms we
// write, plus the dcterms, prov and xsd prefixes. A test checks every term
// against the schema.org context.
//
//go:embed contexts/colligo-v1.jsonld
var contextV1 []byte

// schemaOrgContext is the schema.org JSON-LD context, release 30.0, as
// schema.org publishes it (see testdata/README.md for its origin).
//
//go:embed contexts/schemaorg-30.0.jsonld
var schemaOrgContext []byte

// SchemaOrgContextURLs are the spellings of the schema.org context that
// real JSON-LD uses; the Loader serves them all from the embedded release.
var SchemaOrgContextURLs = []string{
	"http://schema.org", "http://schema.org/", "https://schema.org", "https://schema.org/",
	"http://schema.org/docs/jsonldcontext.jsonld", "https://schema.org/docs/jsonldcontext.jsonld",
	"http://schema.org/docs/jsonldcontext.json", "https://schema.org/docs/jsonldcontext.json",
}

// ContextV1 returns the bytes of the context served at ContextPath.
func ContextV1() []byte { return bytes.Clone(contextV1) }

// Loader is a json-gold document loader that never uses the network: it
// serves the schema.org context and our own context from bytes compiled into
// the binary, and refuses every other URL with an error. It is safe for
// concurrent use.
type Loader struct {
	raw map[string][]byte

	mu     sync.Mutex
	parsed map[string]any
}

// NewLoader returns a loader that knows the schema.org context under all
// its usual URLs and our context at baseURL + ContextPath.
func NewLoader(baseURL string) *Loader {
	l := &Loader{raw: map[string][]byte{}, parsed: map[string]any{}}
	for _, u := range SchemaOrgContextURLs {
		l.raw[u] = schemaOrgContext
	}
	l.raw[baseURL+ContextPath] = contextV1
	return l
}

// LoadDocument implements json-gold's DocumentLoader. It returns a copy of
// the document, so that a caller that changes it changes nothing here.
func (l *Loader) LoadDocument(u string) (*jsonld.RemoteDocument, error) {
	raw, ok := l.raw[u]
	if !ok {
		return nil, jsonld.NewJsonLdError(jsonld.LoadingDocumentFailed,
			fmt.Sprintf("ld: %s is not a preloaded context and this loader never uses the network", u))
	}
	l.mu.Lock()
	doc, ok := l.parsed[u]
	if !ok {
		if err := json.Unmarshal(raw, &doc); err != nil {
			l.mu.Unlock()
			return nil, jsonld.NewJsonLdError(jsonld.LoadingDocumentFailed, fmt.Sprintf("ld: context %s: %v", u, err))
		}
		l.parsed[u] = doc
	}
	l.mu.Unlock()
	return &jsonld.RemoteDocument{DocumentURL: u, Document: jsonld.CloneDocument(doc)}, nil
}
