/*
 * cxl-cram engine: write-back cache of uncompressed hot pages
 *
 * Guests reach CXL memory a few bytes at a time; the cache keeps the pages
 * they work on uncompressed.  A page that turns dirty is charged one media
 * page (its worst case) through an engine reservation, so the figures stay
 * conservative, and an optional worker thread compresses dirty pages off
 * the caller's thread.  The worker's stores cannot fail: they use the
 * reservation.  A dirty page that cannot get a reservation is stored at
 * once by the caller, which learns of a refused store through the
 * dropped() callback.
 *
 * Every call, and every engine call made while a worker runs, must hold
 * cram_cache_lock() or be a cram_cache_* call (they lock themselves).
 * Callbacks run on the caller's thread, never on the worker.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef CRAM_CACHE_H
#define CRAM_CACHE_H

#include "cram-engine.h"

typedef struct CramCache CramCache;

typedef struct CramCacheOps {
    /* A store of @page found no media: its new content is lost. */
    void (*dropped)(void *opaque, uint64_t page);
    /* A poisoned @page was rewritten whole and stored. */
    void (*healed)(void *opaque, uint64_t page);
    /*
     * The worker stored a page (media use changed).  Runs on the worker
     * thread, without the lock: only schedule work from here.
     */
    void (*worker_stored)(void *opaque);
} CramCacheOps;

typedef struct CramCacheStats {
    uint64_t hits;
    uint64_t misses;
    uint64_t sync_writebacks;   /* stored by the caller */
    uint64_t async_writebacks;  /* stored by the worker */
    uint64_t cached;            /* pages in the cache */
    uint64_t dirty;             /* of which dirty */
} CramCacheStats;

/*
 * @pages >= 1.  With @pages == 1 and no worker the cache is the exact,
 * synchronous one-page write-combining buffer: no reservation is taken
 * and the page is stored when the caller moves to another page.  NULL,
 * with @errp set, when the page buffers cannot be mapped.
 */
CramCache *cram_cache_new(CramEngine *e, size_t pages, bool worker,
                          const CramCacheOps *ops, void *opaque,
                          GError **errp);
/*
 * Stops the worker, writes every dirty page back without calling the
 * callbacks any more, and frees the cache.
 */
void cram_cache_free(CramCache *c);

/*
 * Copy @len bytes at @off of @page (within the page).  A read of bytes
 * that are poisoned returns all-ones and true.
 */
bool cram_cache_read(CramCache *c, uint64_t page, unsigned off, void *dst,
                     unsigned len);
void cram_cache_write(CramCache *c, uint64_t page, unsigned off,
                      const void *src, unsigned len);

/* Store every dirty page now, on the caller's thread. */
void cram_cache_flush(CramCache *c);

/* Forget pages [first, first + n) without storing them. */
void cram_cache_invalidate(CramCache *c, uint64_t first, uint64_t n);
void cram_cache_invalidate_all(CramCache *c);

/*
 * Changes whenever the engine's media accounting may have changed
 * (reservation, store); cheap to poll without the lock.
 */
unsigned cram_cache_media_gen(CramCache *c);

/* True when the cache is the synchronous one-page buffer. */
bool cram_cache_is_sync(CramCache *c);

void cram_cache_get_stats(CramCache *c, CramCacheStats *st);

void cram_cache_lock(CramCache *c);
void cram_cache_unlock(CramCache *c);

#endif /* CRAM_CACHE_H */
