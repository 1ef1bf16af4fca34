/*
 * Unit tests of the engine's page cache and its write-back policy
 *
 * The cache is single-threaded: cram-store.c gives it a lock and runs
 * its worker.  Here the worker's turns are taken by hand, when the cache
 * asks for one (run_worker()), so that the policy's outcomes are exact.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <string.h>
#include <sys/resource.h>
#include "cram-cache.h"
#include "cram-map.h"
#include "test-pages.h"

/*
 * A test's engine, the cache in front of it and the pages the cache
 * reported dropped.  The test opens them (open_cache()); the fixture's
 * teardown frees what is open.
 */
typedef struct Fixture {
    CramEngine *e;
    CramCache *c;
    CramScratch *scratch;       /* the worker's */
    GArray *dropped;
    bool keeps;                 /* cram_cache_drop_keeps() */
} Fixture;

/* A cache of @pages in front of the fixture's engine. */
static CramCache *new_cache(Fixture *f, size_t pages, bool worker)
{
    f->dropped = g_array_new(false, false, sizeof(uint64_t));
    f->c = cram_cache_new(f->e, pages, worker, 0, NULL, NULL);
    f->scratch = cram_engine_scratch_new(f->e);
    g_assert_nonnull(f->c);
    return f->c;
}

static void free_cache(Fixture *f)
{
    cram_cache_free(f->c);
    cram_scratch_free(f->scratch);
    g_array_free(f->dropped, true);
    f->c = NULL;
}

/* An engine of @media bytes (8 GiB of capacity) and a cache of @pages. */
static CramCache *open_cache(Fixture *f, uint64_t media, size_t pages,
                             bool worker)
{
    f->e = new_engine(8 * GiB, media, CRAM_CODEC_ZSTD);
    return new_cache(f, pages, worker);
}

static void close_fixture(Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
    if (f->c) {
        free_cache(f);
    }
    if (f->e) {
        cram_engine_free(f->e);
    }
}

/* The pages the cache reports dropped, gathered in @f. */
static void drain(Fixture *f)
{
    CramCacheTaken t;

    while (cram_cache_take(f->c, &t)) {
        g_assert_true(cram_cache_event_is_drop(t.ev));
        g_assert_cmpint(t.ev == CRAM_CACHE_DROPPED_KEPT, ==, f->keeps);
        g_array_append_val(f->dropped, t.page);
    }
    g_assert_false(cram_cache_has_taken(f->c));
}

/*
 * The worker's turn, as cram-store.c gives it: only once the cache asked
 * for it, and until it finds nothing to do.
 */
static CramCacheStats run_worker(Fixture *f)
{
    uint8_t buf[CRAM_PAGE_SIZE];
    CramCacheTicket t;
    CramCacheStats cs;
    CramEncoded enc;

    while (cram_cache_take_wake(f->c)) {
        while (cram_cache_worker_take(f->c, &t, buf)) {
            cram_page_encode(f->scratch, buf, &enc);
            cram_cache_worker_commit(f->c, &t, buf, &enc);
        }
    }
    cram_cache_get_stats(f->c, &cs);
    return cs;
}

static void write_page(CramCache *c, uint64_t page, const uint8_t *buf)
{
    unsigned off;

    /* as a guest does: 8 bytes at a time */
    for (off = 0; off < CRAM_PAGE_SIZE; off += 8) {
        cram_cache_write(c, page, off, buf + off, 8);
    }
}

static void read_page(CramCache *c, uint64_t page, uint8_t *buf)
{
    unsigned off;

    for (off = 0; off < CRAM_PAGE_SIZE; off += 512) {
        g_assert_false(cram_cache_read(c, page, off, buf + off, 512));
    }
}

static CramStats stats(Fixture *f)
{
    CramStats st;

    cram_engine_get_stats(f->e, &st);
    return st;
}

/* One page, no worker: the exact write-combining buffer. */
static void test_sync(Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
    CramCache *c = open_cache(f, 64 * MiB, 1, false);
    GRand *r = g_rand_new_with_seed(1);
    uint8_t page[CRAM_PAGE_SIZE], out[CRAM_PAGE_SIZE];
    CramStats st;

    g_assert_true(cram_cache_is_one_page(c));
    page_text(r, page);
    write_page(c, 7, page);
    st = stats(f);
    g_assert_cmpuint(st.stores, ==, 0);         /* still combining */
    g_assert_cmpuint(st.media_reserved, ==, 0);
    cram_cache_read(c, 8, 0, out, 8);           /* move on: stored */
    st = stats(f);
    g_assert_cmpuint(st.stores, ==, 1);
    g_assert_cmpuint(st.pages[CRAM_KIND_COMPRESSED], ==, 1);
    read_page(c, 7, out);
    g_assert_cmpmem(out, sizeof(out), page, sizeof(page));
    g_rand_free(r);
}

/* Least recently used goes first, and clean pages before dirty ones. */
static void test_eviction_order(Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
    CramCache *c = open_cache(f, 64 * MiB, 4, false);
    uint8_t b[8] = { 1 };
    CramCacheStats cs;
    uint64_t p;

    for (p = 0; p < 4; p++) {
        cram_cache_read(c, p, 0, b, 8);
    }
    cram_cache_read(c, 0, 0, b, 8);             /* 0 is now recent */
    cram_cache_read(c, 4, 0, b, 8);             /* evicts 1 */
    cram_cache_get_stats(c, &cs);
    g_assert_cmpuint(cs.misses, ==, 5);
    cram_cache_read(c, 0, 0, b, 8);
    cram_cache_read(c, 2, 0, b, 8);
    cram_cache_get_stats(c, &cs);
    g_assert_cmpuint(cs.misses, ==, 5);         /* both still cached */
    cram_cache_read(c, 1, 0, b, 8);             /* 1 was evicted */
    cram_cache_get_stats(c, &cs);
    g_assert_cmpuint(cs.misses, ==, 6);

    /* A dirty LRU page is passed over for a clean one. */
    cram_cache_invalidate_all(c);
    for (p = 10; p < 14; p++) {
        cram_cache_read(c, p, 0, b, 8);
    }
    b[0] = 9;
    cram_cache_write(c, 10, 0, b, 8);           /* 10: LRU but dirty */
    cram_cache_read(c, 11, 0, b, 8);
    cram_cache_read(c, 12, 0, b, 8);
    cram_cache_read(c, 13, 0, b, 8);
    cram_cache_read(c, 14, 0, b, 8);            /* evicts clean 11 */
    cram_cache_get_stats(c, &cs);
    g_assert_cmpuint(cs.dirty, ==, 1);
    g_assert_cmpuint(cs.sync_writebacks, ==, 0);
}

/*
 * Dirty pages are charged one media page each until stored; after a
 * flush the figures equal those of storing the same pages directly.
 */
static void test_exact_after_flush(Fixture *f, gconstpointer data)
{
    const int npages = 600;
    bool worker = GPOINTER_TO_INT(data);
    CramCache *c = open_cache(f, 64 * MiB, 64, worker);
    CramEngine *ref = new_engine(8 * GiB, 64 * MiB, CRAM_CODEC_ZSTD);
    GRand *r = g_rand_new_with_seed(2);
    uint8_t page[CRAM_PAGE_SIZE];
    CramStats st, want;
    int i;

    for (i = 0; i < npages; i++) {
        if (i % 3) {
            page_text(r, page);
        } else {
            page_random(r, page);
        }
        write_page(c, i * 5, page);
        run_worker(f);
        g_assert_cmpint(cram_engine_store(ref, i * 5, page), ==, 0);
        st = stats(f);
        g_assert_cmpuint(st.media_used, <=, st.media_size);
    }
    st = stats(f);
    if (!worker) {
        /* the last 64 pages are cached dirty, charged raw */
        g_assert_cmpuint(st.media_reserved, ==, 64 * CRAM_PAGE_SIZE);
    }
    cram_cache_flush(c);
    st = stats(f);
    cram_engine_get_stats(ref, &want);
    g_assert_cmpuint(st.media_reserved, ==, 0);
    g_assert_cmpuint(st.media_used, ==, want.media_used);
    g_assert_cmpuint(st.stored_bytes, ==, want.stored_bytes);
    g_assert_cmpuint(st.logical_bytes, ==, want.logical_bytes);
    g_assert_cmpmem(st.pages, sizeof(st.pages), want.pages,
                    sizeof(want.pages));
    cram_engine_free(ref);
    g_rand_free(r);
}

/*
 * Full media: a page that cannot be charged is stored at once, and a
 * refused store is reported; nothing over-commits the media.
 */
static void test_full_media(Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
    CramCache *c = open_cache(f, 1 * MiB, 16, true);    /* 256 media pages */
    GRand *r = g_rand_new_with_seed(3);
    uint8_t page[CRAM_PAGE_SIZE];
    CramStats st;
    int p;

    for (p = 0; p < 300; p++) {
        page_random(r, page);
        write_page(c, p, page);
        run_worker(f);
        st = stats(f);
        g_assert_cmpuint(st.media_used, <=, st.media_size);
    }
    cram_cache_flush(c);
    st = stats(f);
    drain(f);
    g_assert_cmpuint(f->dropped->len, ==, 300 - 256);
    g_assert_cmpuint(st.poisoned_pages, ==, 300 - 256);
    g_assert_cmpuint(st.pages[CRAM_KIND_RAW], ==, 256);
    g_assert_cmpuint(st.media_reserved, ==, 0);
    g_rand_free(r);
}

/*
 * Full media, drops that keep: a page whose new content finds no media
 * keeps the content it had stored (text, pages 0-99, rewritten last), or
 * zero if it had none, and nothing is poisoned.
 */
/* With @data, the cache is resized once the policy is set: it stays set */
static void test_full_media_keeps(Fixture *f, gconstpointer data)
{
    CramCache *c = open_cache(f, 1 * MiB, 16, true);    /* 256 media pages */
    GRand *r = g_rand_new_with_seed(3), *rt = g_rand_new_with_seed(4);
    uint8_t page[CRAM_PAGE_SIZE], want[CRAM_PAGE_SIZE];
    bool seen[400] = { 0 };
    uint64_t p, q;
    guint i;

    f->keeps = true;
    cram_cache_drop_keeps(c, true);
    if (data) {
        g_assert_true(cram_cache_resize(c, 32, NULL));
    }
    for (p = 0; p < 100; p++) {                         /* text: it fits */
        page_text(rt, page);
        write_page(c, p, page);
    }
    for (p = 0; p < 400; p++) {             /* full, then text rewritten */
        page_random(r, page);
        /*
         * whole: 8 bytes at a time, the first few random bytes in a text
         * page would still fit in its object, and be stored
         */
        cram_cache_write(c, (p + 100) % 400, 0, page, CRAM_PAGE_SIZE);
        run_worker(f);
    }
    cram_cache_flush(c);
    drain(f);
    g_assert_cmpuint(stats(f).poisoned_pages, ==, 0);
    g_assert_cmpuint(stats(f).failed_stores, >=, 400 - 256);
    for (i = 0; i < f->dropped->len; i++) {
        seen[g_array_index(f->dropped, uint64_t, i)] = true;
    }
    for (q = 0; q < 100; q++) {
        g_assert_true(seen[q]);
    }
    for (i = 0; i < f->dropped->len; i++) {
        p = g_array_index(f->dropped, uint64_t, i);
        memset(want, 0, sizeof(want));
        if (p < 100) {
            g_rand_set_seed(rt, 4);
            for (q = 0; q <= p; q++) {
                page_text(rt, want);
            }
        }
        read_page(c, p, page);
        g_assert_cmpmem(page, CRAM_PAGE_SIZE, want, CRAM_PAGE_SIZE);
    }
    g_rand_free(r);
    g_rand_free(rt);
}

#if !defined(__SANITIZE_ADDRESS__)
/* A page cache that cannot be mapped is an error, not an abort. */
static void test_no_mapping(void)
{
    CramEngine *e = new_engine(8 * GiB, 1 * MiB, CRAM_CODEC_ZSTD);

    if (g_test_subprocess()) {
        struct rlimit rl = { 256 * MiB, 256 * MiB };
        GError *err = NULL;
        CramCache *c;

        g_assert_cmpint(setrlimit(RLIMIT_AS, &rl), ==, 0);
        c = cram_cache_new(e, GiB / CRAM_PAGE_SIZE, true, 0, NULL, &err);
        g_assert_null(c);
        g_assert_nonnull(err);
        g_assert_nonnull(strstr(err->message, "cannot map"));
        g_error_free(err);
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_passed();
    cram_engine_free(e);
}
#endif

/* Poison: reads see all-ones; only a whole-page rewrite heals. */
static void test_poison(Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
    CramCache *c = open_cache(f, 64 * MiB, 8, true);
    uint8_t page[CRAM_PAGE_SIZE], out[CRAM_PAGE_SIZE];
    uint64_t ones = ~0ULL, v = 0;

    cram_engine_poison(f->e, 3);
    g_assert_true(cram_cache_read(c, 3, 8, &v, 8));
    g_assert_cmphex(v, ==, ones);
    v = 42;
    cram_cache_write(c, 3, 8, &v, 8);
    g_assert_false(cram_cache_read(c, 3, 8, &v, 8));    /* written */
    g_assert_cmphex(v, ==, 42);
    g_assert_true(cram_cache_read(c, 3, 0, &v, 8));     /* not written */
    cram_cache_flush(c);
    cram_cache_invalidate_all(c);
    g_assert_true(cram_engine_page_poisoned(f->e, 3));  /* partial: no */

    memset(page, 0x11, sizeof(page));
    write_page(c, 3, page);
    cram_cache_flush(c);
    g_assert_false(cram_engine_page_poisoned(f->e, 3));
    cram_cache_invalidate_all(c);
    read_page(c, 3, out);
    g_assert_cmpmem(out, sizeof(out), page, sizeof(page));
}

/*
 * Write-back policy: a hot set of up to half the cache stays dirty
 * (charged its worst case) and is never compressed behind the caller's
 * back; beyond three quarters of the cache the worker writes back the
 * oldest-queued pages, passing over once the ones used again since, and
 * stops at half.
 */
static void test_writeback_policy(Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
    CramCache *c = open_cache(f, 64 * MiB, 64, true);
    CramCacheStats cs;
    CramStats st;
    uint64_t v, p;
    int pass;

    /* 32 hot pages rewritten in many passes: no write-back at all. */
    for (pass = 0; pass < 50; pass++) {
        for (p = 0; p < 32; p++) {
            v = pass * 100 + p;
            cram_cache_write(c, (p * 7) % 32, 8 * pass, &v, 8);
        }
    }
    cs = run_worker(f);
    g_assert_cmpuint(cs.dirty, ==, 32);
    g_assert_cmpuint(cs.async_writebacks + cs.sync_writebacks, ==, 0);
    st = stats(f);
    g_assert_cmpuint(st.media_reserved, ==, 32 * CRAM_PAGE_SIZE);
    g_assert_cmpuint(st.media_used, >=, 32 * CRAM_PAGE_SIZE);
    cram_cache_flush(c);
    cram_cache_invalidate_all(c);

    /* Evicting clean cold pages around a hot set does not disturb it. */
    for (p = 1000; p < 1200; p++) {
        cram_cache_read(c, p, 0, &v, 8);
        v = p;
        cram_cache_write(c, p % 16, 0, &v, 8);
    }
    cs = run_worker(f);
    g_assert_cmpuint(cs.misses, >=, 200);
    g_assert_cmpuint(cs.dirty, ==, 16);
    g_assert_cmpuint(cs.async_writebacks, ==, 0);
    g_assert_cmpuint(cs.sync_writebacks, ==, 32);       /* the flush's */
    cram_cache_flush(c);
    cram_cache_invalidate_all(c);
    cram_cache_get_stats(c, &cs);
    g_assert_cmpuint(cs.sync_writebacks, ==, 48);
    free_cache(f);

    /*
     * A fresh cache, whose queue holds no freed entries from the above.
     * The worker's turn comes after the writes: hot pages 200..207 are
     * queued first but used again between the 52 cold pages 100..151,
     * each written once.  60 dirty pages >= 48: the worker stores the 28
     * oldest cold ones, 100..127, and stops at 32.
     */
    c = new_cache(f, 64, true);
    for (p = 200; p < 208; p++) {
        v = 1000 + p;
        cram_cache_write(c, p, 0, &v, 8);
    }
    for (p = 100; p < 152; p++) {
        v = 1000 + p;
        cram_cache_write(c, p, 0, &v, 8);
        cram_cache_write(c, 200 + p % 8, 8, &v, 8);
    }
    cram_cache_write(c, 151, 8, &v, 8);     /* the page in use is cold */
    cram_cache_get_stats(c, &cs);
    g_assert_cmpuint(cs.dirty, ==, 60);
    cs = run_worker(f);
    g_assert_cmpuint(cs.dirty, ==, 32);
    g_assert_cmpuint(cs.async_writebacks, ==, 28);
    g_assert_cmpuint(cs.sync_writebacks, ==, 0);
    st = stats(f);
    g_assert_cmpuint(st.media_reserved, ==, 32 * CRAM_PAGE_SIZE);

    /* Forget the dirty pages: only what the worker stored is left. */
    cram_cache_invalidate_all(c);
    st = stats(f);
    g_assert_cmpuint(st.media_reserved, ==, 0);
    for (p = 100; p < 208; p++) {
        if (p >= 152 && p < 200) {
            continue;
        }
        v = 0;
        cram_cache_read(c, p, 0, &v, 8);
        g_assert_cmpuint(v, ==, p >= 100 && p < 128 ? 1000 + p : 0);
    }
}

/*
 * A hot set above the wake mark, 56 pages of 64, written pass after
 * pass.  The first pass's pages were written once: the worker stores 24
 * of them, down to half.  From the second pass on, every dirty page was
 * used again since the worker last looked: it looks at each once, finds
 * them all in use, and is not woken again while no more pages turn
 * dirty.  So the set stays cached, charged its worst case, instead of
 * being compressed again at every pass; its data stays exact.
 */
static void test_writeback_hot_set(Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
    enum { HOT = 56, PASSES = 20 };
    CramCache *c = open_cache(f, 64 * MiB, 64, true);
    CramCacheStats cs;
    CramStats st;
    uint64_t v, p;
    int pass;

    for (pass = 0; pass < PASSES; pass++) {
        for (p = 0; p < HOT; p++) {
            v = pass * 1000 + p;
            cram_cache_write(c, 300 + p, 8 * pass, &v, 8);
        }
        cs = run_worker(f);   /* the worker's turn, if it has one */
        if (pass == 0) {
            g_assert_cmpuint(cs.async_writebacks, ==, HOT - 32);
        }
    }
    cram_cache_get_stats(c, &cs);
    g_assert_cmpuint(cs.dirty, ==, HOT);
    g_assert_cmpuint(cs.async_writebacks, ==, HOT - 32);
    g_assert_cmpuint(cs.sync_writebacks, ==, 0);
    st = stats(f);
    g_assert_cmpuint(st.media_reserved, ==, HOT * CRAM_PAGE_SIZE);

    /* Stored and read back: every pass's word where it wrote it. */
    cram_cache_flush(c);
    cram_cache_invalidate_all(c);
    for (p = 0; p < HOT; p++) {
        for (pass = 0; pass < PASSES; pass++) {
            cram_cache_read(c, 300 + p, 8 * pass, &v, 8);
            g_assert_cmpuint(v, ==, pass * 1000 + p);
        }
    }
    st = stats(f);
    g_assert_cmpuint(st.media_reserved, ==, 0);
}

/*
 * Pressure: once dirty pages reach the cold end of the LRU list (here
 * because the worker had no turn), the worker writes back every queued
 * page, down to the one in use.
 */
static void test_writeback_pressure(Fixture *f,
                                    G_GNUC_UNUSED gconstpointer data)
{
    CramCache *c = open_cache(f, 64 * MiB, 64, true);
    CramCacheStats cs;
    CramStats st;
    uint64_t v, p;

    for (p = 0; p < 100; p++) {
        v = p + 1;
        cram_cache_write(c, p, 0, &v, 8);
    }
    cram_cache_get_stats(c, &cs);
    g_assert_cmpuint(cs.sync_writebacks, ==, 100 - 64);    /* the victims */
    g_assert_cmpuint(cs.dirty, ==, 64);
    cs = run_worker(f);
    g_assert_cmpuint(cs.dirty, ==, 1);                      /* page 99 */
    g_assert_cmpuint(cs.async_writebacks, ==, 63);
    st = stats(f);
    g_assert_cmpuint(st.media_reserved, ==, CRAM_PAGE_SIZE);
    cram_cache_flush(c);
    cram_cache_invalidate_all(c);
    for (p = 0; p < 100; p++) {
        cram_cache_read(c, p, 0, &v, 8);
        g_assert_cmpuint(v, ==, p + 1);
    }
}

/* Take the next event, which must be @want, of @page (any: UINT64_MAX) */
static void take_is(CramCache *c, CramCacheEvent want, uint64_t page)
{
    CramCacheTaken t;

    g_assert_true(cram_cache_take(c, &t));
    g_assert_cmpint(t.ev, ==, want);
    if (page != UINT64_MAX) {
        g_assert_cmpuint(t.page, ==, page);
    }
}

/* Misses and write-backs are listed only while traced, in order. */
static void test_trace(Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
    CramCache *c = open_cache(f, 64 * MiB, 2, true);
    uint64_t v = 7, page, n[CRAM_CACHE_WRITEBACK_ASYNC + 1] = { 0 };
    CramCacheStats cs;
    CramCacheTaken t;

    cram_cache_write(c, 1, 0, &v, 8);           /* a miss, not traced */
    g_assert_false(cram_cache_has_taken(c));
    cram_cache_trace(c, true);
    cram_cache_read(c, 2, 0, &v, 8);
    cram_cache_write(c, 2, 0, &v, 8);
    cram_cache_read(c, 3, 0, &v, 8);            /* evicts dirty 1 */
    take_is(c, CRAM_CACHE_MISS, 2);
    take_is(c, CRAM_CACHE_MISS, 3);
    take_is(c, CRAM_CACHE_WRITEBACK_SYNC, 1);
    g_assert_false(cram_cache_take(c, &t));
    cram_cache_read(c, 4, 0, &v, 8);
    cram_cache_trace(c, false);                 /* off: they go */
    g_assert_false(cram_cache_has_taken(c));
    free_cache(f);

    /* The worker's write-backs: one event each, as counted */
    c = new_cache(f, 4, true);
    cram_cache_trace(c, true);
    for (page = 20; page < 26; page++) {
        cram_cache_write(c, page, 0, &v, 8);
    }
    cs = run_worker(f);
    g_assert_cmpuint(cs.async_writebacks, >, 0);
    while (cram_cache_take(c, &t)) {
        n[t.ev]++;
    }
    g_assert_cmpuint(n[CRAM_CACHE_MISS], ==, 6);
    g_assert_cmpuint(n[CRAM_CACHE_WRITEBACK_SYNC], ==, cs.sync_writebacks);
    g_assert_cmpuint(n[CRAM_CACHE_WRITEBACK_ASYNC], ==, cs.async_writebacks);
}

/*
 * Mapped: a write announced while the worker compresses the page's copy
 * (cram_cache_tlb_write() between taking and committing it) makes the
 * commit refuse that copy: the page stays dirty and charged, and the
 * worker's next pass stores it.
 */
static void test_tlb_write_busy(Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
    uint8_t buf[CRAM_PAGE_SIZE];
    CramCacheTicket t;
    CramCacheStats cs;
    CramEncoded enc;
    GError *err = NULL;
    CramMap *m;
    bool clean;
    uint64_t p;

    f->e = new_engine(64 * MiB, 64 * MiB, CRAM_CODEC_ZSTD);
    m = cram_map_new(64 * MiB, &err);
    g_assert_no_error(err);
    f->dropped = g_array_new(false, false, sizeof(uint64_t));
    f->scratch = cram_engine_scratch_new(f->e);
    f->c = cram_cache_new(f->e, 16, true, 0, m, &err);
    g_assert_no_error(err);

    /* 13 of 16 pages loaded clean, then written: the worker is woken */
    for (p = 0; p < 13; p++) {
        g_assert_true(cram_cache_prefill(f->c, p, 0, &clean));
        g_assert_true(clean);
        g_assert_true(cram_cache_tlb_write(f->c, p));
    }
    g_assert_true(cram_cache_take_wake(f->c));
    g_assert_true(cram_cache_worker_take(f->c, &t, buf));
    /* protected again for its copy: the next write is announced again */
    g_assert_true(cram_cache_tlb_write(f->c, t.page));
    cram_page_encode(f->scratch, buf, &enc);
    g_assert_false(cram_cache_worker_commit(f->c, &t, buf, &enc));
    cram_cache_get_stats(f->c, &cs);
    g_assert_cmpuint(cs.tlb_writes, ==, 14);
    g_assert_cmpuint(cs.dirty, ==, 13);
    g_assert_cmpuint(cs.async_writebacks, ==, 0);
    /* a page not cached is left to fault */
    g_assert_false(cram_cache_tlb_write(f->c, 100));

    cram_cache_flush(f->c);
    cram_cache_get_stats(f->c, &cs);
    g_assert_cmpuint(cs.dirty, ==, 0);
    g_assert_cmpuint(cs.sync_writebacks, ==, 13);
    free_cache(f);
    cram_map_free(m);
}

/* A test on a Fixture, which it opens and the teardown closes */
static void add_test(const char *path, gconstpointer data,
                     void (*fn)(Fixture *, gconstpointer))
{
    g_test_add(path, Fixture, data, NULL, fn, close_fixture);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    add_test("/cache/sync", NULL, test_sync);
    add_test("/cache/eviction-order", NULL, test_eviction_order);
    add_test("/cache/exact-after-flush", GINT_TO_POINTER(false),
             test_exact_after_flush);
    add_test("/cache/exact-after-flush-worker", GINT_TO_POINTER(true),
             test_exact_after_flush);
    add_test("/cache/writeback-policy", NULL, test_writeback_policy);
    add_test("/cache/writeback-hot-set", NULL, test_writeback_hot_set);
    add_test("/cache/writeback-pressure", NULL, test_writeback_pressure);
    add_test("/cache/full-media", NULL, test_full_media);
    add_test("/cache/full-media-keeps", NULL, test_full_media_keeps);
    add_test("/cache/full-media-keeps/resized", "resized",
             test_full_media_keeps);
    add_test("/cache/poison", NULL, test_poison);
    add_test("/cache/trace", NULL, test_trace);
    add_test("/cache/tlb-write-busy", NULL, test_tlb_write_busy);
#if !defined(__SANITIZE_ADDRESS__)
    g_test_add_func("/cache/no-mapping", test_no_mapping);
#endif
    return g_test_run();
}
