// Package federation makes Colligo nodes a peer group: membership and
// failure detection with hashicorp/memberlist (SWIM gossip, optionally
// encrypted with an AES keyring, separated by a cluster label), each
// node's state (its own records' high-water mark and count, the
// vocabularies it holds) in push-pull exchanges and broadcasts, and a
// Syncer the node implements to harvest peers and fetch their
// vocabularies when they join or change.
package federation
