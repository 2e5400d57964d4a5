//go:build cgo && linux

package store

/*
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

// Pebble allocates its block cache and memtables with C malloc. glibc gives
// each thread that calls malloc its own arena, up to 8 per core, and memory
// freed in one arena is only reused by the threads attached to that arena;
// Go runs goroutines on any thread and, with cgo, every thread it starts
// calls malloc (for its stack bounds) and so takes an arena. A cache that
// churns, as when a harvest reads every record once through a cache
// smaller than the store, then leaves free chunks stranded in every arena.
// At 1,000,000 records a full ListRecords harvest left the server at
// 460-560 MiB resident for a 256 MiB cache with glibc's default arenas,
// 452 MiB with two arenas and 326 MiB with one.
//
// So this caps glibc at one arena, the main one. It must run before the Go
// runtime starts its threads, which take their arenas at once: mallopt from
// Go, even at the start of main, comes too late. Hence a constructor,
// which the dynamic loader runs before the Go runtime starts. An
// operator's MALLOC_ARENA_MAX or GLIBC_TUNABLES setting wins. One arena
// costs a lock that two cores rarely contend for: Pebble calls malloc once
// per block read from disk. Elsewhere than glibc (musl) it does nothing.
__attribute__((constructor)) static void colligo_store_malloc_arenas(void) {
#ifdef M_ARENA_MAX
	const char *tunables = getenv("GLIBC_TUNABLES");
	if (getenv("MALLOC_ARENA_MAX") != NULL || (tunables != NULL && strstr(tunables, "arena_max") != NULL)) {
		return;
	}
	mallopt(M_ARENA_MAX, 1);
#endif
}
*/
import "C"
