/*
 * cxl-cram engine: write-back cache of uncompressed hot pages
 *
 * Entries live in one array, found through a chained hash on the page
 * index and kept in LRU order.  Eviction prefers the least recently used
 * clean entry; a dirty victim is stored by the caller.  Dirty pages queue
 * for the worker (cram-store.c runs it), which takes a copy of one under
 * the store's lock, compresses the copy outside it, and commits the
 * result only if the page was not written in the meantime.
 *
 * Normally the worker is woken when three quarters of the cache are dirty
 * and writes back until half is: a hot set of up to half the cache stays
 * dirty (charged its worst case) instead of being compressed, committed
 * and dirtied again at every pass.  Once dirty pages reach the cold end of
 * the LRU list (pressure: eviction looked at one), until it goes idle it
 * is woken at half and writes back every queued page, so that victims are
 * clean.
 * Its queue is a clock (second-chance FIFO): a page the caller went back
 * to since the worker last looked at it is passed over, its mark cleared.
 * Without pressure the worker looks at each queued page (those queued
 * while it works included) once per wake-up, and when that leaves the
 * cache above half dirty (a hot set larger than half of it, all in use)
 * it is not woken again until more pages turn dirty: such a set stays
 * cached instead of being compressed and dirtied again pass after pass.
 * Under pressure it passes a page over once.
 *
 * Mapped (a CramMap): each entry's buffer is its page's own place in a
 * mapping of the whole capacity, which others may reach directly.  The
 * cache fills a page when it loads it and drops it when the entry goes;
 * a clean page is write-protected, so that a direct write faults, and
 * cram_cache_fault() charges and dirties it as cram_cache_write() would.
 * The cache never writes a protected page itself: it lifts the
 * protection first.  A page is protected again before it is copied for
 * its store, so that a write after the copy faults and is seen.  Direct
 * reads are not seen, but an accessor that says which page it is about
 * to reach (cram_cache_prefill(): a vCPU's TLB fill) marks it used;
 * pages touched only otherwise age in load order.  A writer that says
 * it is about to write a clean page (cram_cache_tlb_write(): TCG's
 * store through an entry filled while the page was clean) has it
 * charged and unprotected then, without the fault; the protection
 * still catches every write that was not announced.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include "cram-cache.h"
#include "cram-error.h"

#define NIL             UINT32_MAX
#define EVICT_SCAN      8       /* LRU entries looked at for a clean one */

enum { ENTRY_FREE, ENTRY_CLEAN, ENTRY_DIRTY };

typedef struct CramCacheEntry {
    uint64_t page;
    uint8_t *buf;
    uint32_t prev, next;        /* LRU list, or free list through next */
    uint32_t hnext;             /* hash chain */
    uint32_t gen;               /* bumped on every write */
    uint8_t state;
    bool busy;                  /* the worker is compressing a snapshot */
    bool zombie;                /* invalidated while busy */
    bool queued;                /* in the worker's queue */
    bool referenced;            /* used since the worker last looked */
    bool reserved;              /* holds one media page reservation */
    bool wp;                    /* mapped: its page is write-protected */
    bool poisoned;              /* only the bytes in @written are real */
    uint8_t *written;           /* bitmap, CRAM_PAGE_SIZE bits */
} CramCacheEntry;

struct CramCache {
    CramEngine *e;
    unsigned drop_tag;          /* poison tag of a page whose store failed */
    bool drop_keeps;            /* ... or it keeps its stored content */
    GArray *taken;              /* CramCacheTaken, until the caller takes */
    bool trace;                 /* misses and write-backs go there too */
    uint32_t n;
    CramCacheEntry *ent;
    uint8_t *slab;              /* the page buffers, contiguous */
    CramMap *map;               /* or the pages in place, there */
    uint8_t *bounce;            /* mapped: a page being filled */
    uint8_t *written_maps;      /* the entries' @written bitmaps */
    uint32_t *bucket;
    uint32_t mask;
    uint32_t lru_head, lru_tail;    /* head = most recent */
    uint32_t free_head;
    uint32_t last;              /* entry of the last access, or NIL */
    bool sync;                  /* one page, no worker: no reservations */
    gint media_gen;             /* see cram_cache_media_gen() */
    CramCacheStats st;

    /* worker */
    bool worker;                /* dirty pages are queued for one */
    bool wake_wanted;           /* see cram_cache_take_wake() */
    uint32_t wake_dirty;        /* dirty pages that justify waking it */
    uint32_t keep_dirty;        /* dirty pages it leaves alone */
    uint32_t idle_dirty;        /* dirty when it idled with all in use */
    uint32_t budget;            /* queued pages it has not looked at */
    bool new_session;           /* woken: budget not set yet */
    bool pressure;              /* dirty victims since the worker idled */
    uint32_t *queue;            /* ring of entry indices */
    uint32_t q_head, q_len;
};

static inline bool bit_test(const uint8_t *map, unsigned i)
{
    return map[i / 8] & (1u << (i % 8));
}

static void bits_set(uint8_t *map, unsigned off, unsigned len)
{
    unsigned i;

    for (i = off; i < off + len; i++) {
        map[i / 8] |= 1u << (i % 8);
    }
}

static bool bits_all(const uint8_t *map, unsigned off, unsigned len)
{
    unsigned i;

    for (i = off; i < off + len; i++) {
        if (!bit_test(map, i)) {
            return false;
        }
    }
    return true;
}

static inline uint32_t hash_page(CramCache *c, uint64_t page)
{
    return (uint32_t)((page * 0x9e3779b97f4a7c15ULL) >> 32) & c->mask;
}

static uint32_t lookup(CramCache *c, uint64_t page)
{
    uint32_t i;

    for (i = c->bucket[hash_page(c, page)]; i != NIL; i = c->ent[i].hnext) {
        if (c->ent[i].page == page) {
            return i;
        }
    }
    return NIL;
}

static void hash_remove(CramCache *c, uint32_t idx)
{
    uint32_t *p = &c->bucket[hash_page(c, c->ent[idx].page)];

    while (*p != idx) {
        p = &c->ent[*p].hnext;
    }
    *p = c->ent[idx].hnext;
}

static void lru_unlink(CramCache *c, uint32_t idx)
{
    CramCacheEntry *x = &c->ent[idx];

    if (x->prev != NIL) {
        c->ent[x->prev].next = x->next;
    } else {
        c->lru_head = x->next;
    }
    if (x->next != NIL) {
        c->ent[x->next].prev = x->prev;
    } else {
        c->lru_tail = x->prev;
    }
}

static void lru_push_head(CramCache *c, uint32_t idx)
{
    CramCacheEntry *x = &c->ent[idx];

    x->prev = NIL;
    x->next = c->lru_head;
    if (c->lru_head != NIL) {
        c->ent[c->lru_head].prev = idx;
    } else {
        c->lru_tail = idx;
    }
    c->lru_head = idx;
}

static inline void media_changed(CramCache *c)
{
    g_atomic_int_inc(&c->media_gen);
}

static void release_reservation(CramCache *c, CramCacheEntry *x)
{
    if (x->reserved) {
        x->reserved = false;
        cram_engine_unreserve(c->e);
        media_changed(c);
    }
}

/* Take an entry out of use; a busy one is freed when the worker is done. */
static void entry_free(CramCache *c, uint32_t idx)
{
    CramCacheEntry *x = &c->ent[idx];

    if (x->state == ENTRY_DIRTY) {
        c->st.dirty--;
    }
    release_reservation(c, x);
    hash_remove(c, idx);
    lru_unlink(c, idx);
    c->st.cached--;
    x->state = ENTRY_FREE;
    if (c->map) {
        /* the worker, if busy with it, has its copy: the page can go */
        cram_map_drop(c->map, x->page);
        x->buf = NULL;
    }
    if (c->last == idx) {
        c->last = NIL;
    }
    if (x->busy) {
        x->zombie = true;
        return;
    }
    x->next = c->free_head;
    c->free_head = idx;
}

/* The worker has work: its owner wakes it (cram_cache_take_wake()). */
static void worker_wake(CramCache *c)
{
    c->wake_wanted = c->worker;
}

static void worker_kick(CramCache *c, uint32_t idx)
{
    CramCacheEntry *x = &c->ent[idx];

    if (!c->worker) {
        return;
    }
    if (!x->queued) {
        /* A page hit before it turned dirty keeps its mark: it is in use. */
        x->queued = true;
        c->queue[(c->q_head + c->q_len) % c->n] = idx;
        c->q_len++;
        /* Queued while the worker is at work: it looks at this one too. */
        if (!c->new_session) {
            c->budget++;
        }
    }
    /*
     * Waking the worker costs more than compressing one page: let dirty
     * pages gather (they are charged their worst case meanwhile).  A
     * page that is already queued counts too: a hot set may sit in the
     * queue for long.  After the worker found every queued page in use,
     * only more dirty pages than then are worth a look.
     */
    c->idle_dirty = MIN(c->idle_dirty, c->st.dirty);
    if (c->st.dirty >= (c->pressure ? c->keep_dirty :
                        MAX(c->wake_dirty, c->idle_dirty + 1))) {
        worker_wake(c);
    }
}

/* What the caller takes: always a drop, the rest when traced */
static void taken(CramCache *c, CramCacheEvent ev, uint64_t page)
{
    CramCacheTaken t = { .page = page, .ev = ev };

    if (c->trace || cram_cache_event_is_drop(ev)) {
        g_array_append_val(c->taken, t);
    }
}

/* Mapped: write-protect @x's page, or lift its protection */
static void entry_protect(CramCache *c, CramCacheEntry *x, bool wp)
{
    if (c->map && x->wp != wp) {
        cram_map_protect(c->map, x->page, wp);
        x->wp = wp;
    }
}

/*
 * Store a dirty entry on the caller's thread.  A store that finds no
 * media loses the new content: the page is poisoned (or, with
 * drop_keeps, keeps the content it had stored), its entry freed (false),
 * so that the next access loads what the engine holds, and the page
 * listed for cram_cache_take().
 */
static bool writeback(CramCache *c, uint32_t idx)
{
    CramCacheEntry *x = &c->ent[idx];
    uint64_t page = x->page;
    CramEncoded enc;

    if (x->state != ENTRY_DIRTY) {
        return true;
    }
    x->state = ENTRY_CLEAN;
    c->st.dirty--;
    c->st.sync_writebacks++;
    media_changed(c);
    if (x->poisoned) {
        /* Partial writes to a poisoned page have nothing to merge with. */
        if (!bits_all(x->written, 0, CRAM_PAGE_SIZE)) {
            memset(x->buf, 0xff, CRAM_PAGE_SIZE);
            memset(x->written, 0, CRAM_PAGE_SIZE / 8);
            entry_protect(c, x, true);
            return true;
        }
    }
    /* written from here on, the page is dirty again and seen */
    entry_protect(c, x, true);
    if (x->reserved) {
        x->reserved = false;
        cram_engine_encode(c->e, x->buf, &enc);
        cram_engine_store_reserved(c->e, page, x->buf, &enc);
    } else if (cram_engine_store(c->e, page, x->buf) < 0) {
        if (c->drop_keeps) {
            taken(c, CRAM_CACHE_DROPPED_KEPT, page);
        } else {
            cram_engine_poison_tagged(c->e, page, c->drop_tag);
            taken(c, CRAM_CACHE_DROPPED, page);
        }
        entry_free(c, idx);
        return false;
    }
    taken(c, CRAM_CACHE_WRITEBACK_SYNC, page);
    x->poisoned = false;        /* a whole-page store heals it */
    return true;
}

static uint32_t pick_victim(CramCache *c)
{
    uint32_t i, clean = NIL, dirty = NIL;
    int scanned = 0;

    for (i = c->lru_tail; i != NIL && scanned < EVICT_SCAN;
         i = c->ent[i].prev, scanned++) {
        if (c->ent[i].busy) {
            continue;
        }
        if (c->ent[i].state == ENTRY_CLEAN) {
            clean = i;
            break;
        }
        if (dirty == NIL) {
            dirty = i;
        }
    }
    if (dirty != NIL && !c->pressure) {
        /* Dirty pages reached the cold end: the worker must catch up. */
        c->pressure = true;
        worker_wake(c);
    }
    if (clean != NIL) {
        return clean;
    }
    if (dirty != NIL) {
        return dirty;
    }
    /* Everything scanned is busy: take the first one that is not. */
    for (i = c->lru_tail; i != NIL; i = c->ent[i].prev) {
        if (!c->ent[i].busy) {
            return i;
        }
    }
    g_assert_not_reached();     /* the worker holds one entry at most */
}

/*
 * Load @page into a free entry (evicting one if none is): from the
 * engine, or all-ones where it is poisoned.  With @fill_t0 (a fault),
 * the eviction and the load are timed into the stats and the fill's
 * start left in *@fill_t0.
 */
static uint32_t load_entry(CramCache *c, uint64_t page, uint64_t *fill_t0)
{
    CramCacheEntry *x;
    uint32_t idx;
    uint64_t t0 = fill_t0 ? cram_now_ns() : 0, t1 = 0;

    c->st.misses++;
    taken(c, CRAM_CACHE_MISS, page);
    while (c->free_head == NIL) {
        uint32_t v = pick_victim(c);

        if (writeback(c, v)) {
            entry_free(c, v);
        }
    }
    if (fill_t0) {
        t1 = cram_now_ns();
        c->st.fault_evict_ns += t1 - t0;
    }
    idx = c->free_head;
    x = &c->ent[idx];
    c->free_head = x->next;

    x->page = page;
    x->state = ENTRY_CLEAN;
    x->zombie = false;
    x->referenced = false;
    x->gen = 0;
    if (c->map) {
        x->buf = cram_map_page(c->map, page);
    }
    x->poisoned = cram_engine_page_poisoned(c->e, page) ||
                  !cram_engine_load(c->e, page, c->map ? c->bounce : x->buf);
    if (x->poisoned) {
        memset(c->map ? c->bounce : x->buf, 0xff, CRAM_PAGE_SIZE);
        memset(x->written, 0, CRAM_PAGE_SIZE / 8);
    }
    if (fill_t0) {
        *fill_t0 = cram_now_ns();
        c->st.fault_load_ns += *fill_t0 - t1;
    }
    if (c->map) {
        cram_map_fill(c->map, page, c->bounce, false);
        x->wp = true;
    }
    x->hnext = c->bucket[hash_page(c, page)];
    c->bucket[hash_page(c, page)] = idx;
    lru_push_head(c, idx);
    c->st.cached++;
    return idx;
}

/* Entry for @page, loaded on a miss, most recently used. */
static uint32_t get_entry(CramCache *c, uint64_t page)
{
    uint32_t idx;

    if (c->last != NIL && c->ent[c->last].page == page) {
        c->st.hits++;
        return c->last;
    }
    /*
     * The caller leaves the page it was working on: now is the time to
     * compress it, not while it is still being filled.
     */
    if (c->last != NIL && c->ent[c->last].state == ENTRY_DIRTY &&
        c->ent[c->last].reserved) {
        worker_kick(c, c->last);
    }
    idx = lookup(c, page);
    if (idx != NIL) {
        c->st.hits++;
        c->ent[idx].referenced = true;
        lru_unlink(c, idx);
        lru_push_head(c, idx);
        c->last = idx;
        return idx;
    }

    c->last = load_entry(c, page, NULL);
    return c->last;
}

/* Guests mostly move 8 bytes: let that copy be two moves, not a call. */
static inline void copy_bytes(void *dst, const void *src, unsigned len)
{
    if (len == 8) {
        memcpy(dst, src, 8);
    } else {
        memcpy(dst, src, len);
    }
}

bool cram_cache_read(CramCache *c, uint64_t page, unsigned off, void *dst,
                     unsigned len)
{
    CramCacheEntry *x = &c->ent[get_entry(c, page)];

    copy_bytes(dst, x->buf + off, len);
    return x->poisoned && !bits_all(x->written, off, len);
}

/*
 * @x is being written: dirty, charged its worst case if it can be; false
 * when it cannot (nothing charged).
 */
static bool entry_dirty(CramCache *c, CramCacheEntry *x)
{
    x->gen++;
    entry_protect(c, x, false);
    if (x->state != ENTRY_CLEAN) {
        return true;
    }
    x->state = ENTRY_DIRTY;
    c->st.dirty++;
    if (c->sync || x->poisoned) {
        return true;
    }
    if (!cram_engine_reserve(c->e)) {
        return false;
    }
    x->reserved = true;
    media_changed(c);
    return true;
}

void cram_cache_write(CramCache *c, uint64_t page, unsigned off,
                      const void *src, unsigned len)
{
    uint32_t idx = get_entry(c, page);
    CramCacheEntry *x = &c->ent[idx];
    bool charged = entry_dirty(c, x);

    copy_bytes(x->buf + off, src, len);
    if (x->poisoned) {
        bits_set(x->written, off, len);
    }
    if (!charged) {
        /* No worst case to charge: store now, honestly. */
        writeback(c, idx);
    }
}

bool cram_cache_fault(CramCache *c, uint64_t page, bool write)
{
    uint32_t idx = lookup(c, page);
    CramCacheEntry *x;
    uint64_t fill_t0 = 0;

    g_assert(c->map);
    c->st.faults++;
    if (idx == NIL && !write) {
        c->st.fault_misses++;
        idx = load_entry(c, page, &fill_t0);
    } else if (idx == NIL) {
        idx = load_entry(c, page, NULL);
    } else if (!write) {
        /* filled since the fault was raised: its thread may still wait */
        cram_map_wake(c->map, page);
    }
    x = &c->ent[idx];
    if (x->poisoned) {
        c->st.faults_poisoned++;
    }
    if (write && !entry_dirty(c, x)) {
        /* Written before it could be charged: stored when it leaves. */
        c->st.faults_uncharged++;
    } else if (write) {
        /* charged: the worker stores it, off the path of a later miss */
        worker_kick(c, idx);
    }
    if (write && !x->wp) {
        cram_map_wake(c->map, page);
    }
    if (fill_t0) {
        c->st.fault_fill_ns += cram_now_ns() - fill_t0;
    }
    return fill_t0 != 0;
}

void cram_cache_fault_waited(CramCache *c, uint64_t ns)
{
    c->st.fault_lock_ns += ns;
}

bool cram_cache_prefill(CramCache *c, uint64_t page, uint64_t t0_ns,
                        bool *clean)
{
    uint32_t idx = lookup(c, page);

    g_assert(c->map);
    c->st.prefills++;
    if (idx != NIL) {
        /* a vCPU's TLB fill: the only sign of use a mapped page gives */
        c->ent[idx].referenced = true;
        lru_unlink(c, idx);
        lru_push_head(c, idx);
        *clean = c->ent[idx].wp;
        return false;
    }
    idx = load_entry(c, page, NULL);
    c->st.prefill_misses++;
    c->st.prefill_ns += cram_now_ns() - t0_ns;
    *clean = c->ent[idx].wp;
    return true;
}

bool cram_cache_tlb_write(CramCache *c, uint64_t page)
{
    uint32_t idx = lookup(c, page);
    CramCacheEntry *x;

    g_assert(c->map);
    if (idx == NIL) {
        return false;
    }
    x = &c->ent[idx];
    if (!x->wp) {
        /* dirty and writable already: another vCPU's entry was older */
        return true;
    }
    c->st.tlb_writes++;
    if (!entry_dirty(c, x)) {
        c->st.faults_uncharged++;
    } else {
        worker_kick(c, idx);
    }
    return true;
}

void cram_cache_flush(CramCache *c)
{
    uint32_t i;

    for (i = 0; i < c->n; i++) {
        if (c->ent[i].state == ENTRY_DIRTY) {
            writeback(c, i);
        }
    }
}

void cram_cache_invalidate(CramCache *c, uint64_t first, uint64_t n)
{
    uint32_t i;

    if (n <= c->st.cached) {
        uint64_t p;

        for (p = first; p < first + n; p++) {
            i = lookup(c, p);
            if (i != NIL) {
                entry_free(c, i);
            }
        }
    } else {
        for (i = 0; i < c->n; i++) {
            if (c->ent[i].state != ENTRY_FREE &&
                c->ent[i].page - first < n) {
                entry_free(c, i);
            }
        }
    }
}

void cram_cache_invalidate_all(CramCache *c)
{
    cram_cache_invalidate(c, 0, UINT64_MAX);
}

void cram_cache_drop_keeps(CramCache *c, bool keeps)
{
    c->drop_keeps = keeps;
}

unsigned cram_cache_media_gen(CramCache *c)
{
    return g_atomic_int_get(&c->media_gen);
}

bool cram_cache_is_one_page(CramCache *c)
{
    return c->sync;
}

void cram_cache_get_stats(CramCache *c, CramCacheStats *st)
{
    *st = c->st;
}

void cram_cache_trace(CramCache *c, bool on)
{
    guint i;

    c->trace = on;
    for (i = c->taken->len; !on && i-- > 0;) {
        CramCacheEvent ev = g_array_index(c->taken, CramCacheTaken, i).ev;

        if (!cram_cache_event_is_drop(ev)) {
            g_array_remove_index(c->taken, i);
        }
    }
}

bool cram_cache_take(CramCache *c, CramCacheTaken *t)
{
    if (!c->taken->len) {
        return false;
    }
    *t = g_array_index(c->taken, CramCacheTaken, 0);
    g_array_remove_index(c->taken, 0);
    return true;
}

bool cram_cache_has_taken(CramCache *c)
{
    return c->taken->len;
}

bool cram_cache_take_wake(CramCache *c)
{
    bool wake = c->wake_wanted;

    c->wake_wanted = false;
    return wake;
}

/*
 * Next queued entry that still needs the worker, or NIL when the dirty
 * pages are few enough to stay cached as they are.  An entry freed and
 * reused while queued keeps its place: its new page may be written back
 * early, never late.
 */
static uint32_t worker_pop(CramCache *c)
{
    if (c->new_session) {
        c->new_session = false;
        c->budget = c->q_len;
    }
    while (c->q_len && (c->pressure || c->st.dirty > c->keep_dirty)) {
        uint32_t idx = c->queue[c->q_head];
        CramCacheEntry *x = &c->ent[idx];

        if (!c->pressure && !c->budget) {
            /* All looked at, all in use: idle until more are dirty. */
            c->idle_dirty = c->st.dirty;
            return NIL;
        }
        c->budget -= !!c->budget;
        c->q_head = (c->q_head + 1) % c->n;
        c->q_len--;
        x->queued = false;
        /* The page in use is queued again when the caller leaves it. */
        if (x->state != ENTRY_DIRTY || !x->reserved || x->poisoned ||
            idx == c->last) {
            continue;
        }
        if (x->referenced) {
            /* Still in use: to the back of the queue, its mark cleared. */
            x->referenced = false;
            x->queued = true;
            c->queue[(c->q_head + c->q_len) % c->n] = idx;
            c->q_len++;
            continue;
        }
        return idx;
    }
    c->idle_dirty = 0;
    return NIL;
}

bool cram_cache_worker_take(CramCache *c, CramCacheTicket *t, void *buf)
{
    uint32_t idx = worker_pop(c);
    CramCacheEntry *x;

    if (idx == NIL) {
        /* Set under the lock: a caller that queues more wakes it. */
        c->pressure = false;
        c->new_session = true;
        return false;
    }
    x = &c->ent[idx];
    x->busy = true;
    t->idx = idx;
    t->gen = x->gen;
    t->page = x->page;
    entry_protect(c, x, true);
    memcpy(buf, x->buf, CRAM_PAGE_SIZE);
    return true;
}

bool cram_cache_worker_commit(CramCache *c, const CramCacheTicket *t,
                              const void *buf, const CramEncoded *enc)
{
    CramCacheEntry *x = &c->ent[t->idx];

    x->busy = false;
    if (x->zombie) {
        x->zombie = false;
        x->next = c->free_head;
        c->free_head = t->idx;
    } else if (x->state == ENTRY_DIRTY && x->page == t->page &&
               x->reserved) {
        if (x->gen == t->gen) {
            x->reserved = false;
            x->state = ENTRY_CLEAN;
            c->st.dirty--;
            c->st.async_writebacks++;
            cram_engine_store_reserved(c->e, t->page, buf, enc);
            media_changed(c);
            taken(c, CRAM_CACHE_WRITEBACK_ASYNC, t->page);
            return true;
        }
        if (t->idx != c->last) {
            worker_kick(c, t->idx);     /* written meanwhile: again */
        }
    }
    return false;
}

/*
 * The page buffers in one page-aligned mapping, with transparent huge
 * pages where the host allows them: a hot set then costs the host the
 * TLB entries it costs in guest RAM (QEMU asks for huge pages there
 * too), not one or two per cached page (docs/performance-device.md).
 */
static uint8_t *slab_new(size_t pages, GError **errp)
{
    size_t len = pages * CRAM_PAGE_SIZE;
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

    if (p == MAP_FAILED) {
        g_set_error(errp, CRAM_ERROR, 0,
                    "cannot map %zu bytes of page cache: %s", len,
                    g_strerror(errno));
        return NULL;
    }
#ifdef MADV_HUGEPAGE
    madvise(p, len, MADV_HUGEPAGE);
#endif
    return p;
}

CramCache *cram_cache_new(CramEngine *e, size_t pages, bool worker,
                          unsigned drop_tag, CramMap *map, GError **errp)
{
    uint8_t *slab = map ? NULL : slab_new(pages, errp);
    CramCache *c;
    uint32_t nb = 1, i;

    g_assert(pages >= 1 && pages < NIL / 2);
    g_assert(!map || worker || pages > 1);
    if (!slab && !map) {
        return NULL;
    }
    c = g_new0(CramCache, 1);
    c->e = e;
    c->drop_tag = drop_tag;
    c->taken = g_array_new(false, false, sizeof(CramCacheTaken));
    c->n = pages;
    c->sync = pages == 1 && !worker;
    c->ent = g_new0(CramCacheEntry, pages);
    while (nb < 2 * pages) {
        nb <<= 1;
    }
    c->mask = nb - 1;
    c->bucket = g_new(uint32_t, nb);
    memset(c->bucket, 0xff, nb * sizeof(uint32_t));
    c->lru_head = c->lru_tail = NIL;
    c->last = NIL;
    c->free_head = NIL;
    c->slab = slab;
    c->map = map;
    c->bounce = map ? g_malloc(CRAM_PAGE_SIZE) : NULL;
    c->written_maps = g_malloc0(pages * (CRAM_PAGE_SIZE / 8));
    for (i = pages; i-- > 0;) {
        c->ent[i].buf = slab ? slab + (size_t)i * CRAM_PAGE_SIZE : NULL;
        c->ent[i].written = c->written_maps + (size_t)i * (CRAM_PAGE_SIZE / 8);
        c->ent[i].next = c->free_head;
        c->free_head = i;
    }
    if (worker) {
        c->worker = true;
        c->wake_dirty = MAX(pages * 3 / 4, 1);
        c->keep_dirty = pages / 2;
        c->new_session = true;
        c->queue = g_new(uint32_t, pages);
    }
    return c;
}

bool cram_cache_resize(CramCache *c, size_t pages, GError **errp)
{
    CramCache *n, old;
    GArray *taken;

    g_assert(!c->map && c->worker);
    n = cram_cache_new(c->e, pages, true, c->drop_tag, NULL, errp);
    if (!n) {
        return false;
    }
    /* every page the old buffers hold dirty is stored before they go */
    cram_cache_flush(c);
    /* @n takes what the callers see: the pages taken, counters, trace */
    taken = n->taken;
    n->taken = c->taken;
    c->taken = taken;
    n->trace = c->trace;
    n->drop_keeps = c->drop_keeps;      /* the failure policy stays */
    n->st = c->st;
    n->st.cached = 0;
    g_assert(!n->st.dirty);
    n->media_gen = g_atomic_int_get(&c->media_gen);
    old = *c;
    *c = *n;
    *n = old;
    media_changed(c);       /* the clean pages' entries went */
    cram_cache_free(n);     /* the old buffers, all clean */
    return true;
}

void cram_cache_free(CramCache *c)
{
    uint32_t i;

    if (!c) {
        return;
    }
    /* Nothing queues any more; what the last stores drop, nobody takes. */
    c->worker = false;
    cram_cache_flush(c);
    g_array_free(c->taken, true);
    g_free(c->queue);
    for (i = 0; i < c->n; i++) {
        release_reservation(c, &c->ent[i]);
    }
    if (c->slab) {
        munmap(c->slab, (size_t)c->n * CRAM_PAGE_SIZE);
    }
    g_free(c->bounce);
    g_free(c->written_maps);
    g_free(c->ent);
    g_free(c->bucket);
    g_free(c);
}
