/*
 * Unit tests of the store: the engine and its cache under one lock, the
 * worker on a thread, and what the store hands back to its caller; and
 * the mapped store: cached pages in place in a mapping of the whole
 * capacity, read and written there directly (as a guest does through a
 * RAM region over it), faults served by the store's fault thread,
 * accounting and write-back as through the store's own calls
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <sys/mman.h>
#include "cram-store.h"
#include "test-pages.h"

#define DROP_TAG 2

typedef struct Store {
    CramStore *s;
    GThread *worker;
    gint worker_stored;         /* cfg.worker_stored() calls */
    gint worker_rose;           /* of which media use rose */
    uint8_t *map;               /* mapped: the capacity */
    GThread *faults;            /* mapped: cram_store_fault_run() */
    gint faulted;               /* cfg.faulted() calls */
} Store;

static void on_worker_stored(void *opaque, bool rose)
{
    Store *st = opaque;

    g_atomic_int_inc(&st->worker_stored);
    if (rose) {
        g_atomic_int_inc(&st->worker_rose);
    }
}

static void on_faulted(void *opaque)
{
    Store *st = opaque;

    g_atomic_int_inc(&st->faulted);
}

static gpointer worker_main(gpointer opaque)
{
    cram_store_worker_run(opaque);
    return NULL;
}

static gpointer faults_main(gpointer opaque)
{
    cram_store_fault_run(opaque);
    return NULL;
}

/* A store of 8 GiB over @media with a cache of @pages, and its threads */
static void store_start(Store *st, uint64_t media, size_t pages, bool mapped)
{
    CramStoreConfig scfg = {
        .cache_pages = pages,
        .worker = true,
        .mapped = mapped,
        .drop_tag = DROP_TAG,
        .worker_stored = on_worker_stored,
        .faulted = on_faulted,
        .opaque = st,
    };
    CramEngine *e = new_engine(8 * GiB, media, CRAM_CODEC_ZSTD);
    GError *err = NULL;

    memset(st, 0, sizeof(*st));
    st->s = cram_store_new(e, &scfg, &err);
    g_assert_no_error(err);
    st->worker = g_thread_new("cram-worker", worker_main, st->s);
    if (mapped) {
        st->map = cram_store_map(st->s);
        st->faults = g_thread_new("cram-faults", faults_main, st->s);
    }
}

static void store_new(Store *st, uint64_t media, size_t pages)
{
    store_start(st, media, pages, false);
}

static void store_new_mapped(Store *st, uint64_t media, size_t pages)
{
    store_start(st, media, pages, true);
}

static void store_free(Store *st)
{
    cram_store_worker_stop(st->s);
    g_thread_join(st->worker);
    if (st->faults) {
        cram_store_fault_stop(st->s);
        g_thread_join(st->faults);
    }
    cram_store_free(st->s);
}

static void write_page(CramStore *s, uint64_t page, uint8_t *buf)
{
    unsigned off;

    /* as a guest does: 8 bytes at a time */
    for (off = 0; off < CRAM_PAGE_SIZE; off += 8) {
        cram_store_access(s, page * CRAM_PAGE_SIZE + off, buf + off, 8, true,
                          NULL);
    }
}

static void writer_write(void *opaque, int p, const uint8_t *page)
{
    write_page(opaque, p, (uint8_t *)page);
}

/* A writer, a reader and the worker race over the same pages. */
static void test_worker_concurrency(void)
{
    uint8_t want[CRAM_PAGE_SIZE], got[CRAM_PAGE_SIZE];
    CramCacheStats cs;
    CramStats st;
    Store s;
    RoundWriter w;
    GThread *t;
    CramCacheTaken taken;
    uint64_t told;
    int p;

    store_new(&s, 256 * MiB, 32);
    w = (RoundWriter) { writer_write, s.s, 77, 256, 6 };
    t = g_thread_new("writer", round_writer_main, &w);
    for (p = 0; p < 20000; p++) {
        cram_store_access(s.s, (p * 7) % 256 * CRAM_PAGE_SIZE +
                          (p * 64) % CRAM_PAGE_SIZE, got, 64, false, NULL);
    }
    g_thread_join(t);
    /* told after each of its stores, without the lock: never ahead */
    told = g_atomic_int_get(&s.worker_stored);
    cram_store_get_stats(s.s, NULL, &cs, NULL);
    g_assert_cmpuint(cs.async_writebacks, >, 0);
    g_assert_cmpuint(told, >, 0);
    g_assert_cmpuint(told, <=, cs.async_writebacks);
    cram_store_flush(s.s);
    for (p = 0; p < 256; p++) {
        unsigned off;

        round_page(w.seed, p, w.rounds - 1, want);
        for (off = 0; off < CRAM_PAGE_SIZE; off += 512) {
            g_assert_false(cram_store_access(s.s, p * CRAM_PAGE_SIZE + off,
                                             got + off, 512, false, NULL));
        }
        g_assert_cmpmem(got, sizeof(got), want, sizeof(want));
    }
    cram_store_get_stats(s.s, &st, NULL, NULL);
    g_assert_cmpuint(st.media_reserved, <=, 32 * CRAM_PAGE_SIZE);
    g_assert_false(cram_store_take(s.s, &taken));
    store_free(&s);
}

/*
 * Media runs out: each page whose write was dropped is handed back once,
 * poisoned with the drop tag, and reads as poison; nothing is called.  A
 * whole-page rewrite heals a poisoned page, silently.
 */
static void test_dropped(void)
{
    GRand *r = g_rand_new_with_seed(3);
    uint8_t page[CRAM_PAGE_SIZE];
    uint64_t v, first, n, dropped = 0;
    CramCacheTaken t;
    unsigned tag;
    CramStats st;
    Store s;
    int p;

    store_new(&s, 1 * MiB, 16);                 /* 256 media pages */
    for (p = 0; p < 300; p++) {
        page_random(r, page);
        write_page(s.s, p, page);
    }
    cram_store_flush(s.s);
    g_assert_true(cram_store_has_taken(s.s));
    while (cram_store_take(s.s, &t)) {
        g_assert_cmpint(t.ev, ==, CRAM_CACHE_DROPPED);
        v = t.page;
        g_assert_true(cram_store_access(s.s, v * CRAM_PAGE_SIZE, &first, 8,
                                        false, NULL));
        g_assert_cmphex(first, ==, ~0ULL);
        g_assert_true(cram_store_poison_run(s.s, v, v + 1, &first, &n,
                                            &tag));
        g_assert_cmpuint(tag, ==, DROP_TAG);
        dropped++;
    }
    g_assert_false(cram_store_has_taken(s.s));
    cram_store_get_stats(s.s, &st, NULL, NULL);
    g_assert_cmpuint(dropped, ==, 300 - 256);
    g_assert_cmpuint(st.poisoned_pages, ==, dropped);   /* each once */
    g_assert_cmpuint(st.media_used, <=, st.media_size);

    /* A whole-page rewrite of a poisoned page, once media is back */
    cram_store_discard_all(s.s);
    cram_store_poison(s.s, 5, 7);
    memset(page, 0x3c, sizeof(page));
    write_page(s.s, 5, page);
    cram_store_flush(s.s);
    g_assert_false(cram_store_take(s.s, &t));
    g_assert_false(cram_store_poison_run(s.s, 0, 16, &first, &n, &tag));
    g_assert_false(cram_store_access(s.s, 5 * CRAM_PAGE_SIZE + 64, &v, 8,
                                     false, NULL));
    g_assert_cmphex(v, ==, 0x3c3c3c3c3c3c3c3cULL);
    store_free(&s);
    g_rand_free(r);
}

/*
 * Freed while a cached page must still be stored and no media is left:
 * the final flush drops it, and nobody is told (no callback reports a
 * drop, so nothing reaches back into a store being freed; ASan checks
 * the rest).
 */
static void test_free_drops(void)
{
    GRand *r = g_rand_new_with_seed(5);
    uint8_t page[CRAM_PAGE_SIZE];
    CramCacheTaken t;
    CramStats st;
    uint64_t v;
    Store s;
    int p;

    store_new(&s, 1 * MiB, 16);                 /* 256 media pages */
    for (p = 0; p < 257; p++) {                 /* full, page 256 dropped */
        page_random(r, page);
        write_page(s.s, p, page);
    }
    cram_store_flush(s.s);
    g_assert_true(cram_store_take(s.s, &t));
    g_assert_cmpint(t.ev, ==, CRAM_CACHE_DROPPED);
    v = t.page;
    g_assert_false(cram_store_take(s.s, &t));
    cram_store_get_stats(s.s, &st, NULL, NULL);
    g_assert_cmpuint(st.poisoned_pages, ==, 1);
    /* a whole-page rewrite of the poisoned page, cached at the free */
    page_random(r, page);
    cram_store_access(s.s, v * CRAM_PAGE_SIZE, page, CRAM_PAGE_SIZE, true,
                      NULL);
    store_free(&s);
    g_rand_free(r);
}

/*
 * A worker store gives back the page it reserved and takes what its
 * object needs: with this allocator at most that page (a slot is picked
 * among those that take the fewest pages, and a free slot next to a held
 * page takes one), so media use does not rise, even in spans full of
 * holes.  The device relies on it to skip re-checking the watermarks
 * after a worker store below the low one; the store reports a rise, and
 * the device re-checks then, should the allocator ever change.
 */
static void test_worker_rose(void)
{
    GRand *r = g_rand_new_with_seed(11);
    uint8_t page[CRAM_PAGE_SIZE];
    Store s;
    int p;

    store_new(&s, 256 * MiB, 64);
    /* spans full of objects of every size class, then holes in them */
    for (p = 0; p < 8000; p++) {
        page_partly_random(r, page, g_rand_int_range(r, 16, 3800));
        write_page(s.s, p, page);
    }
    cram_store_flush(s.s);
    for (p = 0; p < 8000; p++) {
        CramRange hole = { .first = p, .n = 1 };

        if (g_rand_int_range(r, 0, 4)) {
            cram_store_discard_ranges(s.s, &hole, 1);
        }
    }
    g_atomic_int_set(&s.worker_stored, 0);
    for (p = 8000; p < 16000; p++) {
        page_partly_random(r, page, g_rand_int_range(r, 16, 3800));
        write_page(s.s, p, page);
    }
    cram_store_flush(s.s);
    g_test_message("%d of %d worker stores raised media use",
                   g_atomic_int_get(&s.worker_rose),
                   g_atomic_int_get(&s.worker_stored));
    g_assert_cmpint(g_atomic_int_get(&s.worker_stored), >, 1000);
    g_assert_cmpint(g_atomic_int_get(&s.worker_rose), ==, 0);
    store_free(&s);
    g_rand_free(r);
}

/*
 * A paused worker stores nothing: dirty pages stay cached and charged a
 * whole media page each, evictions and flushes store on the caller's
 * thread; resumed, it writes back its queue.
 */
static void test_worker_pause(void)
{
    GRand *r = g_rand_new_with_seed(17);
    uint8_t page[CRAM_PAGE_SIZE], back[CRAM_PAGE_SIZE];
    CramCacheStats cs;
    CramStats es;
    Store s;
    int p, i;

    store_new(&s, 64 * MiB, 64);
    cram_store_worker_pause(s.s, true);
    g_assert_true(cram_store_worker_paused(s.s));
    /* 60 of 64 cached pages dirty: past the worker's wake-up mark */
    for (p = 0; p < 60; p++) {
        page_text(r, page);
        write_page(s.s, p, page);
    }
    g_usleep(200 * 1000);
    cram_store_get_stats(s.s, &es, &cs, NULL);
    g_assert_cmpint(g_atomic_int_get(&s.worker_stored), ==, 0);
    g_assert_cmpuint(cs.dirty, ==, 60);
    g_assert_cmpuint(cs.async_writebacks, ==, 0);
    g_assert_cmpuint(es.media_reserved, ==, 60 * CRAM_PAGE_SIZE);

    /* resumed: it writes back to half the cache, not more */
    cram_store_worker_pause(s.s, false);
    g_assert_false(cram_store_worker_paused(s.s));
    for (i = 0; i < 500; i++) {
        cram_store_get_stats(s.s, NULL, &cs, NULL);
        if (cs.dirty <= 32) {
            break;
        }
        g_usleep(10 * 1000);
    }
    g_assert_cmpuint(cs.dirty, <=, 32);
    g_assert_cmpuint(cs.async_writebacks, >=, 28);

    /* paused again: evictions and a flush store on this thread */
    cram_store_worker_pause(s.s, true);
    g_atomic_int_set(&s.worker_stored, 0);
    for (p = 100; p < 300; p++) {
        page_same(page, p);
        write_page(s.s, p, page);
    }
    cram_store_flush(s.s);
    cram_store_get_stats(s.s, &es, &cs, NULL);
    g_assert_cmpint(g_atomic_int_get(&s.worker_stored), ==, 0);
    g_assert_cmpuint(cs.dirty, ==, 0);
    g_assert_cmpuint(es.media_reserved, ==, 0);
    for (p = 100; p < 300; p++) {
        page_same(page, p);
        cram_store_access(s.s, (uint64_t)p * CRAM_PAGE_SIZE, back,
                          CRAM_PAGE_SIZE, false, NULL);
        g_assert_cmpmem(back, CRAM_PAGE_SIZE, page, CRAM_PAGE_SIZE);
    }
    /* stopped while paused: store_free() joins it */
    store_free(&s);
    g_rand_free(r);
}

/* The export sees a flushed store; an import replaces it whole. */
static void test_export_import(void)
{
    uint8_t page[CRAM_PAGE_SIZE];
    CramPageRecord rec;
    CramStats st, st2;
    CramExport *x;
    CramImport *im;
    GError *err = NULL;
    Store a, b;
    uint64_t v;
    int p;

    store_new(&a, 64 * MiB, 16);
    store_new(&b, 64 * MiB, 16);
    for (p = 0; p < 40; p++) {
        memset(page, p + 1, sizeof(page));
        write_page(a.s, p * 3, page);
        write_page(b.s, p, page);               /* replaced by the import */
    }
    x = cram_store_export_begin(a.s, &st);
    g_assert_cmpuint(st.media_reserved, ==, 0);
    g_assert_cmpuint(cram_export_count(x), ==, 40);
    im = cram_store_import_begin(b.s, CRAM_POISON_TAG_MAX, &err);
    g_assert_no_error(err);
    while (cram_export_next(x, &rec)) {
        g_assert_true(cram_import_page(im, &rec, &err));
    }
    g_assert_true(cram_import_finish(im, &st, &err));
    cram_store_import_end(b.s);
    cram_store_export_end(a.s, x);

    cram_store_get_stats(b.s, &st2, NULL, NULL);
    g_assert_cmpuint(st2.media_used, ==, st.media_used);
    for (p = 0; p < 40; p++) {
        g_assert_false(cram_store_access(b.s, p * 3 * CRAM_PAGE_SIZE, &v, 8,
                                         false, NULL));
        g_assert_cmphex(v, ==, 0x0101010101010101ULL * (p + 1));
    }
    g_assert_false(cram_store_access(b.s, CRAM_PAGE_SIZE, &v, 8, false,
                                     NULL));
    g_assert_cmphex(v, ==, 0);
    store_free(&a);
    store_free(&b);
}

/* What test_zero_ranges() leaves in byte @i of page @p */
static uint8_t zeroed_byte(int p, unsigned i)
{
    switch (p) {
    case 2:
        return i < 64 ? p + 1 : 0;
    case 3:
    case 4:
    case 9:
        return 0;
    case 5:
        return i < 64 ? 0 : p + 1;
    case 8:
        return i >= 128 && i < 192 ? 0 : p + 1;
    default:
        return p + 1;
    }
}

/*
 * Zeroing byte ranges: the pages covered whole are discarded (held no
 * more), the others keep their other bytes, and a page that a later
 * range discards whole is not written by an earlier one (it would be
 * held as a zero page).
 */
static void test_zero_ranges(void)
{
    static const CramByteRange r[] = {
        { 2 * CRAM_PAGE_SIZE + 64, 3 * CRAM_PAGE_SIZE },
        { 8 * CRAM_PAGE_SIZE + 128, 64 },
        { 9 * CRAM_PAGE_SIZE + 64, 64 },
        { 9 * CRAM_PAGE_SIZE, CRAM_PAGE_SIZE },
    };
    uint8_t page[CRAM_PAGE_SIZE];
    CramStats stats;
    unsigned i;
    Store st;
    int p;

    store_new(&st, 64 * MiB, 16);
    for (p = 0; p < 12; p++) {
        memset(page, p + 1, sizeof(page));
        write_page(st.s, p, page);
    }
    cram_store_zero_ranges(st.s, r, G_N_ELEMENTS(r));
    cram_store_flush(st.s);
    for (p = 0; p < 12; p++) {
        cram_store_access(st.s, p * CRAM_PAGE_SIZE, page, sizeof(page), false,
                          NULL);
        for (i = 0; i < sizeof(page); i++) {
            if (page[i] != zeroed_byte(p, i)) {
                g_error("page %d byte %u: 0x%x, expected 0x%x", p, i,
                        page[i], zeroed_byte(p, i));
            }
        }
    }
    cram_store_get_stats(st.s, &stats, NULL, NULL);
    g_assert_cmpuint(stats.pages[CRAM_KIND_ZERO], ==, 0);
    g_assert_cmpuint(stats.pages[CRAM_KIND_SAME] +
                     stats.pages[CRAM_KIND_COMPRESSED] +
                     stats.pages[CRAM_KIND_RAW], ==, 9);
    store_free(&st);
}

static uint64_t le64_at(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, sizeof(v));
    return GUINT64_FROM_LE(v);
}

/*
 * Byte accesses cross pages under one call; past the capacity (8 GiB
 * here) reads give all-ones and writes go nowhere; a read that meets
 * poison names its first poisoned byte, in a later page too.
 */
static void test_access_bytes(void)
{
    const uint64_t end = 8 * GiB, edge = 3 * CRAM_PAGE_SIZE - 4;
    uint64_t v = GUINT64_TO_LE(0x1122334455667788ULL), poison = 0;
    uint8_t got[16];
    CramStats st;
    Store s;

    store_new(&s, 64 * MiB, 16);
    cram_store_access(s.s, edge, &v, 8, true, NULL);
    v = 0;
    g_assert_false(cram_store_access(s.s, edge, &v, 8, false, &poison));
    g_assert_cmphex(GUINT64_FROM_LE(v), ==, 0x1122334455667788ULL);
    g_assert_cmpuint(poison, ==, 0);

    cram_store_access(s.s, end - 4, &v, 8, true, NULL);
    cram_store_access(s.s, end + CRAM_PAGE_SIZE, &v, 8, true, NULL);
    cram_store_flush(s.s);
    cram_store_get_stats(s.s, &st, NULL, NULL);
    g_assert_cmpuint(st.logical_bytes, ==, 3 * CRAM_PAGE_SIZE);
    memset(got, 0, sizeof(got));
    g_assert_false(cram_store_access(s.s, end - 8, got, 16, false, NULL));
    g_assert_cmphex(le64_at(got), ==, 0x5566778800000000ULL);
    g_assert_cmphex(le64_at(got + 8), ==, ~0ULL);
    g_assert_false(cram_store_access(s.s, end, got, 8, false, NULL));
    g_assert_cmphex(le64_at(got), ==, ~0ULL);

    cram_store_poison(s.s, 3, DROP_TAG);
    g_assert_true(cram_store_access(s.s, edge, got, 8, false, &poison));
    g_assert_cmpuint(poison, ==, 3 * CRAM_PAGE_SIZE);
    g_assert_cmphex(le64_at(got), ==, 0xffffffff55667788ULL);
    store_free(&s);
}

/* Pages of [first, first + n) present in the mapping */
static unsigned resident(Store *m, uint64_t first, uint64_t n)
{
    g_autofree unsigned char *vec = g_malloc(n);
    unsigned i, count = 0;

    g_assert_cmpint(mincore(m->map + first * CRAM_PAGE_SIZE,
                            n * CRAM_PAGE_SIZE, vec), ==, 0);
    for (i = 0; i < n; i++) {
        count += vec[i] & 1;
    }
    return count;
}

/* Page @p's content in round @round */
static void content(int p, int round, uint8_t *page)
{
    round_page(0, p, round, page);
}

/*
 * Pages stored through the store's calls read back directly, each
 * loaded on its first touch; no more pages are resident than the cache
 * holds.
 */
/* Mapped, a 16-page cache, pages 0..63 stored (content round 0) */
static void store_new_stored(Store *m)
{
    uint8_t page[CRAM_PAGE_SIZE];
    int p;

    store_new_mapped(m, 64 * MiB, 16);
    for (p = 0; p < 64; p++) {
        content(p, 0, page);
        cram_store_access(m->s, p * CRAM_PAGE_SIZE, page, sizeof(page), true,
                          NULL);
    }
    cram_store_flush(m->s);
}

static void test_mapped_read(void)
{
    uint8_t page[CRAM_PAGE_SIZE];
    CramCacheStats cs;
    Store m;
    int p;

    store_new_stored(&m);
    g_assert_cmpuint(resident(&m, 0, 64), <=, 16);
    for (p = 0; p < 64; p++) {
        content(p, 0, page);
        g_assert_cmpmem(m.map + p * CRAM_PAGE_SIZE, CRAM_PAGE_SIZE, page,
                        CRAM_PAGE_SIZE);
    }
    cram_store_get_stats(m.s, NULL, &cs, NULL);
    g_assert_cmpuint(cs.faults, >=, 64 - 16);
    g_assert_cmpuint(cs.faults_poisoned + cs.faults_uncharged, ==, 0);
    g_assert_cmpuint(resident(&m, 0, 64), <=, 16);
    /* a page never written reads as zero, directly too */
    g_assert_cmpuint(m.map[100 * CRAM_PAGE_SIZE + 7], ==, 0);
    store_free(&m);
}

/*
 * A mapped miss's phases are timed: each counter moves, and their sum
 * fits in the wall time the faulting thread saw (until the stats, which
 * take the lock the fault thread times under).
 */
static void test_mapped_split(void)
{
    uint8_t page[CRAM_PAGE_SIZE];
    CramCacheStats c0, c1;
    uint64_t t0, wall, sum;
    Store m;
    int p, loaded;

    store_new_stored(&m);
    cram_store_get_stats(m.s, NULL, &c0, NULL);
    loaded = 0;
    t0 = cram_now_ns();
    for (p = 0; p < 64; p++) {
        content(p, 0, page);
        loaded += resident(&m, p, 1) == 0;
        g_assert_cmpuint(m.map[p * CRAM_PAGE_SIZE + 5], ==, page[5]);
    }
    cram_store_get_stats(m.s, NULL, &c1, NULL);
    wall = cram_now_ns() - t0;
    g_assert_cmpint(loaded, >=, 64 - 16);
    g_assert_cmpuint(c1.fault_misses - c0.fault_misses, ==, loaded);
    g_assert_cmpuint(c1.fault_lock_ns, >, c0.fault_lock_ns);
    g_assert_cmpuint(c1.fault_evict_ns, >, c0.fault_evict_ns);
    g_assert_cmpuint(c1.fault_load_ns, >, c0.fault_load_ns);
    g_assert_cmpuint(c1.fault_fill_ns, >, c0.fault_fill_ns);
    sum = (c1.fault_lock_ns - c0.fault_lock_ns) +
          (c1.fault_evict_ns - c0.fault_evict_ns) +
          (c1.fault_load_ns - c0.fault_load_ns) +
          (c1.fault_fill_ns - c0.fault_fill_ns);
    g_assert_cmpuint(sum, <=, wall);
    if (g_test_verbose()) {
        g_test_message("%d misses: lock %.2f evict %.2f decompress %.2f "
                       "fill %.2f us each, faulting thread %.2f",
                       loaded,
                       (c1.fault_lock_ns - c0.fault_lock_ns) / 1e3 / loaded,
                       (c1.fault_evict_ns - c0.fault_evict_ns) / 1e3 / loaded,
                       (c1.fault_load_ns - c0.fault_load_ns) / 1e3 / loaded,
                       (c1.fault_fill_ns - c0.fault_fill_ns) / 1e3 / loaded,
                       wall / 1e3 / loaded);
    }
    store_free(&m);
}

/*
 * A page prefilled (as a vCPU's TLB fill asks) is present before it is
 * touched: reading every stored page after its prefill faults nothing,
 * and returns its data; a second prefill of a cached page loads nothing.
 * A prefilled page is clean and write-protected: a write to it still
 * faults, once, and is charged.
 */
static void test_mapped_prefill(void)
{
    uint8_t page[CRAM_PAGE_SIZE];
    CramCacheStats c0, c1;
    CramStats st;
    Store m;
    int p, loaded = 0;
    bool clean;

    store_new_stored(&m);
    cram_store_get_stats(m.s, NULL, &c0, NULL);
    for (p = 0; p < 64; p++) {
        bool absent = resident(&m, p, 1) == 0;

        g_assert_cmpint(cram_store_prefill(m.s, p, &clean), ==, absent);
        g_assert_true(clean);
        loaded += absent;
        g_assert_cmpuint(resident(&m, p, 1), ==, 1);
        g_assert_false(cram_store_prefill(m.s, p, &clean));
        content(p, 0, page);
        g_assert_cmpmem(m.map + p * CRAM_PAGE_SIZE, CRAM_PAGE_SIZE, page,
                        CRAM_PAGE_SIZE);
    }
    cram_store_get_stats(m.s, NULL, &c1, NULL);
    g_assert_cmpint(loaded, >=, 64 - 16);
    g_assert_cmpuint(c1.faults, ==, c0.faults);
    g_assert_cmpuint(c1.prefills - c0.prefills, ==, 64 * 2);
    g_assert_cmpuint(c1.prefill_misses - c0.prefill_misses, ==, loaded);
    g_assert_cmpuint(c1.prefill_ns, >, c0.prefill_ns);

    g_assert_true(cram_store_prefill(m.s, 1000, &clean));
    m.map[1000 * CRAM_PAGE_SIZE] = 0x5a;
    cram_store_get_stats(m.s, &st, &c1, NULL);
    g_assert_cmpuint(c1.faults, ==, c0.faults + 1);
    g_assert_cmpuint(c1.dirty, ==, 1);
    g_assert_cmpuint(st.media_reserved, ==, CRAM_PAGE_SIZE);
    g_assert_cmpuint(c1.faults_uncharged, ==, 0);
    g_assert_false(cram_store_prefill(m.s, 1000, &clean));
    g_assert_false(clean);
    store_free(&m);
}

/*
 * A write announced first (cram_store_tlb_write(), as TCG's store through
 * a TLB entry filled while the page was clean) is charged then: the page
 * turns dirty and writable, and the write itself does not fault.  A page
 * not cached is left to fault.  The worker makes the page clean and
 * protected again, and stores what was written.
 */
static void test_mapped_tlb_write(void)
{
    uint8_t got[CRAM_PAGE_SIZE];
    CramCacheStats c0, c1;
    CramStats st;
    Store m;
    bool clean;

    store_new_stored(&m);
    g_assert_true(cram_store_prefill(m.s, 1000, &clean));
    g_assert_true(clean);
    cram_store_worker_pause(m.s, true);     /* the page stays dirty */
    cram_store_get_stats(m.s, NULL, &c0, NULL);
    cram_store_tlb_write(m.s, 1000);
    m.map[1000 * CRAM_PAGE_SIZE + 9] = 0x5a;
    cram_store_get_stats(m.s, &st, &c1, NULL);
    g_assert_cmpuint(c1.tlb_writes - c0.tlb_writes, ==, 1);
    g_assert_cmpuint(c1.faults, ==, c0.faults);
    g_assert_cmpuint(c1.dirty, ==, c0.dirty + 1);
    g_assert_cmpuint(st.media_reserved, ==, CRAM_PAGE_SIZE);
    g_assert_false(cram_store_prefill(m.s, 1000, &clean));
    g_assert_false(clean);

    /* dirty already: nothing more to charge */
    cram_store_tlb_write(m.s, 1000);
    /* not cached: its write will fault, nothing happens now */
    cram_store_tlb_write(m.s, 2000);
    cram_store_get_stats(m.s, NULL, &c1, NULL);
    g_assert_cmpuint(c1.tlb_writes - c0.tlb_writes, ==, 1);
    g_assert_cmpuint(resident(&m, 2000, 1), ==, 0);

    cram_store_worker_pause(m.s, false);
    cram_store_flush(m.s);
    cram_store_get_stats(m.s, &st, &c1, NULL);
    g_assert_cmpuint(st.media_reserved, ==, 0);
    g_assert_cmpuint(c1.dirty, ==, 0);
    g_assert_false(cram_store_prefill(m.s, 1000, &clean));
    g_assert_true(clean);
    g_assert_false(cram_store_access(m.s, 1000 * CRAM_PAGE_SIZE, got,
                                     CRAM_PAGE_SIZE, false, NULL));
    g_assert_cmpuint(got[9], ==, 0x5a);
    store_free(&m);
}

/*
 * Direct writes are seen: each page turns dirty, charged its worst case
 * while it is, and its store holds the last content written, whether the
 * worker or an eviction stored it.
 */
static void test_mapped_write(void)
{
    uint8_t page[CRAM_PAGE_SIZE], got[CRAM_PAGE_SIZE];
    CramCacheStats cs;
    CramStats st;
    Store m;
    int p;

    /* one byte in each of 8 pages: 8 dirty pages, each charged a page */
    store_new_mapped(&m, 64 * MiB, 32);
    memset(m.map + 8, 0x5a, 1);
    for (p = 1; p < 8; p++) {
        m.map[p * CRAM_PAGE_SIZE + 8] = 0x5a;
    }
    cram_store_get_stats(m.s, &st, &cs, NULL);
    g_assert_cmpuint(cs.dirty, ==, 8);
    g_assert_cmpuint(st.media_reserved, ==, 8 * CRAM_PAGE_SIZE);

    for (p = 0; p < 300; p++) {
        content(p, 1, page);
        memcpy(m.map + p * CRAM_PAGE_SIZE, page, CRAM_PAGE_SIZE);
    }
    g_assert_cmpuint(resident(&m, 0, 300), <=, 32);
    /* direct writes are queued for the worker, as the store's own are */
    cram_store_get_stats(m.s, &st, &cs, NULL);
    g_assert_cmpuint(cs.async_writebacks, >, 0);
    cram_store_flush(m.s);
    cram_store_get_stats(m.s, &st, &cs, NULL);
    g_assert_cmpuint(st.media_reserved, ==, 0);
    g_assert_cmpuint(st.pages[CRAM_KIND_COMPRESSED] +
                     st.pages[CRAM_KIND_RAW], ==, 300);
    g_assert_cmpuint(cs.faults_uncharged, ==, 0);
    g_assert_cmpint(g_atomic_int_get(&m.faulted), >, 0);
    for (p = 0; p < 300; p++) {
        content(p, 1, page);
        g_assert_false(cram_store_access(m.s, p * CRAM_PAGE_SIZE, got,
                                         sizeof(got), false, NULL));
        g_assert_cmpmem(got, sizeof(got), page, sizeof(page));
    }
    store_free(&m);
}

/* As a vCPU writes: 8 bytes at a time, straight into the mapping */
static void direct_write(void *opaque, int p, const uint8_t *page)
{
    uint8_t *dst = (uint8_t *)opaque + p * CRAM_PAGE_SIZE;
    unsigned off;

    for (off = 0; off < CRAM_PAGE_SIZE; off += 8) {
        memcpy(dst + off, page + off, 8);
    }
}

/*
 * A direct writer, a reader through the store's calls and the worker
 * race over more pages than the cache holds; at the end every page
 * holds its last round, through both ways of reading it.
 */
static void test_mapped_race(void)
{
    uint8_t want[CRAM_PAGE_SIZE], got[CRAM_PAGE_SIZE];
    RoundWriter w;
    GThread *t;
    Store m;
    int p, i;

    store_new_mapped(&m, 64 * MiB, 24);
    w = (RoundWriter) { direct_write, m.map, 0, 128, 4 };
    t = g_thread_new("writer", round_writer_main, &w);
    for (i = 0; i < 5000; i++) {
        cram_store_access(m.s, (i * 7 % 128) * CRAM_PAGE_SIZE + i % 512 * 8,
                          got, 8, false, NULL);
    }
    g_thread_join(t);
    cram_store_flush(m.s);
    for (p = 0; p < 128; p++) {
        content(p, w.rounds - 1, want);
        g_assert_false(cram_store_access(m.s, p * CRAM_PAGE_SIZE, got,
                                         sizeof(got), false, NULL));
        g_assert_cmpmem(got, sizeof(got), want, sizeof(want));
        g_assert_cmpmem(m.map + p * CRAM_PAGE_SIZE, CRAM_PAGE_SIZE, want,
                        sizeof(want));
    }
    store_free(&m);
}

/* A discarded page is gone from the mapping too: it reads as zero. */
static void test_mapped_discard(void)
{
    CramRange r = { .first = 5, .n = 1 };
    CramStats st;
    Store m;

    store_new_mapped(&m, 64 * MiB, 16);
    memset(m.map + 5 * CRAM_PAGE_SIZE, 0x77, CRAM_PAGE_SIZE);
    cram_store_flush(m.s);
    cram_store_discard_ranges(m.s, &r, 1);
    g_assert_cmpuint(resident(&m, 5, 1), ==, 0);
    g_assert_cmpuint(m.map[5 * CRAM_PAGE_SIZE + 100], ==, 0);
    cram_store_get_stats(m.s, &st, NULL, NULL);
    g_assert_cmpuint(st.logical_bytes, ==, 0);
    store_free(&m);
}

/*
 * Media runs out under direct writes: the writes that could not be
 * charged are counted, and each page whose store then found no media is
 * handed back once, poisoned; a direct read of it is counted as a fault
 * on poison and reads all-ones.
 */
static void test_mapped_short(void)
{
    GRand *r = g_rand_new_with_seed(9);
    uint8_t page[CRAM_PAGE_SIZE];
    CramCacheTaken t;
    CramCacheStats cs;
    CramStats st;
    uint64_t dropped = 0, v = 0;
    Store m;
    int p;

    store_new_mapped(&m, 1 * MiB, 16);                /* 256 media pages */
    for (p = 0; p < 300; p++) {
        page_random(r, page);
        memcpy(m.map + p * CRAM_PAGE_SIZE, page, CRAM_PAGE_SIZE);
    }
    cram_store_flush(m.s);
    while (cram_store_take(m.s, &t)) {
        if (t.ev == CRAM_CACHE_DROPPED) {
            dropped++;
            v = t.page;
        }
    }
    cram_store_get_stats(m.s, &st, &cs, NULL);
    g_assert_cmpuint(dropped, >, 0);
    g_assert_cmpuint(st.poisoned_pages, ==, dropped);
    g_assert_cmpuint(cs.faults_uncharged, >, 0);
    g_assert_cmpuint(st.media_used, <=, st.media_size);
    memcpy(&v, m.map + v * CRAM_PAGE_SIZE, sizeof(v));
    g_assert_cmphex(v, ==, ~0ULL);
    cram_store_get_stats(m.s, NULL, &cs, NULL);
    g_assert_cmpuint(cs.faults_poisoned, >, 0);
    store_free(&m);
    g_rand_free(r);
}

/*
 * The cache changes size under a running worker: dirty pages are stored
 * first, no page is lost, no reservation is left behind, the counters
 * go on; a mapped cache refuses.
 */
static void test_resize_cache(void)
{
    uint8_t page[CRAM_PAGE_SIZE], got[CRAM_PAGE_SIZE];
    GError *err = NULL;
    CramCacheStats cs;
    CramStats es;
    uint64_t hits;
    Store st;
    int p, round;

    store_new(&st, 64 * MiB, 256);
    for (round = 0; round < 3; round++) {
        for (p = 0; p < 400; p++) {
            round_page(5, p, round, page);
            write_page(st.s, p, page);
        }
        g_assert_true(cram_store_resize_cache(st.s, round ? 512 : 16,
                                              &err));
        g_assert_no_error(err);
        cram_store_get_stats(st.s, &es, &cs, NULL);
        g_assert_cmpuint(cs.cached, ==, 0);
        g_assert_cmpuint(cs.dirty, ==, 0);
        g_assert_cmpuint(es.media_reserved, ==, 0);
        hits = cs.hits;
        for (p = 0; p < 400; p++) {
            round_page(5, p, round, page);
            cram_store_access(st.s, (uint64_t)p * CRAM_PAGE_SIZE, got,
                              CRAM_PAGE_SIZE, false, NULL);
            g_assert_cmpmem(got, CRAM_PAGE_SIZE, page, CRAM_PAGE_SIZE);
        }
        cram_store_get_stats(st.s, &es, &cs, NULL);
        g_assert_cmpuint(cs.cached, <=, round ? 400 : 16);
        g_assert_cmpuint(cs.hits, >=, hits);
    }
    store_free(&st);

    store_new_mapped(&st, 64 * MiB, 64);
    g_assert_false(cram_store_resize_cache(st.s, 128, &err));
    g_assert_nonnull(strstr(err->message, "ram-path"));
    g_clear_error(&err);
    store_free(&st);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/store/worker-concurrency", test_worker_concurrency);
    g_test_add_func("/store/dropped", test_dropped);
    g_test_add_func("/store/free-drops", test_free_drops);
    g_test_add_func("/store/worker-rose", test_worker_rose);
    g_test_add_func("/store/worker-pause", test_worker_pause);
    g_test_add_func("/store/resize-cache", test_resize_cache);
    g_test_add_func("/store/export-import", test_export_import);
    g_test_add_func("/store/zero-ranges", test_zero_ranges);
    g_test_add_func("/store/access-bytes", test_access_bytes);
    g_test_add_func("/store/map/read", test_mapped_read);
    g_test_add_func("/store/map/split", test_mapped_split);
    g_test_add_func("/store/map/prefill", test_mapped_prefill);
    g_test_add_func("/store/map/tlb-write", test_mapped_tlb_write);
    g_test_add_func("/store/map/write", test_mapped_write);
    g_test_add_func("/store/map/race", test_mapped_race);
    g_test_add_func("/store/map/discard", test_mapped_discard);
    g_test_add_func("/store/map/short", test_mapped_short);
    return g_test_run();
}
