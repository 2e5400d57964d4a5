package store

import "testing"

func TestNormalizeIdentifier(t *testing.T) {
	tests := []struct {
		scheme, value string
		want          Identifier
		ok            bool
	}{
		{"doi", "10.1234/ABC", Identifier{"doi", "10.1234/abc"}, true},
		{"", "https://doi.org/10.1234/abc", Identifier{"doi", "10.1234/abc"}, true},
		{"DOI", "doi:10.1234/AbC", Identifier{"doi", "10.1234/abc"}, true},
		{"", "http://dx.doi.org/10.5281/zenodo.123", Identifier{"doi", "10.5281/zenodo.123"}, true},
		{"doi", "not-a-doi", Identifier{"doi", "not-a-doi"}, false},
		{"", "https://hdl.handle.net/1721.1/12345", Identifier{"handle", "1721.1/12345"}, true},
		{"handle", "hdl:1721.1/12345", Identifier{"handle", "1721.1/12345"}, true},
		{"", "arXiv:2101.00001v2", Identifier{"arxiv", "2101.00001v2"}, true},
		{"isbn", "978-3-16-148410-0", Identifier{"isbn", "9783161484100"}, true},
		{"isbn", "978-3-16-148410-1", Identifier{"isbn", "978-3-16-148410-1"}, false},
		{"issn", "0317-8471", Identifier{"issn", "0317-8471"}, true},
		{"", "https://example.org/x", Identifier{"url", "https://example.org/x"}, true},
		{"", "URN:NBN:de:101-1", Identifier{"urn", "urn:nbn:de:101-1"}, true},
		{"", "gov.noaa.nodc:0002316", Identifier{"local", "gov.noaa.nodc:0002316"}, true},
	}
	for _, tc := range tests {
		got, ok := NormalizeIdentifier(tc.scheme, tc.value)
		if got != tc.want || ok != tc.ok {
			t.Errorf("NormalizeIdentifier(%q, %q) = %v, %v; want %v, %v", tc.scheme, tc.value, got, ok, tc.want, tc.ok)
		}
	}
}

func TestNormalizeORCIDAndLicense(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"0000-0002-1825-0097", "0000-0002-1825-0097", true},
		{"https://orcid.org/0000-0002-1825-0097", "0000-0002-1825-0097", true},
		{"000000021825009X", "0000-0002-1825-009X", false},
		{"0000-0003-1522-494X", "0000-0003-1522-494X", true},
	} {
		if got, ok := NormalizeORCID(tc.in); got != tc.want || ok != tc.ok {
			t.Errorf("NormalizeORCID(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	for _, tc := range []struct{ in, uri, spdx string }{
		{"https://creativecommons.org/licenses/by/4.0/", "https://creativecommons.org/licenses/by/4.0/", "CC-BY-4.0"},
		{"http://creativecommons.org/licenses/by/4.0/legalcode", "https://creativecommons.org/licenses/by/4.0/", "CC-BY-4.0"},
		{"CC0-1.0", "https://creativecommons.org/publicdomain/zero/1.0/", "CC0-1.0"},
		{"https://opensource.org/licenses/MIT", "https://opensource.org/licenses/MIT", "MIT"},
		{"https://example.org/licence", "https://example.org/licence", ""},
	} {
		uri, spdx, ok := NormalizeLicense(tc.in)
		if !ok || uri != tc.uri || spdx != tc.spdx {
			t.Errorf("NormalizeLicense(%q) = %q, %q, %v; want %q, %q", tc.in, uri, spdx, ok, tc.uri, tc.spdx)
		}
	}
}

func TestValidators(t *testing.T) {
	for s, want := range map[string]bool{"2021": true, "2021-03": true, "2021-03-04": true, "2021-13": false, "2021-00-01": false, "2021-03-32": false, "21": false, "2021-3-4": false} {
		if validDate(s) != want {
			t.Errorf("validDate(%q) = %v", s, !want)
		}
	}
	for s, want := range map[string]bool{"en": true, "pt-br": true, "zh-hant-tw": true, "e": false, "english": false, "en-": false, "EN": false, "de-1996": true} {
		if validLangTag(s) != want {
			t.Errorf("validLangTag(%q) = %v", s, !want)
		}
	}
	for s, want := range map[string]bool{"a": true, "glacier-2020": true, "a~b.c_d": true, ".": false, "..": false, "a b": false, "": false} {
		if ValidID(s) != want {
			t.Errorf("ValidID(%q) = %v", s, !want)
		}
	}
	if got := CleanText("Cafe\u0301"); got != "Café" {
		t.Errorf("CleanText does not compose to NFC: %q", got)
	}
	if got := CleanText(" x\x00y "); got != "xy" {
		t.Errorf("CleanText(control) = %q", got)
	}
}
