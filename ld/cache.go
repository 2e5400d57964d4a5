package ld

import (
	"container/list"
	"sync"
)

// rendition is a rendered representation of one record version.
type rendition struct {
	key  string // record id + "\x00" + format name
	etag string // the version: a hit needs the same
	body []byte
	link string // the Level 1 Link header field value
}

func (r *rendition) size() int64 { return int64(len(r.body)+len(r.link)+len(r.key)+len(r.etag)) + 96 }

// cache is a least-recently-used cache of renditions bounded in bytes. Its
// entries are keyed by record and format and carry the version they were
// rendered from, so a new version simply misses and replaces the old.
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

// get returns the rendition of key at version etag, or nil.
func (c *cache) get(key, etag string) *rendition {
	if c == nil || c.max <= 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[key]
	if !ok {
		return nil
	}
	r := e.Value.(*rendition)
	if r.etag != etag {
		return nil
	}
	c.ll.MoveToFront(e)
	return r
}

// put stores a rendition, evicting the least recently used ones to stay
// within the bound. A rendition larger than a quarter of the bound is not
// kept.
func (c *cache) put(r *rendition) {
	if c == nil || c.max <= 0 || r.size() > c.max/4 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[r.key]; ok {
		c.size -= e.Value.(*rendition).size()
		e.Value = r
		c.ll.MoveToFront(e)
	} else {
		c.items[r.key] = c.ll.PushFront(r)
	}
	c.size += r.size()
	for c.size > c.max {
		e := c.ll.Back()
		old := e.Value.(*rendition)
		c.ll.Remove(e)
		delete(c.items, old.key)
		c.size -= old.size()
	}
}
