package store

import (
	"strings"
)

// licenses maps canonical licence URIs to SPDX identifiers. Creative Commons
// URIs are matched after canonicalisation (https, trailing slash, no
// "legalcode" or language suffix), so the many spellings repositories use
// all reach the same entry.
var licenses = func() map[string]string {
	m := map[string]string{
		"https://creativecommons.org/publicdomain/zero/1.0/":      "CC0-1.0",
		"https://creativecommons.org/publicdomain/mark/1.0/":      "CC-PDDC",
		"https://opensource.org/licenses/MIT":                     "MIT",
		"https://opensource.org/licenses/Apache-2.0":              "Apache-2.0",
		"https://www.apache.org/licenses/LICENSE-2.0":             "Apache-2.0",
		"https://opensource.org/licenses/BSD-3-Clause":            "BSD-3-Clause",
		"https://opensource.org/licenses/BSD-2-Clause":            "BSD-2-Clause",
		"https://www.gnu.org/licenses/gpl-3.0.html":               "GPL-3.0-only",
		"https://www.gnu.org/licenses/gpl-2.0.html":               "GPL-2.0-only",
		"https://www.gnu.org/licenses/lgpl-3.0.html":              "LGPL-3.0-only",
		"https://www.gnu.org/licenses/agpl-3.0.html":              "AGPL-3.0-only",
		"https://www.mozilla.org/en-US/MPL/2.0/":                  "MPL-2.0",
		"https://opendatacommons.org/licenses/odbl/1-0/":          "ODbL-1.0",
		"https://opendatacommons.org/licenses/by/1-0/":            "ODC-By-1.0",
		"https://opendatacommons.org/licenses/pddl/1-0/":          "PDDL-1.0",
		"https://www.etalab.gouv.fr/licence-ouverte-open-licence": "etalab-2.0",
	}
	for _, kind := range []string{"by", "by-sa", "by-nd", "by-nc", "by-nc-sa", "by-nc-nd"} {
		for _, v := range []string{"1.0", "2.0", "2.5", "3.0", "4.0"} {
			if v == "1.0" && (kind == "by-nc-nd" || kind == "by-nc-sa") {
				continue
			}
			m["https://creativecommons.org/licenses/"+kind+"/"+v+"/"] = "CC-" + strings.ToUpper(kind) + "-" + v
		}
	}
	return m
}()

// spdxToURI is the inverse of licenses, preferring the first-listed URI.
var spdxToURI = func() map[string]string {
	m := make(map[string]string, len(licenses))
	for uri, id := range licenses {
		if old, ok := m[strings.ToLower(id)]; !ok || len(uri) < len(old) {
			m[strings.ToLower(id)] = uri
		}
	}
	return m
}()

// NormalizeLicense canonicalises a licence given as a URI or as an SPDX id.
// It returns the licence URI, the SPDX id when one is known, and false when
// the input is neither an absolute URI nor a known SPDX id.
func NormalizeLicense(s string) (uri, spdx string, ok bool) {
	s = strings.TrimSpace(s)
	if u, found := spdxToURI[strings.ToLower(s)]; found {
		return u, licenses[u], true
	}
	if u, found := spdxToURI[strings.ToLower(strings.TrimPrefix(strings.TrimPrefix(s, "info:eu-repo/semantics/"), "spdx:"))]; found {
		return u, licenses[u], true
	}
	if !isAbsoluteURI(s) {
		return s, "", false
	}
	c := canonicalLicenseURI(s)
	if id, found := licenses[c]; found {
		return c, id, true
	}
	return s, "", true
}

// canonicalLicenseURI rewrites the spellings of Creative Commons URIs seen
// in real metadata (http, no trailing slash, /legalcode, /deed.de) to the
// canonical https form with a trailing slash.
func canonicalLicenseURI(s string) string {
	l := strings.ToLower(s)
	for _, p := range []string{"http://", "https://"} {
		if rest, ok := strings.CutPrefix(l, p); ok {
			rest = strings.TrimPrefix(rest, "www.")
			if strings.HasPrefix(rest, "creativecommons.org/") {
				rest = strings.TrimSuffix(rest, "/")
				if i := strings.LastIndex(rest, "/"); i > 0 {
					last := rest[i+1:]
					if last == "legalcode" || strings.HasPrefix(last, "deed") || strings.HasPrefix(last, "legalcode.") {
						rest = rest[:i]
					}
				}
				return "https://" + rest + "/"
			}
			if strings.HasPrefix(rest, "opensource.org/licenses/") {
				name := strings.TrimSuffix(s[len(p):], "/")
				name = name[strings.LastIndex(name, "/")+1:]
				name = strings.TrimSuffix(name, ".php")
				for uri := range licenses {
					if strings.EqualFold(uri, "https://opensource.org/licenses/"+name) {
						return uri
					}
				}
			}
		}
	}
	return s
}
