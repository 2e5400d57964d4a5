package crosswalk

import (
	"strings"

	"github.com/colligo/colligo/store"
)

// Kind is a coarse resource type that every output format can express: a
// schema.org class, a DataCite resourceTypeGeneral, a CSL type, a BibTeX
// entry type.
type Kind int

// Kinds of resources.
const (
	Other Kind = iota
	Article
	Preprint
	ConferencePaper
	Book
	BookChapter
	Thesis
	Report
	Dataset
	Software
	Image
	Video
	Audio
	Collection
	Text
)

var kindNames = [...]string{"Other", "Article", "Preprint", "ConferencePaper", "Book", "BookChapter", "Thesis", "Report", "Dataset", "Software", "Image", "Video", "Audio", "Collection", "Text"}

func (k Kind) String() string { return kindNames[k] }

// coarKinds maps COAR resource type concept ids (the last URI segment) to
// kinds, from COAR Resource Types 3.2.
var coarKinds = map[string]Kind{
	"c_6501": Article, "c_2df8fbb1": Article, "c_dcae04bc": Article, "c_beb9": Article, "c_545b": Article, "c_b239": Article,
	"c_816b": Preprint, "c_71bd": Preprint,
	"c_5794": ConferencePaper, "c_c94f": ConferencePaper, "c_f744": ConferencePaper, "c_6670": ConferencePaper,
	"c_2f33": Book, "c_86bc": Book, "c_3248": BookChapter,
	"c_46ec": Thesis, "c_db06": Thesis, "c_bdcc": Thesis, "c_7a1f": Thesis,
	"c_93fc": Report, "c_18ws": Report, "c_18gh": Report, "c_8042": Report, "c_186u": Report, "c_18op": Report, "c_18hj": Report, "c_baaf": Report, "c_ba1f": Report,
	"c_ddb1": Dataset, "c_6c0": Dataset,
	"c_5ce6": Software, "c_c950": Software, "c_e9a0": Software, "c_7bab": Software,
	"c_c513": Image, "c_ecc8": Image, "c_12cc": Image,
	"c_12ce": Video, "c_8a7e": Video,
	"c_18cc": Audio,
	"c_18cf": Text, "c_18cw": Text,
}

// ClassifyType returns the kind of a record from its type concept URI (COAR
// resource types) or, failing that, its type text in English, German,
// French or Spanish, or as an info:eu-repo/semantics term.
func ClassifyType(typeText, typeURI string) Kind {
	if typeURI != "" {
		id := typeURI[strings.LastIndexAny(typeURI, "/#")+1:]
		if k, ok := coarKinds[id]; ok {
			return k
		}
	}
	t := strings.ToLower(strings.TrimSpace(typeText))
	t = strings.TrimPrefix(t, "info:eu-repo/semantics/")
	if t == "" {
		return Other
	}
	for _, rule := range typeRules {
		for _, w := range rule.words {
			if strings.Contains(t, w) {
				return rule.kind
			}
		}
	}
	return Other
}

// typeRules are checked in order: the more specific words first.
var typeRules = []struct {
	kind  Kind
	words []string
}{
	{Preprint, []string{"preprint", "submittedversion", "working paper", "workingpaper"}},
	{ConferencePaper, []string{"conference", "proceeding", "konferenz", "congrès", "congreso", "conferenceobject"}},
	{BookChapter, []string{"chapter", "bookpart", "book part", "kapitel", "chapitre", "capítulo", "part of book"}},
	{Thesis, []string{"thesis", "dissertation", "doctoral", "master", "bachelor", "these", "thèse", "tesis", "tese", "abschlussarbeit", "hochschulschrift"}},
	{Dataset, []string{"dataset", "data set", "datensatz", "données", "datos", "conjunto de datos", "data"}},
	{Software, []string{"software", "code", "computer program", "logiciel"}},
	{Article, []string{"article", "artikel", "artículo", "artigo", "paper", "contribution to journal", "journal"}},
	{Book, []string{"book", "buch", "livre", "libro", "monograph", "monografie"}},
	{Report, []string{"report", "bericht", "rapport", "informe", "technical", "deliverable"}},
	{Video, []string{"video", "film", "moving image", "movingimage", "audiovisual"}},
	{Audio, []string{"sound", "audio", "podcast"}},
	{Image, []string{"image", "photo", "picture", "figure", "bild", "poster", "stillimage", "still image"}},
	{Collection, []string{"collection", "sammlung"}},
	{Text, []string{"text", "lecture", "presentation", "review", "other"}},
}

// KindOf returns the kind of a record's metadata.
func KindOf(m *store.Metadata) Kind { return ClassifyType(m.Type, m.TypeURI) }
