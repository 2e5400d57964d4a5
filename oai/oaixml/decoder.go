package oaixml

import (
	"io"
)

// Decoder reads an OAI-PMH response (or a file of records) item by item, in
// document order, with memory bounded by one item. For parallel parsing use
// a Splitter and ParseChunk instead.
type Decoder struct {
	s    *Splitter
	sink MetadataSink
}

// NewDecoder returns a Decoder reading r. sink, if not nil, reads each
// record's payload (see MetadataSink).
func NewDecoder(r io.Reader, opts Options, sink MetadataSink) *Decoder {
	return &Decoder{s: NewSplitter(r, opts), sink: sink}
}

// Next returns the next item (see ParseChunk for the types), io.EOF at the
// end of the document, an *ItemError for an item that could not be parsed
// (call Next again to go on), or another error, after which the document
// cannot be read further (*SyntaxError, ErrTooLarge, a read error).
func (d *Decoder) Next() (any, error) {
	c, err := d.s.Next()
	if err != nil {
		return nil, err
	}
	return ParseChunk(c, d.sink)
}
