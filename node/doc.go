// Package node wires a Colligo node together: configuration, the store,
// the HTTP server with the record API, and the components that serve and
// feed the store. It starts them in dependency order and stops them in
// reverse.
package node
