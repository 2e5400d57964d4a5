package search

import (
	"slices"
	"testing"
)

func TestTerms(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"Glaciers of the Alps", []string{"glacier", "of", "the", "alp"}},
		{"glacier", []string{"glacier"}},
		{"Müller Mueller", []string{"muller", "mueller"}},
		{"Ökologie ökologie OKOLOGIE", []string{"okologi", "okologi", "okologi"}},
		{"Élodie élodie Elodie", []string{"elodi", "elodi", "elodi"}},
		{"Straße Strasse", []string{"strass", "strass"}},
		{"Søren Øresund", []string{"soren", "oresund"}},
		{"Łódź", []string{"lodz"}},
		{"e\u0301te\u0301", []string{"ete"}}, // decomposed input
		{"modelling modeled models", []string{"model", "model", "model"}},
		{"high-resolution 2020", []string{"high", "resolut", "2020"}},
		{"10.5072/uni-a.17", []string{"10", "5072", "uni", "a", "17"}},
		{"O'Brien's data", []string{"o", "brien", "s", "data"}},
		{"气候变化 study", []string{"气", "候", "变", "化", "studi"}},
		{"  ", nil},
		{"Ωμέγα", []string{"ωμεγα"}},
	}
	for _, tc := range tests {
		if got := Terms(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("Terms(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestTermsLongToken(t *testing.T) {
	long := string(make([]byte, 0)) + "a"
	for len(long) < 200 {
		long += "b"
	}
	got := Terms(long)
	if len(got) != 1 || len(got[0]) > maxTokenBytes {
		t.Errorf("Terms(200 letters) = %q, want one term of at most %d bytes", got, maxTokenBytes)
	}
}

func BenchmarkTokenize(b *testing.B) {
	text := "We report alpine glacier temperature and sediment flow across 17 sites. We report semantic isotope and permafrost habitat across 120 sites. Ökologie der Gletscher."
	tk := newTokenizer()
	n := 0
	for b.Loop() {
		tk.each(text, func([]byte) { n++ })
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "tokens/s")
}
