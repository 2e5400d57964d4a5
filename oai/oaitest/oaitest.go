// Package oaitest helps tests check OAI-PMH output against the official
// OAI-PMH 2.0 schemas (copied into xsd/ from the project's shared schemas,
// origin and licences in xsd/README.md) with xmllint, and against the rules
// of the protocol that the schemas let through.
package oaitest

import (
	"bytes"
	"embed"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
)

//go:embed xsd/*.xsd
var schemas embed.FS

var (
	dirOnce sync.Once
	dir     string
	dirErr  error
)

// schemaDir writes the schemas to a temporary directory once per process.
func schemaDir() (string, error) {
	dirOnce.Do(func() {
		dir, dirErr = os.MkdirTemp("", "colligo-oai-xsd")
		if dirErr != nil {
			return
		}
		ents, err := schemas.ReadDir("xsd")
		if err != nil {
			dirErr = err
			return
		}
		for _, e := range ents {
			b, err := schemas.ReadFile("xsd/" + e.Name())
			if err != nil {
				dirErr = err
				return
			}
			if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
				dirErr = err
				return
			}
		}
	})
	return dir, dirErr
}

// Validate fails the test unless doc validates against the OAI-PMH schemas
// (all.xsd: the protocol plus oai_dc, provenance, oai-identifier, friends,
// branding, eprints, rights and DataCite's OAI wrapper oai_datacite).
// Without xmllint the test is skipped, unless COLLIGO_REQUIRE_XMLLINT is set
// (CI sets it), when it fails.
func Validate(t testing.TB, doc []byte) {
	t.Helper()
	validate(t, doc, "all.xsd")
}

// ValidateLaxMetadata is Validate for responses that carry metadata in a
// format with no schema here (an original payload served as received, in
// marcxml or arXiv's format): the content of <metadata> is validated when
// its namespace has a schema here and accepted otherwise; everything else
// is validated as Validate does.
func ValidateLaxMetadata(t testing.TB, doc []byte) {
	t.Helper()
	validate(t, doc, "all-laxmetadata.xsd")
}

func validate(t testing.TB, doc []byte, schema string) {
	t.Helper()
	if err := validateErr(doc, schema); err != nil {
		if err == errNoXMLLint {
			if os.Getenv("COLLIGO_REQUIRE_XMLLINT") != "" {
				t.Fatal("xmllint is required (apt-get install libxml2-utils)")
			}
			t.Skip("xmllint not installed")
		}
		t.Fatalf("response does not validate against the OAI-PMH schemas: %v\n%s", err, clip(doc))
	}
}

var errNoXMLLint = &validationError{"xmllint not found"}

type validationError struct{ msg string }

func (e *validationError) Error() string { return e.msg }

// ValidateErr validates doc and returns xmllint's complaint, if any.
func ValidateErr(doc []byte) error { return validateErr(doc, "all.xsd") }

func validateErr(doc []byte, schema string) error {
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		return errNoXMLLint
	}
	d, err := schemaDir()
	if err != nil {
		return err
	}
	cmd := exec.Command(xmllint, "--noout", "--nonet", "--schema", filepath.Join(d, schema), "-")
	cmd.Stdin = bytes.NewReader(doc)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return &validationError{string(out)}
	}
	return nil
}

var (
	datestampRe = regexp.MustCompile(`<(datestamp|earliestDatestamp|responseDate)>([^<]*)</`)
	fromUntilRe = regexp.MustCompile(` (from|until|expirationDate)="([^"]*)"`)
	secondsRe   = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$`)
	dayRe       = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
)

// CheckDates fails the test when a datestamp, earliestDatestamp,
// responseDate, from, until or expirationDate is not in one of the two forms
// OAI-PMH allows (YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ), which the schemas do
// not check (they accept fractions of seconds and offsets). responseDate and
// expirationDate must be at seconds granularity.
func CheckDates(t testing.TB, doc []byte) {
	t.Helper()
	for _, m := range datestampRe.FindAllSubmatch(doc, -1) {
		v := string(m[2])
		if !secondsRe.MatchString(v) && (string(m[1]) == "responseDate" || !dayRe.MatchString(v)) {
			t.Errorf("<%s>%s</%s> is not an OAI-PMH UTC datestamp", m[1], v, m[1])
		}
	}
	for _, m := range fromUntilRe.FindAllSubmatch(doc, -1) {
		v := string(m[2])
		if !secondsRe.MatchString(v) && (string(m[1]) == "expirationDate" || !dayRe.MatchString(v)) {
			t.Errorf("%s=%q is not an OAI-PMH UTC datestamp", m[1], v)
		}
	}
}

func clip(b []byte) []byte {
	if len(b) > 4000 {
		return append(b[:4000:4000], "..."...)
	}
	return b
}
