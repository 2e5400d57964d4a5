package search

import (
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/blevesearch/snowballstem"
	"github.com/blevesearch/snowballstem/english"
	"golang.org/x/text/unicode/norm"
)

// The analysis chain, the same at index and at query time:
//
//  1. tokenize: a token is a run of letters and digits (Unicode classes L, N
//     and the marks M that follow them); every Han, Hiragana or Katakana
//     character is a token of its own, since those scripts do not separate
//     words with spaces;
//  2. fold case and diacritics: unicode.ToLower, then the canonical
//     decomposition without its combining marks (é→e, ä→a, ñ→n, ů→u), and a
//     few letters that do not decompose (ß→ss, æ→ae, œ→oe, ø→o, ł→l, đ→d,
//     ð→d, þ→th, ı→i);
//  3. stem with the Snowball English stemmer (glaciers→glacier,
//     modelling→model) every token longer than two letters that holds no
//     digit.
//
// One chain for every language keeps query and index in step without
// knowing a query's language: German or French words are stemmed by English
// rules, harmlessly, since both sides get the same stem. No stop words are
// dropped: titles are short and phrases need every word.

// maxTokenBytes bounds a token; longer runs (base64 blobs, URLs without
// separators) are cut, so one field cannot bloat the term dictionary.
const maxTokenBytes = 64

// foldTable maps runes below foldTableSize to their folded form; built once.
const foldTableSize = 0x3000

var foldTable = sync.OnceValue(func() []string {
	t := make([]string, foldTableSize)
	special := map[rune]string{
		'ß': "ss", 'ẞ': "ss", 'æ': "ae", 'Æ': "ae", 'œ': "oe", 'Œ': "oe", 'ø': "o", 'Ø': "o",
		'ł': "l", 'Ł': "l", 'đ': "d", 'Đ': "d", 'ð': "d", 'Ð': "d", 'þ': "th", 'Þ': "th", 'ı': "i",
		'ŀ': "l", 'Ŀ': "l", 'ħ': "h", 'Ħ': "h", 'ŧ': "t", 'Ŧ': "t", 'ĸ': "k", 'ſ': "s",
	}
	var buf [utf8.UTFMax * 4]byte
	for r := rune(0x80); r < foldTableSize; r++ {
		if s, ok := special[r]; ok {
			t[r] = s
			continue
		}
		if !isWordRune(r) {
			continue
		}
		l := unicode.ToLower(r)
		n := utf8.EncodeRune(buf[:], l)
		d := norm.NFD.Bytes(buf[:n])
		out := make([]byte, 0, len(d))
		for len(d) > 0 {
			c, size := utf8.DecodeRune(d)
			d = d[size:]
			if unicode.Is(unicode.Mn, c) {
				continue
			}
			out = utf8.AppendRune(out, c)
		}
		t[r] = string(out)
	}
	return t
})

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.M, r) || unicode.Is(unicode.Nl, r) || unicode.Is(unicode.No, r)
}

// isIdeograph reports whether r is a character of a script written
// without spaces between words, indexed one character per token.
func isIdeograph(r rune) bool {
	return unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r)
}

// foldRune appends the folded form of a non-ASCII word rune.
func foldRune(b []byte, r rune) []byte {
	if r < foldTableSize {
		if s := foldTable()[r]; s != "" {
			return append(b, s...)
		}
		return b // a combining mark: dropped
	}
	if unicode.Is(unicode.M, r) {
		return b
	}
	return utf8.AppendRune(b, unicode.ToLower(r))
}

// tokenizer splits, folds and stems text. It keeps a stem cache, so one
// tokenizer per goroutine; it is not safe for concurrent use.
type tokenizer struct {
	buf   []byte
	stems map[string]string
}

func newTokenizer() *tokenizer {
	return &tokenizer{buf: make([]byte, 0, 128), stems: make(map[string]string, 4096)}
}

// maxStemCache bounds the stem cache of a tokenizer.
const maxStemCache = 1 << 16

// each calls emit with every term of text, in order. The term is valid only
// during the call.
func (t *tokenizer) each(text string, emit func(term []byte)) {
	i := 0
	for i < len(text) {
		c := text[i]
		if c < utf8.RuneSelf {
			if !isASCIIWord(c) {
				i++
				continue
			}
		} else {
			r, size := utf8.DecodeRuneInString(text[i:])
			if isIdeograph(r) {
				t.buf = utf8.AppendRune(t.buf[:0], r)
				emit(t.buf)
				i += size
				continue
			}
			if !isWordRune(r) {
				i += size
				continue
			}
		}
		// A token starts at i.
		b := t.buf[:0]
		ascii, digits := true, false
		for i < len(text) {
			c := text[i]
			if c < utf8.RuneSelf {
				switch {
				case 'a' <= c && c <= 'z':
				case 'A' <= c && c <= 'Z':
					c += 'a' - 'A'
				case '0' <= c && c <= '9':
					digits = true
				default:
					goto end
				}
				if len(b) < maxTokenBytes {
					b = append(b, c)
				}
				i++
				continue
			}
			r, size := utf8.DecodeRuneInString(text[i:])
			if !isWordRune(r) || isIdeograph(r) {
				break
			}
			ascii = false
			if unicode.IsDigit(r) {
				digits = true
			}
			if len(b) < maxTokenBytes {
				b = foldRune(b, r)
			}
			i += size
		}
	end:
		t.buf = b
		if len(b) == 0 {
			continue
		}
		if len(b) > 2 && !digits && t.stems != nil {
			b = t.stem(b, ascii)
		}
		emit(b)
	}
}

func isASCIIWord(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// stem returns the English stem of a folded token, from the cache when it
// can.
func (t *tokenizer) stem(b []byte, ascii bool) []byte {
	if s, ok := t.stems[string(b)]; ok {
		return append(b[:0], s...)
	}
	env := snowballstem.NewEnv(string(b))
	english.Stem(env)
	s := env.Current()
	if len(t.stems) >= maxStemCache {
		clear(t.stems)
	}
	t.stems[string(b)] = s
	return append(b[:0], s...)
}

var tokenizers = sync.Pool{New: func() any { return newTokenizer() }}

// Terms returns the analysed terms of text, as the index holds them.
func Terms(text string) []string {
	var out []string
	tk := tokenizers.Get().(*tokenizer)
	tk.each(text, func(term []byte) { out = append(out, string(term)) })
	tokenizers.Put(tk)
	return out
}

// eachUnstemmed is each without stemming, for keyword values.
func (t *tokenizer) eachUnstemmed(text string, emit func(term []byte)) {
	stems := t.stems
	t.stems = nil
	defer func() { t.stems = stems }()
	t.each(text, emit)
}
