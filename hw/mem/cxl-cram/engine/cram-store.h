/*
 * cxl-cram engine: the store, one owner of the engine, its page cache,
 * their lock and the cache's worker
 *
 * Every call takes the store's lock itself; none calls back into its
 * caller (only the worker's loop calls cfg->worker_stored, without the
 * lock).  What a call did that the caller must act on (a write dropped
 * for want of media, media use changed) it leaves for the caller to take
 * afterwards, without the lock:
 * cram_store_take(), cram_store_media_gen().  The worker runs where its
 * caller puts it (cram_store_worker_run() on a thread of the caller's
 * making).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef CRAM_STORE_H
#define CRAM_STORE_H

#include "cram-engine.h"
#include "cram-cache.h"
#include "cram-export.h"

typedef struct CramStore CramStore;

typedef struct CramStoreConfig {
    size_t cache_pages;         /* >= 1 */
    bool worker;                /* compress dirty pages on a worker */
    unsigned drop_tag;          /* poison tag of a dropped write's page */
    /*
     * The worker stored a page: media use fell, or, with @rose, the object
     * took more than the page it had reserved (the allocator avoids it).
     * Runs on the worker's thread, without the lock.  Optional.
     */
    void (*worker_stored)(void *opaque, bool rose);
    /*
     * Mapped: the cached pages live in place in a mapping of the whole
     * capacity (cram_store_map()), which others may reach directly: their
     * faults are served by cram_store_fault_run().  Needs the worker.
     */
    bool mapped;
    /*
     * A fault was served and media use changed, or something was left to
     * take.  Runs on the fault thread, without the lock.  Optional.
     */
    void (*faulted)(void *opaque);
    void *opaque;
} CramStoreConfig;

/* Takes @e over (it is freed with the store); NULL with @errp set. */
CramStore *cram_store_new(CramEngine *e, const CramStoreConfig *cfg,
                          GError **errp);
/*
 * Writes the cached pages back and frees everything.  A worker must have
 * returned from cram_store_worker_run() first, and the fault thread from
 * cram_store_fault_run().
 */
void cram_store_free(CramStore *s);

/*
 * The worker's loop: compresses dirty cached pages until
 * cram_store_worker_stop().  Only with cfg->worker.
 */
void cram_store_worker_run(CramStore *s);
void cram_store_worker_stop(CramStore *s);
/*
 * Pause the worker: once this returns it stores nothing (a page it had
 * in hand was committed first) until resumed; dirty pages stay cached
 * and reserved, and an eviction stores them on the caller's thread as
 * without a worker.  Resuming wakes it to look at its queue again.
 */
void cram_store_worker_pause(CramStore *s, bool paused);
bool cram_store_worker_paused(CramStore *s);

/*
 * Mapped: the capacity's mapping, whose resident pages read and write
 * at memory speed; its other pages fault, and cram_store_fault_run(),
 * on a thread of the caller's, serves those faults until
 * cram_store_fault_stop().  It must run before anyone touches the
 * mapping, and must never wait for a thread that does (the caller's own
 * calls may then block until it serves them).  NULL when not mapped.
 */
uint8_t *cram_store_map(CramStore *s);
void cram_store_fault_run(CramStore *s);
void cram_store_fault_stop(CramStore *s);
/*
 * Mapped: make @page present in the mapping now, on the caller's
 * thread, as the fault thread would on its first touch (loaded, and
 * write-protected until a write is charged): for an accessor that can
 * say which page it is about to reach (a vCPU's TLB fill), so that the
 * access does not fault.  True when it was loaded.  *@clean says
 * whether the page is write-protected (its next write must be charged:
 * cram_store_tlb_write()).  cfg->faulted is called as for a fault.
 */
bool cram_store_prefill(CramStore *s, uint64_t page, bool *clean);
/*
 * Mapped: a direct write to @page is about to land, and its writer says
 * so first (cram_cache_tlb_write()): charged now, it does not fault.
 * cfg->faulted is called as for a fault.
 */
void cram_store_tlb_write(CramStore *s, uint64_t page);

/*
 * Write @len bytes at byte address @addr from @buf, or read them into it,
 * across pages (cram_cache_write(), cram_cache_read()) under one hold of
 * the lock.  Bytes past the capacity decode nowhere: writes to them are
 * dropped and reads give all-ones.  A read of poisoned bytes returns
 * true, with the address of the first in @poison_addr (may be NULL).
 */
bool cram_store_access(CramStore *s, uint64_t addr, void *buf, size_t len,
                       bool write, uint64_t *poison_addr);

/* Store every cached dirty page now, on the caller's thread. */
void cram_store_flush(CramStore *s);
/* Flush if the cache is the one-page buffer: its figures are then exact */
void cram_store_exact_figures(CramStore *s);

/* Discard pages: zero, no media, no poison; work follows pages held. */
void cram_store_discard_ranges(CramStore *s, const CramRange *r,
                               unsigned nr);

/*
 * Zero @nr byte ranges inside the capacity as if each were zeroed in
 * turn: the pages they cover whole are discarded at once (one walk of
 * what is held, however large the ranges), then the other bytes written
 * with zeros, range by range, except in a page that a later range
 * discards whole (that discard would have come after them).
 */
void cram_store_zero_ranges(CramStore *s, const CramByteRange *r,
                            unsigned nr);

/* Hold @pages media pages out of use: cram_engine_take_media() */
bool cram_store_take_media(CramStore *s, uint64_t pages);
/*
 * What pages hold, bucket by bucket: cram_engine_census().  Cached dirty
 * pages not yet stored count as they were: cram_store_flush() first.
 */
void cram_store_census(CramStore *s, uint64_t from, uint64_t end,
                       uint64_t per, CramCensus *out);
/* Store [@from, @end) as @size-byte objects: cram_engine_store_as() */
void cram_store_store_as(CramStore *s, uint64_t from, uint64_t end,
                         uint32_t size);
/*
 * @pages page buffers from now on (cram_cache_resize(), once the worker
 * put its page down); refused for a mapped cache or one without worker.
 */
bool cram_store_resize_cache(CramStore *s, size_t pages, GError **errp);
/* New pages with @codec at @level: cram_engine_set_codec() */
bool cram_store_set_codec(CramStore *s, CramCodecId codec, int level,
                          GError **err);

/*
 * A write dropped for want of media poisons its page (@keeps false, the
 * default) or leaves it as it was: cram_cache_drop_keeps()
 */
void cram_store_drop_keeps(CramStore *s, bool keeps);

/* Discard every page (Sanitize): as cram_engine_discard_all() */
void cram_store_discard_all(CramStore *s);

/* Poison @page with @tag: its content is gone, reads take poison. */
void cram_store_poison(CramStore *s, uint64_t page, unsigned tag);
/* Discard @page if it is poisoned; true then. */
bool cram_store_unpoison(CramStore *s, uint64_t page);
/* cram_engine_poison_run(): runs of poisoned pages, in page order */
bool cram_store_poison_run(CramStore *s, uint64_t from, uint64_t end,
                           uint64_t *first, uint64_t *n, unsigned *tag);

/*
 * The figures as they stand (cram_store_exact_figures() first makes
 * them exact where the cache promises it); any may be NULL.
 */
void cram_store_get_stats(CramStore *s, CramStats *st, CramCacheStats *cs,
                          uint64_t *metadata_bytes);

/* Changes whenever media use may have changed; cheap, without the lock. */
unsigned cram_store_media_gen(CramStore *s);

/*
 * See cram_cache_take(), cram_cache_trace().  cram_store_has_taken() is
 * cheap and lock-free: true when there may be something to take.
 */
bool cram_store_has_taken(CramStore *s);
bool cram_store_take(CramStore *s, CramCacheTaken *t);
void cram_store_trace(CramStore *s, bool on);

/*
 * The whole store, page by page (cram-export.h), for migration.  Between
 * _begin and _end the caller holds the store's lock: it must make no
 * other call.  _begin flushes first and fills @st; the import empties
 * the cache and the engine.
 */
CramExport *cram_store_export_begin(CramStore *s, CramStats *st);
void cram_store_export_end(CramStore *s, CramExport *x);
CramImport *cram_store_import_begin(CramStore *s, unsigned max_tag,
                                    GError **errp);
/* After cram_import_finish() or cram_import_abort() */
void cram_store_import_end(CramStore *s);

#endif /* CRAM_STORE_H */
