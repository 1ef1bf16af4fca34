/*
 * Unit tests of the mapped store: cached pages in place in a mapping of
 * the whole capacity, read and written there directly (as a guest does
 * through a RAM region over it), faults served by the store's fault
 * thread, accounting and write-back as through the store's own calls.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <sys/mman.h>
#include "cram-store.h"
#include "test-pages.h"

#define DROP_TAG 2

typedef struct Mapped {
    CramStore *s;
    uint8_t *map;
    GThread *worker, *faults;
    gint faulted;               /* cfg.faulted() calls */
} Mapped;

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

static void on_faulted(void *opaque)
{
    Mapped *m = opaque;

    g_atomic_int_inc(&m->faulted);
}

static void mapped_new(Mapped *m, uint64_t media, size_t pages)
{
    CramStoreConfig cfg = {
        .cache_pages = pages,
        .worker = true,
        .mapped = true,
        .drop_tag = DROP_TAG,
        .faulted = on_faulted,
        .opaque = m,
    };
    GError *err = NULL;

    m->faulted = 0;
    m->s = cram_store_new(new_engine(8 * GiB, media, CRAM_CODEC_ZSTD), &cfg,
                          &err);
    g_assert_no_error(err);
    m->map = cram_store_map(m->s);
    g_assert_nonnull(m->map);
    m->worker = g_thread_new("cram-worker", worker_main, m->s);
    m->faults = g_thread_new("cram-faults", faults_main, m->s);
}

static void mapped_free(Mapped *m)
{
    cram_store_worker_stop(m->s);
    g_thread_join(m->worker);
    cram_store_fault_stop(m->s);
    g_thread_join(m->faults);
    cram_store_free(m->s);
}

/* Pages of [first, first + n) present in the mapping */
static unsigned resident(Mapped *m, uint64_t first, uint64_t n)
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

/* Page @p's content in round @round: text or random, by parity */
static void content(int p, int round, uint8_t *page)
{
    GRand *r = g_rand_new_with_seed(p * 1000 + round);

    if ((p + round) % 2) {
        page_text(r, page);
    } else {
        page_random(r, page);
    }
    g_rand_free(r);
}

/*
 * Pages stored through the store's calls read back directly, each
 * loaded on its first touch; no more pages are resident than the cache
 * holds.
 */
static void test_mapped_read(void)
{
    uint8_t page[CRAM_PAGE_SIZE];
    CramCacheStats cs;
    Mapped m;
    int p;

    mapped_new(&m, 64 * MiB, 16);
    for (p = 0; p < 64; p++) {
        content(p, 0, page);
        cram_store_access(m.s, p * CRAM_PAGE_SIZE, page, sizeof(page), true,
                          NULL);
    }
    cram_store_flush(m.s);
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
    mapped_free(&m);
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
    Mapped m;
    int p;

    mapped_new(&m, 64 * MiB, 32);
    for (p = 0; p < 8; p++) {
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
    mapped_free(&m);
}

typedef struct Writer {
    Mapped *m;
    int rounds;
} Writer;

/* A vCPU writing pages 0..127 directly, 8 bytes at a time, round after round */
static gpointer writer_main(gpointer opaque)
{
    Writer *w = opaque;
    uint8_t page[CRAM_PAGE_SIZE];
    int round, p;
    unsigned off;

    for (round = 0; round < w->rounds; round++) {
        for (p = 0; p < 128; p++) {
            content(p, round, page);
            for (off = 0; off < CRAM_PAGE_SIZE; off += 8) {
                memcpy(w->m->map + p * CRAM_PAGE_SIZE + off, page + off, 8);
            }
        }
    }
    return NULL;
}

/*
 * A direct writer, a reader through the store's calls and the worker
 * race over more pages than the cache holds; at the end every page
 * holds its last round, through both ways of reading it.
 */
static void test_mapped_race(void)
{
    uint8_t want[CRAM_PAGE_SIZE], got[CRAM_PAGE_SIZE];
    Writer w;
    GThread *t;
    Mapped m;
    int p, i;

    mapped_new(&m, 64 * MiB, 24);
    w = (Writer) { &m, 4 };
    t = g_thread_new("writer", writer_main, &w);
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
    mapped_free(&m);
}

/* A discarded page is gone from the mapping too: it reads as zero. */
static void test_mapped_discard(void)
{
    CramRange r = { .first = 5, .n = 1 };
    CramStats st;
    Mapped m;

    mapped_new(&m, 64 * MiB, 16);
    memset(m.map + 5 * CRAM_PAGE_SIZE, 0x77, CRAM_PAGE_SIZE);
    cram_store_flush(m.s);
    cram_store_discard_ranges(m.s, &r, 1);
    g_assert_cmpuint(resident(&m, 5, 1), ==, 0);
    g_assert_cmpuint(m.map[5 * CRAM_PAGE_SIZE + 100], ==, 0);
    cram_store_get_stats(m.s, &st, NULL, NULL);
    g_assert_cmpuint(st.logical_bytes, ==, 0);
    mapped_free(&m);
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
    Mapped m;
    int p;

    mapped_new(&m, 1 * MiB, 16);                /* 256 media pages */
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
    mapped_free(&m);
    g_rand_free(r);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/map/read", test_mapped_read);
    g_test_add_func("/map/write", test_mapped_write);
    g_test_add_func("/map/race", test_mapped_race);
    g_test_add_func("/map/discard", test_mapped_discard);
    g_test_add_func("/map/short", test_mapped_short);
    return g_test_run();
}
