/*
 * cxl-cram engine: write-back cache of uncompressed hot pages
 *
 * Guests reach CXL memory a few bytes at a time; the cache keeps the pages
 * they work on uncompressed.  A page that turns dirty is charged one media
 * page (its worst case) through an engine reservation, so the figures stay
 * conservative, and a worker compresses dirty pages off the caller's
 * thread.  The worker's stores cannot fail: they use the reservation.  A
 * dirty page that cannot get a reservation is stored at once by the
 * caller; a store that finds no media poisons the page (or leaves its
 * stored content as it was: cram_cache_drop_keeps()), and the caller
 * takes such pages from cram_cache_take().
 *
 * The cache has no lock and no thread of its own: cram-store.c owns both,
 * and makes every call here, the worker's included, under its lock.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef CRAM_CACHE_H
#define CRAM_CACHE_H

#include "cram-engine.h"
#include "cram-encode.h"
#include "cram-map.h"
#include <time.h>

typedef struct CramCache CramCache;

/* CLOCK_MONOTONIC in ns: the fault path's phases (CramCacheStats) */
static inline uint64_t cram_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

/* A page the worker took to compress (cram_cache_worker_take()) */
typedef struct CramCacheTicket {
    uint32_t idx;
    uint32_t gen;
    uint64_t page;
} CramCacheTicket;

typedef struct CramCacheStats {
    uint64_t hits;
    uint64_t misses;
    uint64_t sync_writebacks;   /* stored by the caller */
    uint64_t async_writebacks;  /* stored by the worker */
    uint64_t cached;            /* pages in the cache */
    uint64_t dirty;             /* of which dirty */
    uint64_t faults;            /* mapped: cram_cache_fault() calls */
    uint64_t faults_poisoned;   /* of which on a poisoned page */
    uint64_t faults_uncharged;  /* writes no worst case could be charged */
    /*
     * Mapped: the read faults that loaded their page (read misses served
     * by the fault thread; a write miss's cost depends on its charge and
     * is not timed) and, summed over them, nanoseconds (CLOCK_MONOTONIC)
     * spent waiting for the store's lock (cram_cache_fault_waited()),
     * evicting a victim (its write-back included), loading the page from
     * the engine (decompression), and filling the mapping (UFFDIO_COPY,
     * which wakes the faulting thread).
     */
    uint64_t fault_misses;
    uint64_t fault_lock_ns;
    uint64_t fault_evict_ns;
    uint64_t fault_load_ns;
    uint64_t fault_fill_ns;
    /*
     * Mapped: cram_cache_prefill() calls, those that loaded their page,
     * and the nanoseconds these took from the caller's request (the
     * lock's wait, eviction, decompression and fill).
     */
    uint64_t prefills;
    uint64_t prefill_misses;
    uint64_t prefill_ns;
    /*
     * Mapped: first writes to clean pages that their writer announced
     * (cram_cache_tlb_write()) and the cache charged then, instead of
     * taking a write-protect fault.
     */
    uint64_t tlb_writes;
} CramCacheStats;

/*
 * @pages >= 1.  With @pages == 1 and no worker the cache is the exact,
 * synchronous one-page write-combining buffer: no reservation is taken
 * and the page is stored when the caller moves to another page.  A page
 * whose store finds no media is poisoned with @drop_tag.  With @map
 * (not the one-page buffer), pages live in place there (cram-cache.c).
 * NULL, with @errp set, when the page buffers cannot be mapped.
 */
CramCache *cram_cache_new(CramEngine *e, size_t pages, bool worker,
                          unsigned drop_tag, CramMap *map, GError **errp);
/*
 * Give a cache with a worker, not mapped, @pages page buffers: its dirty
 * pages are stored, every entry dropped (the pages read from the engine
 * again), its counters and pages to take kept.  False, with @errp set and
 * nothing changed, when the new buffers cannot be mapped.  The worker
 * must hold no page (cram-store.c waits for it).
 */
bool cram_cache_resize(CramCache *c, size_t pages, GError **errp);
/* Writes every dirty page back and frees the cache (the worker is gone). */
void cram_cache_free(CramCache *c);

/*
 * Copy @len bytes at @off of @page (within the page).  A read of bytes
 * that are poisoned returns all-ones and true.
 */
bool cram_cache_read(CramCache *c, uint64_t page, unsigned off, void *dst,
                     unsigned len);
void cram_cache_write(CramCache *c, uint64_t page, unsigned off,
                      const void *src, unsigned len);

/*
 * Mapped: resolve a fault on @page (cram_map_wait_fault()).  A write to
 * a page that no worst case can be charged for (media is short) is let
 * through uncharged, counted in faults_uncharged; its store, when the
 * page leaves the cache or is flushed, may then drop it.  The caller
 * keeps direct access away from poisoned pages (faults_poisoned counts
 * those that came anyway: they read all-ones, without poison).  True
 * when a read loaded the page (a read miss), its phases timed into the
 * stats.
 */
bool cram_cache_fault(CramCache *c, uint64_t page, bool write);
/*
 * The read miss that cram_cache_fault() just served (it returned true)
 * had waited @ns for the lock: add them to fault_lock_ns.
 */
void cram_cache_fault_waited(CramCache *c, uint64_t ns);
/*
 * Mapped: @page is about to be reached through the mapping by an
 * accessor that said so first (cram_store_prefill(), asked since
 * @t0_ns): load it and fill its mapped page, write-protected, if it is
 * not cached, as a read fault would, so that the access does not fault;
 * a cached page only becomes the most recently used.  True when it was
 * loaded (counted in prefill_misses, timed from @t0_ns in prefill_ns).
 * *@clean says whether the page is write-protected now: its next write
 * must be charged first.
 */
bool cram_cache_prefill(CramCache *c, uint64_t page, uint64_t t0_ns,
                        bool *clean);
/*
 * Mapped: a direct write to @page is about to land and its writer says
 * so first (a TCG store through a TLB entry filled while the page was
 * clean): charge and dirty it, and lift its write protection, as the
 * write-protect fault would, but without the fault.  A page not cached
 * is left alone: its write faults.  False then.
 */
bool cram_cache_tlb_write(CramCache *c, uint64_t page);

/* Store every dirty page now, on the caller's thread. */
void cram_cache_flush(CramCache *c);

/*
 * What a page whose store finds no media becomes: poisoned with
 * @drop_tag (@keeps false, the default), or, with @keeps, what it was:
 * its stored content (zero if it had none) stays, and so does its
 * poison if it was poisoned.  Either way the new content is lost and its
 * cache entry goes, mapped page included, so that every reader sees the
 * engine's.
 */
void cram_cache_drop_keeps(CramCache *c, bool keeps);

/* Forget pages [first, first + n) without storing them. */
void cram_cache_invalidate(CramCache *c, uint64_t first, uint64_t n);
void cram_cache_invalidate_all(CramCache *c);

/*
 * Changes whenever the engine's media accounting may have changed
 * (reservation, store); cheap to poll without the lock.
 */
unsigned cram_cache_media_gen(CramCache *c);

/* True when the cache is the synchronous one-page buffer. */
bool cram_cache_is_one_page(CramCache *c);

void cram_cache_get_stats(CramCache *c, CramCacheStats *st);

/*
 * What the calls since the last take did, in order, for the caller to act
 * on after them: a page whose store found no media (its new content lost,
 * the page poisoned, or with cram_cache_drop_keeps() its stored content
 * kept); and, while cram_cache_trace() is on, each miss (a page
 * loaded from the engine) and each write-back, by the caller or by the
 * worker.
 */
typedef enum CramCacheEvent {
    CRAM_CACHE_DROPPED,
    CRAM_CACHE_DROPPED_KEPT,
    CRAM_CACHE_MISS,
    CRAM_CACHE_WRITEBACK_SYNC,
    CRAM_CACHE_WRITEBACK_ASYNC,
} CramCacheEvent;

typedef struct CramCacheTaken {
    uint64_t page;
    CramCacheEvent ev;
} CramCacheTaken;

static inline bool cram_cache_event_is_drop(CramCacheEvent ev)
{
    return ev == CRAM_CACHE_DROPPED || ev == CRAM_CACHE_DROPPED_KEPT;
}

/* False when nothing is left to take */
bool cram_cache_take(CramCache *c, CramCacheTaken *t);
bool cram_cache_has_taken(CramCache *c);
void cram_cache_trace(CramCache *c, bool on);

/* True, once, when the worker has work since the last call. */
bool cram_cache_take_wake(CramCache *c);

/*
 * The worker's side.  Take the next dirty page worth compressing, a copy
 * in @buf (CRAM_PAGE_SIZE bytes); false when there is none (the worker
 * sleeps until cram_cache_take_wake()).  Then, having encoded the copy
 * outside the lock, commit it: stored (true) unless the page was written
 * or dropped meanwhile.
 */
bool cram_cache_worker_take(CramCache *c, CramCacheTicket *t, void *buf);
bool cram_cache_worker_commit(CramCache *c, const CramCacheTicket *t,
                              const void *buf, const CramEncoded *enc);

#endif /* CRAM_CACHE_H */
