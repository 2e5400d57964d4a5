// Package jsonstr appends strings as JSON string literals, escaped exactly
// as encoding/json escapes them.
package jsonstr
