// jemalloc's settings for the daemon, read by jemalloc when it starts
// (MALLOC_CONF in the environment still overrides them).
//
// A scrape or an /api/v1/slis read builds and frees tens of MiB at once; by
// default jemalloc keeps freed pages for 10 s in each of 8 arenas, which
// held ~60 MiB of RSS after reads at 1M investigations. Two arenas and a
// background thread that returns free pages after 1 s keep the daemon's RSS
// close to what it holds live (BENCHMARKS.md "Allocator").
extern "C" {
// NOLINTNEXTLINE: the name and type are jemalloc's
const char* malloc_conf = "narenas:2,background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0";
}
