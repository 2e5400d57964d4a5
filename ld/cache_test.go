package ld

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestCachePackUnpack(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    rendition
	}{
		{"landing page", rendition{etag: `"a-1-html"`, body: []byte(strings.Repeat("<p>glacier</p>\n", 600)), link: `<https://doi.org/10.5281/zenodo.123456>; rel="cite-as", <https://schema.org/Dataset>; rel="type"`}},
		{"empty", rendition{etag: `"b-1-nt"`}},
		{"no link", rendition{etag: `"c-1-ttl"`, body: []byte("@prefix schema: <https://schema.org/> .\n")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCache(1 << 20)
			c.put(pack("id\x00html", &tc.r))
			e := c.get("id\x00html", tc.r.etag)
			if e == nil {
				t.Fatal("get after put = nil")
			}
			link, err := e.unpackLink()
			if err != nil || link != tc.r.link {
				t.Errorf("unpackLink = %q, %v, want %q", link, err, tc.r.link)
			}
			// A buffer too small is replaced; one large enough is used.
			for _, buf := range [][]byte{nil, make([]byte, 0, 64<<10)} {
				body, out, err := e.unpackBody(buf)
				if err != nil || !bytes.Equal(body, tc.r.body) {
					t.Errorf("unpackBody(cap %d) = %d bytes, %v, want %d bytes", cap(buf), len(body), err, len(tc.r.body))
				}
				if len(body) > 0 && cap(buf) >= len(body) && &out[:1][0] != &buf[:1][0] {
					t.Errorf("unpackBody(cap %d) did not use the buffer", cap(buf))
				}
			}
			if len(tc.r.body) > 1000 && e.size() > int64(len(tc.r.body))/2 {
				t.Errorf("packed size %d for a body of %d bytes", e.size(), len(tc.r.body))
			}
		})
	}
}

func TestCacheVersionsAndBound(t *testing.T) {
	body := func(i, n int) []byte {
		// Random bytes, so that entries keep their raw size.
		r := rand.New(rand.NewPCG(uint64(i), 1))
		b := make([]byte, n)
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		return b
	}
	c := newCache(64 << 10)
	c.put(pack("a\x00html", &rendition{etag: "v1", body: body(0, 4000)}))
	if c.get("a\x00html", "v2") != nil {
		t.Errorf("another version hits")
	}
	c.put(pack("a\x00html", &rendition{etag: "v2", body: body(1, 4000)}))
	if c.get("a\x00html", "v1") != nil || c.get("a\x00html", "v2") == nil {
		t.Errorf("a new version does not replace the old")
	}
	for i := range 100 {
		c.put(pack(fmt.Sprintf("r%d\x00html", i), &rendition{etag: "v", body: body(i, 4000)}))
		if c.size > c.max {
			t.Fatalf("size %d over the bound %d", c.size, c.max)
		}
	}
	if c.get("r99\x00html", "v") == nil {
		t.Errorf("the newest entry was evicted")
	}
	if c.get("r0\x00html", "v") != nil {
		t.Errorf("the oldest entry is still there")
	}
	var size int64
	for e := c.ll.Front(); e != nil; e = e.Next() {
		size += e.Value.(*packed).size()
	}
	if size != c.size || len(c.items) != c.ll.Len() {
		t.Errorf("accounting: size %d, counted %d; %d items, %d in the list", c.size, size, len(c.items), c.ll.Len())
	}
	// An entry above a quarter of the bound is not kept.
	c.put(pack("big\x00html", &rendition{etag: "v", body: body(7, 20000)}))
	if c.get("big\x00html", "v") != nil {
		t.Errorf("an entry of 20000 bytes kept in a cache of %d", c.max)
	}
	// A cache of size 0 is off.
	off := newCache(0)
	off.put(pack("a\x00html", &rendition{etag: "v"}))
	if off.enabled() || off.get("a\x00html", "v") != nil {
		t.Errorf("a cache of size 0 keeps entries")
	}
}
