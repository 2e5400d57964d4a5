package vocab

import (
	"bytes"
	"embed"
	"fmt"
)

//go:embed builtin/*.nt
var builtinFiles embed.FS

// Builtin describes a scheme every node holds.
type Builtin struct {
	ID    string
	Field string
	file  string
}

// Builtins are the schemes shipped with Colligo (attribution in
// builtin/README.md).
var Builtins = []Builtin{
	{ID: "coar-resource-types", Field: FieldType, file: "builtin/coar-resource-types-3.2.nt"},
	{ID: "coar-access-rights", Field: FieldAccessRights, file: "builtin/coar-access-rights-1.1.nt"},
}

// Load parses the built-in scheme.
func (b Builtin) Load() (*Scheme, error) {
	data, err := builtinFiles.ReadFile(b.file)
	if err != nil {
		return nil, fmt.Errorf("vocab: built-in %s: %w", b.ID, err)
	}
	return Parse(bytes.NewReader(data), NTriples, b.ID, b.Field)
}
