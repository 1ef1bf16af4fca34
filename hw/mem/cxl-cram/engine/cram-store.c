/*
 * cxl-cram engine: the store, one owner of the engine, its page cache,
 * their lock and the cache's worker
 *
 * One plain mutex serialises the engine and the cache.  The worker takes
 * it to pick a page and to commit it, and sleeps on a condition of the
 * same mutex; a caller whose call gave the worker work signals it.  It is
 * a pthread mutex, the cheapest lock uncontended, and every guest access
 * takes it (docs/performance-device.md).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <pthread.h>
#include "cram-store.h"
#include "cram-error.h"

struct CramStore {
    pthread_mutex_t lock;
    CramEngine *e;
    CramCache *c;
    CramMap *map;               /* mapped: where the cached pages live */
    CramStoreConfig cfg;
    uint64_t capacity;          /* bytes */

    /* worker */
    pthread_cond_t wake;
    pthread_cond_t idle;        /* signalled when it puts a page down */
    bool stop;
    bool pending;               /* woken since it last looked */
    bool paused;                /* takes no page: cram_store_worker_pause() */
    bool busy;                  /* holds a page outside the lock */
    gint has_taken;             /* see cram_store_has_taken() */
    CramScratch *wscratch;
    uint64_t wgen;              /* the engine's codec_gen of wscratch */
    uint8_t *wbuf;
};

CramStore *cram_store_new(CramEngine *e, const CramStoreConfig *cfg,
                          GError **errp)
{
    CramStore *s;
    CramStats st;
    CramMap *map = NULL;
    CramCache *c;

    cram_engine_get_stats(e, &st);
    g_assert(!cfg->mapped || cfg->worker);
    if (cfg->mapped) {
        map = cram_map_new(st.capacity, errp);
    }
    c = cfg->mapped && !map ? NULL :
        cram_cache_new(e, cfg->cache_pages, cfg->worker, cfg->drop_tag, map,
                       errp);
    if (!c) {
        cram_map_free(map);
        cram_engine_free(e);
        return NULL;
    }
    s = g_new0(CramStore, 1);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->wake, NULL);
    pthread_cond_init(&s->idle, NULL);
    s->e = e;
    s->c = c;
    s->map = map;
    s->cfg = *cfg;
    s->capacity = st.capacity;
    if (cfg->worker) {
        s->wscratch = cram_engine_scratch_new(e);
        s->wbuf = g_malloc(CRAM_PAGE_SIZE);
    }
    return s;
}

void cram_store_free(CramStore *s)
{
    if (!s) {
        return;
    }
    cram_cache_free(s->c);
    cram_map_free(s->map);
    cram_engine_free(s->e);
    cram_scratch_free(s->wscratch);
    g_free(s->wbuf);
    pthread_cond_destroy(&s->wake);
    pthread_cond_destroy(&s->idle);
    pthread_mutex_destroy(&s->lock);
    g_free(s);
}

static void store_lock(CramStore *s)
{
    pthread_mutex_lock(&s->lock);
}

/* Every call ends here: wake the worker if the call gave it work. */
static void store_unlock(CramStore *s)
{
    gint taken = cram_cache_has_taken(s->c);

    /* written only when it changes: a barrier costs more than the check */
    if (s->has_taken != taken) {
        g_atomic_int_set(&s->has_taken, taken);
    }
    if (cram_cache_take_wake(s->c)) {
        s->pending = true;
        pthread_cond_signal(&s->wake);
    }
    pthread_mutex_unlock(&s->lock);
}

void cram_store_worker_run(CramStore *s)
{
    CramStats before, after;
    CramCacheTicket t;
    CramEncoded enc;
    bool stored;

    g_assert(s->cfg.worker);
    store_lock(s);
    while (!s->stop) {
        if (s->paused || !cram_cache_worker_take(s->c, &t, s->wbuf)) {
            while (!s->stop && (s->paused || !s->pending)) {
                pthread_cond_wait(&s->wake, &s->lock);
            }
            s->pending = false;
            continue;
        }
        if (s->wgen != cram_engine_codec_gen(s->e)) {
            /* the codec changed: encode as the engine does (or, short of */
            /* memory, with the old one: its objects read back as well) */
            CramScratch *ns = cram_engine_scratch_new(s->e);

            if (ns) {
                cram_scratch_free(s->wscratch);
                s->wscratch = ns;
            }
            s->wgen = cram_engine_codec_gen(s->e);
        }
        s->busy = true;
        pthread_mutex_unlock(&s->lock);
        cram_page_encode(s->wscratch, s->wbuf, &enc);
        store_lock(s);
        s->busy = false;
        pthread_cond_broadcast(&s->idle);
        cram_engine_get_stats(s->e, &before);
        stored = cram_cache_worker_commit(s->c, &t, s->wbuf, &enc);
        if (stored && s->cfg.worker_stored) {
            cram_engine_get_stats(s->e, &after);
            pthread_mutex_unlock(&s->lock);
            s->cfg.worker_stored(s->cfg.opaque,
                                 after.media_used > before.media_used);
            store_lock(s);
        }
    }
    pthread_mutex_unlock(&s->lock);
}

uint8_t *cram_store_map(CramStore *s)
{
    return s->map ? cram_map_base(s->map) : NULL;
}

/* Unlock; tell the owner when media or the pages it must hear of moved. */
static void store_unlock_told(CramStore *s, unsigned gen)
{
    bool tell = gen != cram_cache_media_gen(s->c) ||
                cram_cache_has_taken(s->c);

    store_unlock(s);
    if (tell && s->cfg.faulted) {
        s->cfg.faulted(s->cfg.opaque);
    }
}

void cram_store_fault_run(CramStore *s)
{
    unsigned gen;
    CramFault f;
    uint64_t t0, waited;

    g_assert(s->map);
    while (cram_map_wait_fault(s->map, &f)) {
        t0 = cram_now_ns();
        store_lock(s);
        waited = cram_now_ns() - t0;
        gen = cram_cache_media_gen(s->c);
        if (cram_cache_fault(s->c, f.page, f.write)) {
            cram_cache_fault_waited(s->c, waited);
        }
        store_unlock_told(s, gen);
    }
}

bool cram_store_prefill(CramStore *s, uint64_t page, bool *clean)
{
    uint64_t t0 = cram_now_ns();
    unsigned gen;
    bool loaded;

    g_assert(s->map);
    store_lock(s);
    gen = cram_cache_media_gen(s->c);
    loaded = cram_cache_prefill(s->c, page, t0, clean);
    store_unlock_told(s, gen);
    return loaded;
}

void cram_store_tlb_write(CramStore *s, uint64_t page)
{
    unsigned gen;

    g_assert(s->map);
    store_lock(s);
    gen = cram_cache_media_gen(s->c);
    cram_cache_tlb_write(s->c, page);
    store_unlock_told(s, gen);
}

void cram_store_fault_stop(CramStore *s)
{
    cram_map_stop(s->map);
}

void cram_store_worker_pause(CramStore *s, bool paused)
{
    store_lock(s);
    s->paused = paused;
    if (paused) {
        /* its page in hand is committed (or not) before this returns */
        while (s->busy) {
            pthread_cond_wait(&s->idle, &s->lock);
        }
    } else {
        s->pending = true;
        pthread_cond_signal(&s->wake);
    }
    pthread_mutex_unlock(&s->lock);
}

bool cram_store_worker_paused(CramStore *s)
{
    bool paused;

    store_lock(s);
    paused = s->paused;
    pthread_mutex_unlock(&s->lock);
    return paused;
}

bool cram_store_take_media(CramStore *s, uint64_t pages)
{
    bool ok;

    store_lock(s);
    ok = cram_engine_take_media(s->e, pages);
    store_unlock(s);
    return ok;
}

void cram_store_store_as(CramStore *s, uint64_t from, uint64_t end,
                         uint32_t size)
{
    store_lock(s);
    cram_engine_store_as(s->e, from, end, size);
    store_unlock(s);
}

void cram_store_drop_keeps(CramStore *s, bool keeps)
{
    store_lock(s);
    cram_cache_drop_keeps(s->c, keeps);
    store_unlock(s);
}

bool cram_store_resize_cache(CramStore *s, size_t pages, GError **errp)
{
    bool ok = false;

    store_lock(s);
    if (s->map || !s->cfg.worker) {
        g_set_error(errp, CRAM_ERROR, 0, "the page cache cannot change "
                    "size: %s", s->map ? "it is mapped (ram-path)" :
                    "it has no worker (cache-size=0)");
    } else {
        while (s->busy) {
            pthread_cond_wait(&s->idle, &s->lock);
        }
        ok = cram_cache_resize(s->c, pages, errp);
    }
    store_unlock(s);
    return ok;
}

bool cram_store_set_codec(CramStore *s, CramCodecId codec, int level,
                          GError **err)
{
    bool ok;

    store_lock(s);
    ok = cram_engine_set_codec(s->e, codec, level, err);
    store_unlock(s);
    return ok;
}

void cram_store_worker_stop(CramStore *s)
{
    store_lock(s);
    s->stop = true;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
}

bool cram_store_access(CramStore *s, uint64_t addr, void *buf, size_t len,
                       bool write, uint64_t *poison_addr)
{
    size_t inside = addr < s->capacity ? MIN(len, s->capacity - addr) : 0;
    bool poisoned = false;
    uint8_t *p = buf;

    if (!write) {
        memset(p + inside, 0xff, len - inside);
    }
    store_lock(s);
    while (inside) {
        uint64_t page = addr / CRAM_PAGE_SIZE;
        unsigned off = addr % CRAM_PAGE_SIZE;
        unsigned n = MIN(inside, CRAM_PAGE_SIZE - off);

        if (write) {
            cram_cache_write(s->c, page, off, p, n);
        } else if (cram_cache_read(s->c, page, off, p, n) && !poisoned) {
            poisoned = true;
            if (poison_addr) {
                *poison_addr = addr;
            }
        }
        addr += n;
        p += n;
        inside -= n;
    }
    store_unlock(s);
    return poisoned;
}

void cram_store_flush(CramStore *s)
{
    store_lock(s);
    cram_cache_flush(s->c);
    store_unlock(s);
}

void cram_store_exact_figures(CramStore *s)
{
    if (cram_cache_is_one_page(s->c)) {
        cram_store_flush(s);
    }
}

void cram_store_discard_ranges(CramStore *s, const CramRange *r,
                               unsigned nr)
{
    unsigned i;

    store_lock(s);
    for (i = 0; i < nr; i++) {
        if (r[i].n) {
            cram_cache_invalidate(s->c, r[i].first, r[i].n);
        }
    }
    cram_engine_discard_ranges(s->e, r, nr);
    store_unlock(s);
}

/* The pages @r covers whole */
static CramRange whole_pages(const CramByteRange *r)
{
    uint64_t first = (r->start + CRAM_PAGE_SIZE - 1) / CRAM_PAGE_SIZE;
    uint64_t last = (r->start + r->len) / CRAM_PAGE_SIZE;

    return (CramRange) { first, last > first ? last - first : 0 };
}

/* Does a range after @i discard @page whole? */
static bool discarded_after(const CramRange *whole, unsigned i, unsigned nr,
                            uint64_t page)
{
    while (++i < nr) {
        if (page - whole[i].first < whole[i].n) {
            return true;
        }
    }
    return false;
}

void cram_store_zero_ranges(CramStore *s, const CramByteRange *r,
                            unsigned nr)
{
    static uint8_t zero[CRAM_PAGE_SIZE];
    g_autofree CramRange *whole = g_new(CramRange, MAX(nr, 1));
    unsigned i;

    for (i = 0; i < nr; i++) {
        whole[i] = whole_pages(&r[i]);
    }
    cram_store_discard_ranges(s, whole, nr);
    for (i = 0; i < nr; i++) {
        uint64_t at = r[i].start, end = r[i].start + r[i].len;

        while (at < end) {
            uint64_t page = at / CRAM_PAGE_SIZE;
            unsigned off = at % CRAM_PAGE_SIZE;
            unsigned len = MIN(end - at, CRAM_PAGE_SIZE - off);

            if (page - whole[i].first < whole[i].n) {
                at = (whole[i].first + whole[i].n) * CRAM_PAGE_SIZE;
                continue;
            }
            if (!discarded_after(whole, i, nr, page)) {
                cram_store_access(s, at, zero, len, true, NULL);
            }
            at += len;
        }
    }
}

void cram_store_discard_all(CramStore *s)
{
    store_lock(s);
    cram_cache_invalidate_all(s->c);
    cram_engine_discard_all(s->e);
    store_unlock(s);
}

void cram_store_poison(CramStore *s, uint64_t page, unsigned tag)
{
    store_lock(s);
    cram_cache_invalidate(s->c, page, 1);
    cram_engine_poison_tagged(s->e, page, tag);
    store_unlock(s);
}

bool cram_store_unpoison(CramStore *s, uint64_t page)
{
    bool poisoned;

    store_lock(s);
    poisoned = cram_engine_page_poisoned(s->e, page);
    if (poisoned) {
        cram_cache_invalidate(s->c, page, 1);
        cram_engine_discard(s->e, page);
    }
    store_unlock(s);
    return poisoned;
}

bool cram_store_poison_run(CramStore *s, uint64_t from, uint64_t end,
                           uint64_t *first, uint64_t *n, unsigned *tag)
{
    bool found;

    store_lock(s);
    found = cram_engine_poison_run(s->e, from, end, first, n, tag);
    store_unlock(s);
    return found;
}

void cram_store_census(CramStore *s, uint64_t from, uint64_t end,
                       uint64_t per, CramCensus *out)
{
    store_lock(s);
    cram_engine_census(s->e, from, end, per, out);
    store_unlock(s);
}

void cram_store_get_stats(CramStore *s, CramStats *st, CramCacheStats *cs,
                          uint64_t *metadata_bytes)
{
    store_lock(s);
    if (st) {
        cram_engine_get_stats(s->e, st);
    }
    if (cs) {
        cram_cache_get_stats(s->c, cs);
    }
    if (metadata_bytes) {
        *metadata_bytes = cram_engine_metadata_bytes(s->e);
    }
    store_unlock(s);
}

unsigned cram_store_media_gen(CramStore *s)
{
    return cram_cache_media_gen(s->c);
}

bool cram_store_has_taken(CramStore *s)
{
    return g_atomic_int_get(&s->has_taken);
}

bool cram_store_take(CramStore *s, CramCacheTaken *t)
{
    bool found;

    store_lock(s);
    found = cram_cache_take(s->c, t);
    store_unlock(s);
    return found;
}

void cram_store_trace(CramStore *s, bool on)
{
    store_lock(s);
    cram_cache_trace(s->c, on);
    store_unlock(s);
}

CramExport *cram_store_export_begin(CramStore *s, CramStats *st)
{
    store_lock(s);
    cram_cache_flush(s->c);
    cram_engine_get_stats(s->e, st);
    return cram_export_new(s->e);
}

void cram_store_export_end(CramStore *s, CramExport *x)
{
    cram_export_free(x);
    store_unlock(s);
}

CramImport *cram_store_import_begin(CramStore *s, unsigned max_tag,
                                    GError **errp)
{
    CramImport *im;

    store_lock(s);
    cram_cache_invalidate_all(s->c);
    im = cram_import_new(s->e, max_tag, errp);
    if (!im) {
        store_unlock(s);
    }
    return im;
}

void cram_store_import_end(CramStore *s)
{
    store_unlock(s);
}
