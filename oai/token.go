package oai

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"time"

	"github.com/colligo/colligo/store"
)

// A resumption token is the whole state of a list: where it stands and
// what it lists, signed so that it cannot be forged, and nothing on the
// server. It stays valid across restarts (the key is node state) for
// Config.TokenLifetime after it was issued. Layout, before base64url:
//
//	version(1) verb(1) flags(1)
//	uvarint issued (unix seconds)
//	uvarint after    last seq returned (ListSets: unused)
//	uvarint maxSeq   the list's snapshot bound, fixed at its first page
//	uvarint cursor   records returned before the page the token asks for
//	uvarint size     completeListSize counted at the first page, + 1 (0: none)
//	string  prefix   metadataPrefix
//	string  set      setSpec, or the last setSpec returned (ListSets)
//	varint  from     unix seconds, when flags&flagFrom
//	varint  until    unix seconds, when flags&flagUntil
//	mac(16)          HMAC-SHA256 of everything before, truncated
//
// Strings are a uvarint length and bytes.
type token struct {
	verb   byte
	issued int64
	after  uint64
	maxSeq uint64
	cursor uint64
	// size is the list's size as counted at its first page; -1 when not
	// counted.
	size   int64
	prefix string
	set    string
	// from and until are the list's bounds as the store takes them (until
	// already at the end of its day for a day-granularity request).
	from, until time.Time
}

const (
	tokenVersion = 1
	macSize      = 16
	flagFrom     = 1
	flagUntil    = 2
	// maxTokenLen bounds what is decoded: a real token is under 200 bytes.
	maxTokenLen = 1024
)

// Verbs a token can continue.
const (
	verbByteRecords     = 'R'
	verbByteIdentifiers = 'I'
	verbByteSets        = 'S'
)

var errBadToken = errors.New("the resumptionToken is not one this repository issued")

// encode returns the token as a URL-safe string.
func (t *token) encode(key []byte) string {
	b := make([]byte, 0, 96)
	b = append(b, tokenVersion, t.verb, 0)
	if !t.from.IsZero() {
		b[2] |= flagFrom
	}
	if !t.until.IsZero() {
		b[2] |= flagUntil
	}
	b = binary.AppendUvarint(b, uint64(t.issued))
	b = binary.AppendUvarint(b, t.after)
	b = binary.AppendUvarint(b, t.maxSeq)
	b = binary.AppendUvarint(b, t.cursor)
	b = binary.AppendUvarint(b, uint64(t.size+1))
	b = appendString(b, t.prefix)
	b = appendString(b, t.set)
	if !t.from.IsZero() {
		b = binary.AppendVarint(b, t.from.Unix())
	}
	if !t.until.IsZero() {
		b = binary.AppendVarint(b, t.until.Unix())
	}
	b = append(b, sign(key, b)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func sign(key, msg []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return m.Sum(nil)[:macSize]
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// decodeToken checks a token's signature and reads it. It does not check
// expiry or the verb: the caller does, to say which.
func decodeToken(s string, key []byte) (*token, error) {
	if len(s) == 0 || len(s) > maxTokenLen {
		return nil, errBadToken
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 3+macSize {
		return nil, errBadToken
	}
	msg, mac := b[:len(b)-macSize], b[len(b)-macSize:]
	if !hmac.Equal(mac, sign(key, msg)) {
		return nil, errBadToken
	}
	if msg[0] != tokenVersion {
		return nil, errBadToken
	}
	t := &token{verb: msg[1]}
	flags := msg[2]
	if flags&^(flagFrom|flagUntil) != 0 {
		return nil, errBadToken
	}
	r := tokenReader{b: msg[3:]}
	t.issued = int64(r.uvarint())
	t.after = r.uvarint()
	t.maxSeq = r.uvarint()
	t.cursor = r.uvarint()
	t.size = int64(r.uvarint()) - 1
	t.prefix = r.string()
	t.set = r.string()
	if flags&flagFrom != 0 {
		t.from = time.Unix(r.varint(), 0).UTC()
	}
	if flags&flagUntil != 0 {
		t.until = time.Unix(r.varint(), 0).UTC()
	}
	if r.bad || len(r.b) != 0 {
		return nil, errBadToken
	}
	switch t.verb {
	case verbByteRecords, verbByteIdentifiers:
		if !validPrefix(t.prefix) || (t.set != "" && !store.ValidSetSpec(t.set)) || t.after > t.maxSeq || t.size < -1 {
			return nil, errBadToken
		}
	case verbByteSets:
		if t.prefix != "" || (t.set != "" && !store.ValidSetSpec(t.set)) || t.size < -1 {
			return nil, errBadToken
		}
	default:
		return nil, errBadToken
	}
	return t, nil
}

type tokenReader struct {
	b   []byte
	bad bool
}

func (r *tokenReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.bad, r.b = true, nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *tokenReader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.bad, r.b = true, nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *tokenReader) string() string {
	n := r.uvarint()
	if r.bad || n > uint64(len(r.b)) {
		r.bad, r.b = true, nil
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}
