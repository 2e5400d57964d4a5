package ld

import (
	"container/list"
	"sync"

	"github.com/klauspost/compress/s2"
)

// rendition is a rendered representation of one record version.
type rendition struct {
	etag string // the version
	body []byte
	link string // the Level 1 Link header field value
}

// packed is a rendition as the cache keeps it: its Link header field value
// and its body, each compressed with S2. A landing page (8.8 KB of HTML
// and 1.7 KB of Link header for the benchmark's records) packs into 3.9
// KB, so the cache holds 2.7 times as many; unpacking one costs about 2
// us, rendering it again 55 us plus the decoding of the record. The two
// parts are apart so that a 304, which repeats the Link header, unpacks
// only that.
type packed struct {
	key  string // record id + "\x00" + format name
	etag string // the version: a hit needs the same
	link []byte
	body []byte
}

func (e *packed) size() int64 { return int64(len(e.link)+len(e.body)+len(e.key)+len(e.etag)) + 128 }

// pack compresses a rendition for the cache.
func pack(key string, r *rendition) *packed {
	bufp := packBufs.Get().(*[]byte)
	defer packBufs.Put(bufp)
	e := &packed{key: key, etag: r.etag}
	e.link = compress(bufp, []byte(r.link))
	e.body = compress(bufp, r.body)
	return e
}

// compress returns src compressed with S2 in a slice of its own size:
// the encoder's scratch space, the worst case, goes back to the pool.
func compress(bufp *[]byte, src []byte) []byte {
	if n := s2.MaxEncodedLen(len(src)); cap(*bufp) < n {
		*bufp = make([]byte, n)
	}
	enc := s2.Encode((*bufp)[:cap(*bufp)], src)
	return append(make([]byte, 0, len(enc)), enc...)
}

// packBufs holds the encoder's scratch buffers.
var packBufs = sync.Pool{New: func() any { b := make([]byte, 0, 32<<10); return &b }}

// unpackLink returns the Link header field value of a cached rendition.
func (e *packed) unpackLink() (string, error) {
	b, err := s2.Decode(nil, e.link)
	return string(b), err
}

// unpackBody decompresses the body of a cached rendition into buf,
// reallocated when too small, and returns the body and the buffer.
func (e *packed) unpackBody(buf []byte) (body, out []byte, err error) {
	n, err := s2.DecodedLen(e.body)
	if err != nil {
		return nil, buf, err
	}
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	body, err = s2.Decode(buf[:n], e.body)
	return body, buf, err
}

// unpackBufs holds buffers for unpacked bodies, which live only while a
// response is written.
var unpackBufs = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// cache is a least-recently-used cache of packed renditions bounded in
// bytes. Its entries are keyed by record and format and carry the version
// they were rendered from, so a new version simply misses and replaces the
// old.
type cache struct {
	mu    sync.Mutex
	max   int64
	size  int64
	ll    *list.List
	items map[string]*list.Element
}

func newCache(maxBytes int64) *cache {
	return &cache{max: maxBytes, ll: list.New(), items: map[string]*list.Element{}}
}

// get returns the entry of key at version etag, or nil.
func (c *cache) get(key, etag string) *packed {
	if c == nil || c.max <= 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[key]
	if !ok {
		return nil
	}
	p := e.Value.(*packed)
	if p.etag != etag {
		return nil
	}
	c.ll.MoveToFront(e)
	return p
}

// enabled reports whether the cache keeps anything, so that callers skip
// packing for a cache that is off.
func (c *cache) enabled() bool { return c != nil && c.max > 0 }

// put stores an entry, evicting the least recently used ones to stay
// within the bound. An entry larger than a quarter of the bound is not
// kept.
func (c *cache) put(p *packed) {
	if !c.enabled() || p.size() > c.max/4 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[p.key]; ok {
		c.size -= e.Value.(*packed).size()
		e.Value = p
		c.ll.MoveToFront(e)
	} else {
		c.items[p.key] = c.ll.PushFront(p)
	}
	c.size += p.size()
	for c.size > c.max {
		e := c.ll.Back()
		old := e.Value.(*packed)
		c.ll.Remove(e)
		delete(c.items, old.key)
		c.size -= old.size()
	}
}
