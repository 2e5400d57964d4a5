package store

import (
	"regexp"
	"testing"
)

var doiSeeds = []string{
	"10.5072/uni-a.0", "https://doi.org/10.5072/ABC", "HTTP://DX.DOI.ORG/10.1000/182", "doi:10.1234/x",
	"DOI: \t10.1234/x", "info:doi/10.1234/x", "info:DOI/10.123/x", "10.123/x", "10.1234567890/x",
	"10.1234/", "10.1234/a b", "10.1234/a\u00a0b", "https://doi.org/10.1234", "https://dx.doi.org/dx.doi.org/10.1234/x",
	"https://doi.org/", "doi:", "", "http://example.org/10.1234/x", "httpſ://doi.org/10.1234/x",
	"https://doi.org/10.1234/é", "doi:https://doi.org/10.1234/x", "10.12345/x\n", "ftp://doi.org/10.1234/x",
	"https://doi.org/10.1234/x?y=1#z", "doi:10.1234/x/y/z",
}

// matchDOI answers as doiPattern does.
func TestMatchDOI(t *testing.T) {
	for _, v := range doiSeeds {
		checkDOI(t, v)
	}
}

func FuzzMatchDOI(f *testing.F) {
	for _, v := range doiSeeds {
		f.Add(v)
	}
	f.Fuzz(checkDOI)
}

func checkDOI(t *testing.T, v string) {
	got, ok := matchDOI(v)
	var want string
	m := doiPattern.FindStringSubmatch(v)
	if m != nil {
		want = m[1]
	}
	if ok != (m != nil) || got != want {
		t.Errorf("matchDOI(%q) = %q, %v; the pattern: %q, %v", v, got, ok, want, m != nil)
	}
}

var setSpecPattern = regexp.MustCompile(`^[A-Za-z0-9\-_.!~*'()]+(:[A-Za-z0-9\-_.!~*'()]+)*$`)

var setSpecSeeds = []string{"", "a", "a:b", ":a", "a:", "a::b", "source:uni-a.example", "type:dataset", "x y", "a:b:c", "é", "(~*'!)", "a/b", "A_Z-0.9"}

// ValidSetSpec answers as the OAI-PMH setSpec pattern does.
func TestValidSetSpec(t *testing.T) {
	for _, v := range setSpecSeeds {
		checkSetSpec(t, v)
	}
}

func FuzzValidSetSpec(f *testing.F) {
	for _, v := range setSpecSeeds {
		f.Add(v)
	}
	f.Fuzz(checkSetSpec)
}

func checkSetSpec(t *testing.T, v string) {
	if got, want := ValidSetSpec(v), setSpecPattern.MatchString(v); got != want {
		t.Errorf("ValidSetSpec(%q) = %v, the pattern says %v", v, got, want)
	}
}
