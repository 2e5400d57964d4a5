package oaixml

import (
	"bytes"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// tokens reads all tokens of one element, copying CharData.
func tokens(tr TokenReader) ([]xml.Token, error) {
	var out []xml.Token
	depth := 0
	for {
		tok, err := tr.Token()
		if err != nil {
			return out, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			out = append(out, t.Copy())
		case xml.EndElement:
			depth--
			out = append(out, t)
			if depth == 0 {
				return out, nil
			}
		case xml.CharData:
			out = append(out, t.Copy())
		}
	}
}

// merge joins adjacent CharData, which the two readers may split
// differently (CDATA sections).
func merge(toks []xml.Token) []xml.Token {
	var out []xml.Token
	for _, t := range toks {
		if cd, ok := t.(xml.CharData); ok && len(out) > 0 {
			if prev, ok := out[len(out)-1].(xml.CharData); ok {
				out[len(out)-1] = append(prev, cd...)
				continue
			}
		}
		out = append(out, t)
	}
	return out
}

// compareWithStd checks that whatever the scanner accepts, encoding/xml
// accepts with the same tokens.
func compareWithStd(t *testing.T, c *Chunk) {
	// A pooled scanner, as ParseRecord uses: state left from an earlier
	// chunk must not leak into this one.
	sc := getScanner(c.Raw, c.Namespaces)
	defer putScanner(sc)
	fast, err := tokens(sc)
	if err != nil {
		return // the fallback decides
	}
	if rest := bytes.TrimSpace(c.Raw[sc.offset():]); len(rest) > 0 {
		return // trailing bytes: not a single element, the fallback decides
	}
	d, _ := newChunkDecoder(c, c.Raw)
	if _, err := d.Token(); err != nil {
		t.Fatalf("wrapper: %v", err)
	}
	std, err := tokens(d)
	if err != nil {
		t.Fatalf("scanner accepted what encoding/xml rejects (%v):\n%q", err, c.Raw)
	}
	if tail, err := d.Token(); err != nil || tail.(xml.EndElement).Name.Local != "w" {
		t.Fatalf("encoding/xml sees more after the element (%v, %v):\n%q", tail, err, c.Raw)
	}
	if f, s := merge(fast), merge(std); !reflect.DeepEqual(f, s) {
		t.Fatalf("tokens differ for %q:\nfast %#v\n std %#v", c.Raw, f, s)
	}
}

func realChunks(t testing.TB) []*Chunk {
	files, _ := filepath.Glob("testdata/real/*.xml")
	var out []*Chunk
	for _, f := range files {
		b, _ := os.ReadFile(f)
		sp := NewSplitter(bytes.NewReader(b), Options{})
		for {
			c, err := sp.Next()
			if err == io.EOF || err != nil {
				break
			}
			if c.Name == "record" || c.Name == "header" {
				out = append(out, c)
			}
		}
	}
	return out
}

func TestScannerAgreesOnRealRecords(t *testing.T) {
	chunks := realChunks(t)
	accepted := 0
	for _, c := range chunks {
		if _, err := tokens(newScanner(c.Raw, c.Namespaces)); err == nil {
			accepted++
		}
		compareWithStd(t, c)
	}
	// Only the record with a control character should need the fallback.
	if accepted < len(chunks)-1 {
		t.Errorf("fast scanner accepted %d of %d real records", accepted, len(chunks))
	}
}

func TestScannerEdgeCases(t *testing.T) {
	for _, raw := range []string{
		`<a xmlns="urn:x" xmlns:p="urn:p"><p:b p:c="1" d='2'>t&amp;&lt;&#233;&#x20AC;</p:b><![CDATA[<x>]]><!-- c --><?pi x?><e/></a>`,
		"<a>line\r\nend\rx</a>",
		`<a xml:lang="de" q:x="1">unknown prefix</a>`,
		`<a><b xmlns=""><c/></b></a>`,
		`<a><b x="1" y="2"/><b z="3">t</b><c xml:lang="en"/></a>`,
	} {
		compareWithStd(t, &Chunk{Raw: []byte(raw), Namespaces: map[string]string{"q": "urn:q"}})
	}
	for _, bad := range []string{`<a>&bogus;</a>`, "<a>\x0b</a>", `<a><b></a></b>`, `<a b="1" b="2"/>`, `<a>x]]>y</a>`, `<a>&#0;</a>`, "<a>\xff</a>", `<!DOCTYPE a><a/>`} {
		if _, err := tokens(newScanner([]byte(bad), nil)); err == nil {
			t.Errorf("scanner accepted %q", bad)
		}
	}
}

// FuzzScanner: the fast scanner never accepts a chunk that encoding/xml
// rejects or reads differently.
func FuzzScanner(f *testing.F) {
	for i, c := range realChunks(f) {
		if i%5 == 0 && len(c.Raw) < 4000 {
			f.Add(c.Raw)
		}
	}
	f.Add([]byte(`<a xmlns="urn:x" xmlns:p="urn:p"><p:b p:c="1">t&amp;&#233;</p:b><![CDATA[<x>]]></a>`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		compareWithStd(t, &Chunk{Raw: raw, Namespaces: map[string]string{"q": "urn:q", "": "urn:default"}})
	})
}
