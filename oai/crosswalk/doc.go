// Package crosswalk maps between the record model and the XML metadata
// formats of OAI-PMH: Dublin Core in both directions (oai_dc), and the
// DataCite Metadata Schema 4.5 out. Writers are allocation-light append
// functions, because the provider renders oai_dc for every record at write
// time and readers serve those bytes as they are.
package crosswalk
