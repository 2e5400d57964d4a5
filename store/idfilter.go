package store

import (
	"hash/maphash"
)

// idFilter remembers, approximately, every record id the store holds, so
// that writing a new record skips the Pebble lookup of its head: a bloom
// filter says "certainly not stored" for new ids (the common case in
// imports and first harvests), where a lookup costs a seek through every
// level's filter and index. Ids are never removed (a deleted record keeps a
// tombstone), so the filter never needs deletes. It grows by adding layers
// of twice the capacity (a scalable bloom filter). Only the committer uses
// it after Open.
type idFilter struct {
	seed   maphash.Seed
	layers []*bloomLayer
}

type bloomLayer struct {
	bits []uint64
	k    uint32
	n    int // ids added
	cap  int
}

const bitsPerID = 16

func newIDFilter(expected int) *idFilter {
	f := &idFilter{seed: maphash.MakeSeed()}
	f.grow(max(expected, 1<<16))
	return f
}

func (f *idFilter) grow(capacity int) {
	words := (capacity*bitsPerID + 63) / 64
	f.layers = append(f.layers, &bloomLayer{bits: make([]uint64, words), k: 11, cap: capacity})
}

// add records an id.
func (f *idFilter) add(id string) {
	l := f.layers[len(f.layers)-1]
	if l.n >= l.cap {
		f.grow(2 * l.cap)
		l = f.layers[len(f.layers)-1]
	}
	h := maphash.String(f.seed, id)
	l.set(h)
	l.n++
}

// mayContain reports false when id was certainly never added.
func (f *idFilter) mayContain(id string) bool {
	h := maphash.String(f.seed, id)
	for _, l := range f.layers {
		if l.test(h) {
			return true
		}
	}
	return false
}

func (l *bloomLayer) set(h uint64) {
	m := uint64(len(l.bits) * 64)
	h1, h2 := h, (h>>33)|(h<<31)|1
	for i := uint32(0); i < l.k; i++ {
		b := (h1 + uint64(i)*h2) % m
		l.bits[b/64] |= 1 << (b % 64)
	}
}

func (l *bloomLayer) test(h uint64) bool {
	m := uint64(len(l.bits) * 64)
	h1, h2 := h, (h>>33)|(h<<31)|1
	for i := uint32(0); i < l.k; i++ {
		b := (h1 + uint64(i)*h2) % m
		if l.bits[b/64]&(1<<(b%64)) == 0 {
			return false
		}
	}
	return true
}
