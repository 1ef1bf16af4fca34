/*
 * cxl-cram engine: page table unit tests
 *
 * Metadata per held page in every touch pattern over 1 TiB, dense leaf
 * promotion and demotion, and a random operation sequence against a
 * GHashTable model.  Then the iteration over the held entries of page
 * ranges (by lookups or by one walk of the table, whichever is cheaper),
 * with entries set and freed while it runs; the ordered runs of poisoned
 * pages; and the engine's discard of ranges and poison tags.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <stdlib.h>
#include <string.h>
#include "cram-pagetable.h"
#include "cram-export.h"

#define NPAGES_1T   (CRAM_MAX_CAPACITY / CRAM_PAGE_SIZE)
/* The target: 16 bytes a held page, once the table is past tiny. */
#define TARGET      16.0
#define SMALL       256

static uint32_t meta_for(uint64_t idx)
{
    static const CramPageKind kind[] = {
        CRAM_KIND_ZERO, CRAM_KIND_SAME, CRAM_KIND_COMPRESSED,
        CRAM_KIND_RAW,
    };
    CramPageKind c = kind[idx % 4];
    uint32_t size = c == CRAM_KIND_COMPRESSED ? 1 + idx % 4095 :
                    c == CRAM_KIND_RAW ? CRAM_PAGE_SIZE : 0;

    return cram_meta_make(c, size, 0);
}

/* A value @meta can hold: 64 bits for SAME, CRAM_PT_VALUE_BITS else. */
static uint64_t val_fit(uint32_t meta, uint64_t val)
{
    return meta == CRAM_KIND_SAME ? val : val & CRAM_PT_VALUE_MAX;
}

static uint64_t val_for(uint64_t idx)
{
    return val_fit(meta_for(idx), idx * 0x9e3779b97f4a7c15ULL);
}

static double per_page(const CramPageTable *pt)
{
    return pt->held ? (double)pt->bytes / pt->held : 0;
}

static void check_entry(const CramPageTable *pt, uint64_t idx)
{
    uint64_t val;

    g_assert_cmphex(cram_pt_get(pt, idx, &val), ==, meta_for(idx));
    g_assert_cmphex(val, ==, val_for(idx));
}

static void check_free(const CramPageTable *pt, uint64_t idx)
{
    uint64_t val = 1;

    g_assert_cmphex(cram_pt_get(pt, idx, &val), ==, 0);
    g_assert_cmphex(val, ==, 0);
}

/* Sets @n pages, checking bytes/page all the way; then removes them. */
static double run_pattern(const uint64_t *idx, uint64_t n, bool check_all)
{
    CramPageTable pt;
    double worst = 0;
    uint64_t i;

    cram_pt_init(&pt, NPAGES_1T);
    g_assert_cmpuint(pt.bytes, ==, 0);
    for (i = 0; i < n; i++) {
        cram_pt_set(&pt, idx[i], meta_for(idx[i]), val_for(idx[i]));
        if (pt.held >= SMALL) {
            worst = MAX(worst, per_page(&pt));
        }
    }
    g_assert_cmpuint(pt.held, ==, n);
    cram_pt_check(&pt);
    for (i = 0; i < n; i++) {
        if (check_all || i % 97 == 0) {
            check_entry(&pt, idx[i]);
        }
    }
    g_test_message("%" G_GUINT64_FORMAT " pages: %.2f B/page, worst %.2f, "
                   "%" G_GUINT64_FORMAT " dense leaves, %" G_GUINT64_FORMAT
                   " shards", n, per_page(&pt), worst, pt.dense, pt.shards);
    g_assert_cmpfloat(worst, <=, TARGET);
    /* Remove in another order than the inserts. */
    for (i = 0; i < n; i++) {
        uint64_t k = (i * 7919) % n;

        cram_pt_set(&pt, idx[k], 0, 0);
        check_free(&pt, idx[k]);
        if (i % 4099 == 0) {
            cram_pt_check(&pt);
        }
    }
    g_assert_cmpuint(pt.held, ==, 0);
    g_assert_cmpuint(pt.bytes, ==, 0);
    cram_pt_check(&pt);
    cram_pt_destroy(&pt);
    return worst;
}

static void test_empty(void)
{
    CramPageTable pt;

    cram_pt_init(&pt, NPAGES_1T);
    g_assert_cmpuint(pt.bytes, ==, 0);
    check_free(&pt, 0);
    check_free(&pt, NPAGES_1T / 2);
    check_free(&pt, NPAGES_1T - 1);
    /* Freeing what is free allocates nothing. */
    cram_pt_set(&pt, 12345, 0, 0);
    g_assert_cmpuint(pt.bytes, ==, 0);
    cram_pt_check(&pt);
    cram_pt_destroy(&pt);
}

static void test_dense(void)
{
    enum { N = 1 << 16 };
    uint64_t *idx = g_new(uint64_t, N);
    CramPageTable pt;
    uint64_t i;

    for (i = 0; i < N; i++) {
        idx[i] = i;
    }
    run_pattern(idx, N, true);

    /* All dense leaves: about 10.5 bytes a page. */
    cram_pt_init(&pt, NPAGES_1T);
    for (i = 0; i < N; i++) {
        cram_pt_set(&pt, NPAGES_1T - N + i, meta_for(i), val_for(i));
    }
    g_assert_cmpuint(pt.dense, ==, N / CRAM_PT_REGION_PAGES);
    g_assert_cmpfloat(per_page(&pt), <=, 11);
    cram_pt_check(&pt);
    cram_pt_clear_all(&pt);
    g_assert_cmpuint(pt.bytes, ==, 0);
    check_free(&pt, NPAGES_1T - 1);
    cram_pt_destroy(&pt);
    g_free(idx);
}

/* Distinct random pages over the whole 1 TiB. */
static void test_scattered(void)
{
    enum { N = 100000 };
    GHashTable *seen = g_hash_table_new(g_int64_hash, g_int64_equal);
    uint64_t *idx = g_new(uint64_t, N);
    GRand *r = g_rand_new_with_seed(11);
    uint64_t i = 0;

    while (i < N) {
        idx[i] = ((uint64_t)g_rand_int(r) << 32 | g_rand_int(r)) %
                 NPAGES_1T;
        if (g_hash_table_add(seen, &idx[i])) {
            i++;
        }
    }
    run_pattern(idx, N, true);
    g_hash_table_destroy(seen);
    g_rand_free(r);
    g_free(idx);
}

/* Strides that put 1, 2, 21, 32 or 63 pages in a region, and worse. */
static void test_strided(void)
{
    static const uint64_t strides[] = {
        2, 3, 32, 63, 64, 65, 4096, NPAGES_1T / 50000,
    };
    enum { N = 50000 };
    uint64_t *idx = g_new(uint64_t, N);
    unsigned s;
    uint64_t i;

    for (s = 0; s < G_N_ELEMENTS(strides); s++) {
        for (i = 0; i < N; i++) {
            idx[i] = (i * strides[s] + 5) % NPAGES_1T;
        }
        run_pattern(idx, N, false);
    }
    g_free(idx);
}

/* A region filled to 48 goes dense; emptied below 42 goes sparse again. */
static void test_promote_demote(void)
{
    const uint64_t base = 64 * 1000003ull;
    CramPageTable pt;
    uint64_t i, b0;

    cram_pt_init(&pt, NPAGES_1T);
    /* Neighbours in other regions that must not move. */
    for (i = 0; i < 1000; i++) {
        cram_pt_set(&pt, i * 64 * 3, meta_for(i * 192), val_for(i * 192));
    }
    for (i = 0; i < CRAM_PT_PROMOTE; i++) {
        g_assert_cmpuint(pt.dense, ==, 0);
        cram_pt_set(&pt, base + 63 - i, meta_for(base + 63 - i),
                    val_for(base + 63 - i));
        cram_pt_check(&pt);
    }
    g_assert_cmpuint(pt.dense, ==, 1);
    b0 = pt.bytes;
    for (i = 0; i < 64; i++) {
        if (i >= 64 - CRAM_PT_PROMOTE) {
            check_entry(&pt, base + i);
        } else {
            check_free(&pt, base + i);
        }
    }
    /* Filling the leaf costs nothing more. */
    for (i = 0; i < 64 - CRAM_PT_PROMOTE; i++) {
        cram_pt_set(&pt, base + i, meta_for(base + i), val_for(base + i));
    }
    g_assert_cmpuint(pt.bytes, ==, b0);
    /* Poison and overwrite in place. */
    cram_pt_set(&pt, base + 3,
                cram_meta_make(CRAM_KIND_EMPTY, 0, CRAM_META_POISON), 0);
    g_assert_cmphex(cram_meta_flags(cram_pt_get(&pt, base + 3, &i)), ==,
                    CRAM_META_POISON);
    cram_pt_set(&pt, base + 3, meta_for(base + 3), val_for(base + 3));
    for (i = 0; i < 64 - CRAM_PT_DEMOTE; i++) {
        g_assert_cmpuint(pt.dense, ==, 1);
        cram_pt_set(&pt, base + i, 0, 0);
    }
    g_assert_cmpuint(pt.dense, ==, 1);
    cram_pt_set(&pt, base + 63, 0, 0);
    g_assert_cmpuint(pt.dense, ==, 0);
    cram_pt_check(&pt);
    for (i = 0; i < 64; i++) {
        if (i >= 64 - CRAM_PT_DEMOTE && i != 63) {
            check_entry(&pt, base + i);
        } else {
            check_free(&pt, base + i);
        }
    }
    for (i = 0; i < 1000; i++) {
        check_entry(&pt, i * 64 * 3);
    }
    cram_pt_destroy(&pt);
}

static void test_meta_pack(void)
{
    static const uint32_t metas[] = {
        1, 2 | 4096 << CRAM_META_SIZE_SHIFT, 3 | 1 << CRAM_META_SIZE_SHIFT,
        3 | 4095 << CRAM_META_SIZE_SHIFT,
        4 | 4096 << CRAM_META_SIZE_SHIFT,
        CRAM_META_POISON << CRAM_META_FLAGS_SHIFT,
    };
    CramPageTable pt;
    uint64_t val;
    unsigned i;

    cram_pt_init(&pt, 1024);
    for (i = 0; i < G_N_ELEMENTS(metas); i++) {
        cram_pt_set(&pt, i, metas[i], val_fit(metas[i], ~0ull - i));
    }
    for (i = 0; i < G_N_ELEMENTS(metas); i++) {
        g_assert_cmphex(cram_pt_get(&pt, i, &val), ==, metas[i]);
        g_assert_cmphex(val, ==, val_fit(metas[i], ~0ull - i));
    }
    /* A page rewritten from SAME to another class and back, in place. */
    cram_pt_set(&pt, 1, metas[2], CRAM_PT_VALUE_MAX);
    g_assert_cmphex(cram_pt_get(&pt, 1, &val), ==, metas[2]);
    g_assert_cmphex(val, ==, CRAM_PT_VALUE_MAX);
    cram_pt_set(&pt, 1, CRAM_KIND_SAME, ~0ull);
    g_assert_cmphex(cram_pt_get(&pt, 1, &val), ==, CRAM_KIND_SAME);
    g_assert_cmphex(val, ==, ~0ull);
    cram_pt_check(&pt);
    cram_pt_destroy(&pt);
}

typedef struct ModelEntry {
    uint32_t meta;
    uint64_t val;
} ModelEntry;

typedef struct ForeachCheck {
    GHashTable *model;
    uint64_t seen;
} ForeachCheck;

static void foreach_cb(void *opaque, uint64_t idx, uint32_t meta,
                       uint64_t *val)
{
    ForeachCheck *fc = opaque;
    ModelEntry *m = g_hash_table_lookup(fc->model, &idx);

    g_assert_nonnull(m);
    g_assert_cmphex(meta, ==, m->meta);
    g_assert_cmphex(*val, ==, m->val);
    /* Moved handles are updated in place. */
    m->val = val_fit(meta, ~*val);
    *val = m->val;
    fc->seen++;
}

/*
 * Random sets, rewrites and frees against a GHashTable.  Pages come from
 * a few hot regions (promotion, demotion), a band of scattered ones
 * (splits) and the ends of the range.
 */
static void test_model(void)
{
    enum { OPS = 400000, HOT = 24 };
    GHashTable *model = g_hash_table_new_full(g_int64_hash, g_int64_equal,
                                              g_free, g_free);
    GRand *r = g_rand_new_with_seed(5);
    uint64_t hot[HOT];
    CramPageTable pt;
    GHashTableIter it;
    uint64_t max_dense = 0;
    ModelEntry *m;
    gpointer k, v;
    unsigned op, i;

    for (i = 0; i < HOT; i++) {
        hot[i] = g_rand_int_range(r, 0, NPAGES_1T >> 6) << 6;
    }
    hot[0] = 0;
    hot[1] = NPAGES_1T - 64;
    cram_pt_init(&pt, NPAGES_1T);
    for (op = 0; op < OPS; op++) {
        uint64_t idx, val;
        uint32_t meta;

        switch (g_rand_int_range(r, 0, 3)) {
        case 0:
            idx = hot[g_rand_int_range(r, 0, HOT)] + g_rand_int_range(r, 0, 64);
            break;
        case 1:
            idx = g_rand_int_range(r, 0, 1 << 22) * 61ull % NPAGES_1T;
            break;
        default:
            idx = g_rand_int_range(r, 0, 30000) * 8191ull % NPAGES_1T;
            break;
        }
        /* Free more than set while the table is big: it empties at times. */
        if (g_rand_int_range(r, 0, 100) < (op / 50000 % 2 ? 70 : 35)) {
            meta = 0;
            val = 0;
        } else if (g_rand_int_range(r, 0, 50) == 0) {
            meta = cram_meta_make(CRAM_KIND_EMPTY, 0, CRAM_META_POISON);
            val = 0;
        } else {
            meta = meta_for(g_rand_int(r));
            val = val_fit(meta, (uint64_t)g_rand_int(r) << 32 |
                                g_rand_int(r));
        }
        cram_pt_set(&pt, idx, meta, val);
        if (meta) {
            m = g_new(ModelEntry, 1);
            m->meta = meta;
            m->val = val;
            g_hash_table_insert(model, g_memdup2(&idx, sizeof(idx)), m);
        } else {
            g_hash_table_remove(model, &idx);
        }
        g_assert_cmphex(cram_pt_get(&pt, idx, &val), ==, meta);
        max_dense = MAX(max_dense, pt.dense);
        if (op % 20000 == 0) {
            cram_pt_check(&pt);
            g_assert_cmpuint(pt.held, ==, g_hash_table_size(model));
            g_hash_table_iter_init(&it, model);
            while (g_hash_table_iter_next(&it, &k, &v)) {
                m = v;
                g_assert_cmphex(cram_pt_get(&pt, *(uint64_t *)k, &val), ==,
                                m->meta);
                g_assert_cmphex(val, ==, m->val);
            }
            if (pt.held >= SMALL) {
                g_assert_cmpfloat(per_page(&pt), <=, TARGET + 0.5);
            }
        }
    }
    cram_pt_check(&pt);
    g_assert_cmpuint(max_dense, >, 0);
    {
        ForeachCheck fc = { .model = model };

        cram_pt_foreach(&pt, foreach_cb, &fc);
        g_assert_cmpuint(fc.seen, ==, g_hash_table_size(model));
    }
    g_hash_table_iter_init(&it, model);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        uint64_t val;

        m = v;
        g_assert_cmphex(cram_pt_get(&pt, *(uint64_t *)k, &val), ==, m->meta);
        g_assert_cmphex(val, ==, m->val);
        cram_pt_set(&pt, *(uint64_t *)k, 0, 0);
    }
    g_assert_cmpuint(pt.held, ==, 0);
    g_assert_cmpuint(pt.bytes, ==, 0);
    cram_pt_destroy(&pt);
    g_hash_table_destroy(model);
    g_rand_free(r);
}

/* A set of g_new()'d uint64_t keys. */
static GHashTable *u64_set(void)
{
    return g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* A table of 1 TiB: scattered pages, dense regions (leaves), clusters. */
static GHashTable *fill(CramPageTable *pt, GRand *r, unsigned scale)
{
    GHashTable *held = u64_set();
    unsigned i, k;

    cram_pt_init(pt, NPAGES_1T);
    for (i = 0; i < 40 * scale; i++) {
        uint64_t *idx = g_new(uint64_t, 1);

        *idx = (uint64_t)g_rand_int(r) << 32 | g_rand_int(r);
        *idx %= NPAGES_1T;
        g_hash_table_add(held, idx);
    }
    for (i = 0; i < scale; i++) {
        uint64_t base = g_rand_int_range(r, 0, NPAGES_1T / 64) * 64ull;
        unsigned n = g_rand_int_range(r, 1, 65);

        for (k = 0; k < n; k++) {
            uint64_t *idx = g_new(uint64_t, 1);

            *idx = base + (n == 64 ? k : (unsigned)g_rand_int_range(r, 0, 64));
            g_hash_table_add(held, idx);
        }
    }
    /* Pages at the edges of the capacity. */
    for (i = 0; i < 2; i++) {
        uint64_t *idx = g_new(uint64_t, 1);

        *idx = i ? NPAGES_1T - 1 : 0;
        g_hash_table_add(held, idx);
    }
    {
        GHashTableIter hi;
        gpointer key;

        g_hash_table_iter_init(&hi, held);
        while (g_hash_table_iter_next(&hi, &key, NULL)) {
            uint64_t idx = *(uint64_t *)key;

            cram_pt_set(pt, idx, meta_for(idx), val_for(idx));
        }
    }
    cram_pt_check(pt);
    g_assert_cmpuint(pt->held, ==, g_hash_table_size(held));
    return held;
}

static bool in_ranges(const CramPtRange *rg, unsigned nr, uint64_t idx)
{
    unsigned i;

    for (i = 0; i < nr; i++) {
        if (idx >= rg[i].first && idx < rg[i].end) {
            return true;
        }
    }
    return false;
}

/* Sorted, disjoint, non-empty ranges, sizes from a page to everything. */
static unsigned random_ranges(GRand *r, CramPtRange *rg, unsigned max)
{
    unsigned nr = g_rand_int_range(r, 1, max + 1), i, k = 0;
    uint64_t cuts[2 * 16];
    uint64_t span;

    switch (g_rand_int_range(r, 0, 4)) {
    case 0:
        span = 256;
        break;
    case 1:
        span = 1 << 20;
        break;
    default:
        span = NPAGES_1T;
    }
    if (span == NPAGES_1T && g_rand_boolean(r)) {
        rg[0].first = 0;
        rg[0].end = NPAGES_1T;
        return 1;
    }
    uint64_t base = g_rand_int_range(r, 0, (NPAGES_1T - span) / 64 + 1) * 64;

    for (i = 0; i < 2 * nr; i++) {
        cuts[i] = base + ((uint64_t)g_rand_int(r) << 32 | g_rand_int(r)) %
                  (span + 1);
    }
    qsort(cuts, 2 * nr, sizeof(cuts[0]), u64_cmp);
    for (i = 0; i < nr; i++) {
        if (cuts[2 * i] < cuts[2 * i + 1] &&
            (!k || rg[k - 1].end < cuts[2 * i])) {
            rg[k].first = cuts[2 * i];
            rg[k++].end = cuts[2 * i + 1];
        }
    }
    if (!k) {
        rg[0].first = base;
        rg[0].end = base + 1;
        k = 1;
    }
    return k;
}

/* Every held entry of the ranges, once, with its meta and value. */
static void check_iter(CramPageTable *pt, GHashTable *held,
                       const CramPtRange *rg, unsigned nr, bool *walked)
{
    GHashTable *seen = u64_set();
    GHashTableIter hi;
    gpointer key;
    uint64_t idx, val, want = 0;
    uint32_t meta;
    CramPtIter it;

    cram_pt_iter_init(pt, &it, rg, nr);
    walked[it.walk] = true;
    while (cram_pt_iter_next(pt, &it, &idx, &meta, &val)) {
        uint64_t *k = g_new(uint64_t, 1);

        g_assert_true(in_ranges(rg, nr, idx));
        g_assert_true(g_hash_table_contains(held, &idx));
        g_assert_cmphex(meta, ==, meta_for(idx));
        g_assert_cmphex(val, ==, val_for(idx));
        *k = idx;
        g_assert_true(g_hash_table_add(seen, k));
    }
    g_hash_table_iter_init(&hi, held);
    while (g_hash_table_iter_next(&hi, &key, NULL)) {
        want += in_ranges(rg, nr, *(uint64_t *)key);
    }
    g_assert_cmpuint(g_hash_table_size(seen), ==, want);
    g_hash_table_destroy(seen);
}

static void test_iter_model(void)
{
    GRand *r = g_rand_new_with_seed(20261206);
    bool walked[2] = { false, false };
    CramPtRange rg[16];
    CramPageTable pt;
    GHashTable *held = fill(&pt, r, 200);
    unsigned i;

    for (i = 0; i < 400; i++) {
        unsigned nr = random_ranges(r, rg, 16);

        check_iter(&pt, held, rg, nr, walked);
    }
    /* Both ways were taken: lookups for small ranges, a walk for large. */
    g_assert_true(walked[0] && walked[1]);
    cram_pt_destroy(&pt);
    g_hash_table_destroy(held);
    g_rand_free(r);
}

/*
 * Entries freed as they are visited (what a discard does), others freed
 * before their turn, and new ones added, while the iteration runs: every
 * entry held throughout is visited exactly once, no freed one is.
 */
static void test_iter_mutate(void)
{
    GRand *r = g_rand_new_with_seed(7);
    unsigned round;

    bool walked[2] = { false, false };

    for (round = 0; round < 24; round++) {
        CramPtRange rg[16];
        CramPageTable pt;
        GHashTable *held = fill(&pt, r, 100);
        GHashTable *gone = u64_set();
        GHashTable *seen = u64_set();
        unsigned nr = random_ranges(r, rg, 16), extra = 0;
        GHashTableIter hi;
        gpointer key;
        uint64_t idx, val, want = 0;
        uint32_t meta;
        CramPtIter it;

        cram_pt_iter_init(&pt, &it, rg, nr);
        walked[it.walk] = true;
        while (cram_pt_iter_next(&pt, &it, &idx, &meta, &val)) {
            uint64_t *k = g_new(uint64_t, 1), other;

            *k = idx;
            g_assert_true(in_ranges(rg, nr, idx));
            g_assert_false(g_hash_table_contains(gone, &idx));
            if (!g_hash_table_contains(held, &idx)) {
                g_assert_cmphex(val, ==, 0x5a5a);   /* one added here */
            } else {
                g_assert_cmphex(meta, ==, meta_for(idx));
                g_assert_cmphex(val, ==, val_for(idx));
            }
            g_assert_true(g_hash_table_add(seen, k));
            cram_pt_set(&pt, idx, 0, 0);
            /* Free a neighbour not seen yet, add a page somewhere. */
            other = idx + g_rand_int_range(r, 1, 200);
            if (other < NPAGES_1T && !g_hash_table_contains(seen, &other) &&
                cram_pt_get(&pt, other, &val) &&
                g_hash_table_contains(held, &other)) {
                uint64_t *g = g_new(uint64_t, 1);

                *g = other;
                cram_pt_set(&pt, other, 0, 0);
                g_hash_table_add(gone, g);
            }
            if (extra < 300) {
                other = ((uint64_t)g_rand_int(r) << 32 | g_rand_int(r)) %
                        NPAGES_1T;
                if (!cram_pt_get(&pt, other, &val) &&
                    !g_hash_table_contains(seen, &other) &&
                    !g_hash_table_contains(gone, &other)) {
                    cram_pt_set(&pt, other,
                                cram_meta_make(CRAM_KIND_RAW,
                                               CRAM_PAGE_SIZE, 0), 0x5a5a);
                    extra++;
                }
            }
        }
        g_hash_table_iter_init(&hi, held);
        while (g_hash_table_iter_next(&hi, &key, NULL)) {
            idx = *(uint64_t *)key;
            if (in_ranges(rg, nr, idx) && !g_hash_table_contains(gone, &idx)) {
                want++;
                g_assert_true(g_hash_table_contains(seen, &idx));
                g_assert_cmphex(cram_pt_get(&pt, idx, &val), ==, 0);
            }
        }
        g_assert_cmpuint(g_hash_table_size(seen), >=, want);
        cram_pt_check(&pt);
        cram_pt_destroy(&pt);
        g_hash_table_destroy(held);
        g_hash_table_destroy(gone);
        g_hash_table_destroy(seen);
    }
    g_assert_true(walked[0] && walked[1]);
    g_rand_free(r);
}

/* An empty table, an empty set of ranges, and a table that empties. */
static void test_iter_edges(void)
{
    CramPtRange all = { 0, NPAGES_1T }, one = { 5, 6 };
    uint64_t idx, val;
    uint32_t meta;
    CramPageTable pt;
    CramPtIter it;

    cram_pt_init(&pt, NPAGES_1T);
    cram_pt_iter_init(&pt, &it, &all, 1);
    g_assert_false(cram_pt_iter_next(&pt, &it, &idx, &meta, &val));
    cram_pt_set(&pt, 5, meta_for(5), val_for(5));
    cram_pt_set(&pt, 6, meta_for(6), val_for(6));
    cram_pt_iter_init(&pt, &it, &all, 0);
    g_assert_false(cram_pt_iter_next(&pt, &it, &idx, &meta, &val));
    cram_pt_iter_init(&pt, &it, &one, 1);
    g_assert_true(cram_pt_iter_next(&pt, &it, &idx, &meta, &val));
    g_assert_cmpuint(idx, ==, 5);
    g_assert_false(cram_pt_iter_next(&pt, &it, &idx, &meta, &val));
    /* The last entry freed frees the table; the walk ends there. */
    cram_pt_iter_init(&pt, &it, &all, 1);
    while (cram_pt_iter_next(&pt, &it, &idx, &meta, &val)) {
        cram_pt_set(&pt, idx, 0, 0);
    }
    g_assert_cmpuint(pt.held, ==, 0);
    g_assert_cmpuint(pt.bytes, ==, 0);
    cram_pt_destroy(&pt);
}

#define POISONED    cram_meta_make(CRAM_KIND_EMPTY, 0, CRAM_META_POISON)

typedef struct PoisonModel {
    GArray *pages;          /* uint64_t: page << 8 | tag, sorted */
} PoisonModel;

static void model_collect(CramPageTable *pt, PoisonModel *m)
{
    CramPtRange all = { 0, pt->npages };
    uint64_t idx, val, x;
    uint32_t meta;
    CramPtIter it;

    g_array_set_size(m->pages, 0);
    cram_pt_iter_init(pt, &it, &all, 1);
    while (cram_pt_iter_next(pt, &it, &idx, &meta, &val)) {
        if (cram_meta_flags(meta) & CRAM_META_POISON) {
            x = idx << 8 | val;
            g_array_append_val(m->pages, x);
        }
    }
    g_array_sort(m->pages, u64_cmp);
}

/* The runs in [from, end), from the model and from the table. */
static void check_runs(CramPageTable *pt, PoisonModel *m, uint64_t from,
                       uint64_t end)
{
    guint i = 0, n = m->pages->len;
    uint64_t at = from;

    while (i < n && g_array_index(m->pages, uint64_t, i) >> 8 < from) {
        i++;
    }
    for (;;) {
        uint64_t first, len, tag, wfirst, wtag, p;
        bool got = cram_pt_poison_run(pt, at, end, &first, &len, &tag);

        if (i == n || g_array_index(m->pages, uint64_t, i) >> 8 >= end) {
            g_assert_false(got);
            return;
        }
        g_assert_true(got);
        wfirst = g_array_index(m->pages, uint64_t, i) >> 8;
        wtag = g_array_index(m->pages, uint64_t, i) & 0xff;
        p = wfirst;
        while (i < n && g_array_index(m->pages, uint64_t, i) ==
               (p << 8 | wtag) && p < end) {
            i++;
            p++;
        }
        g_assert_cmpuint(first, ==, wfirst);
        g_assert_cmpuint(len, ==, p - wfirst);
        g_assert_cmpuint(tag, ==, wtag);
        at = first + len;
    }
}

static void test_poison_runs(void)
{
    GRand *r = g_rand_new_with_seed(99);
    PoisonModel m = { g_array_new(FALSE, FALSE, sizeof(uint64_t)) };
    CramPageTable pt;
    GHashTable *held = fill(&pt, r, 50);
    unsigned i, k;

    /* Scattered poison, runs across regions and leaves, two tags. */
    for (i = 0; i < 3000; i++) {
        uint64_t idx = ((uint64_t)g_rand_int(r) << 32 | g_rand_int(r)) %
                       NPAGES_1T;

        cram_pt_set(&pt, idx, POISONED, 2 + g_rand_int_range(r, 0, 2));
    }
    for (i = 0; i < 20; i++) {
        uint64_t base = ((uint64_t)g_rand_int(r) << 32 | g_rand_int(r)) %
                        (NPAGES_1T - 1000);
        unsigned len = g_rand_int_range(r, 1, 1000), tag = 2 + i % 2;

        for (k = 0; k < len; k++) {
            cram_pt_set(&pt, base + k, POISONED, tag);
        }
    }
    /* A run to the last page. */
    for (k = 0; k < 130; k++) {
        cram_pt_set(&pt, NPAGES_1T - 1 - k, POISONED, 3);
    }
    cram_pt_check(&pt);
    model_collect(&pt, &m);
    check_runs(&pt, &m, 0, NPAGES_1T);
    for (i = 0; i < 200; i++) {
        uint64_t a = ((uint64_t)g_rand_int(r) << 32 | g_rand_int(r)) %
                     NPAGES_1T;
        uint64_t b = a + g_rand_int_range(r, 1, 1 << 24);

        check_runs(&pt, &m, a, MIN(b, NPAGES_1T));
    }
    /* Heal half of it: the ordered set follows. */
    for (i = 0; i < m.pages->len; i += 2) {
        uint64_t idx = g_array_index(m.pages, uint64_t, i) >> 8;

        cram_pt_set(&pt, idx, g_rand_boolean(r) ? 0 : meta_for(idx),
                    val_for(idx));
    }
    cram_pt_check(&pt);
    model_collect(&pt, &m);
    check_runs(&pt, &m, 0, NPAGES_1T);
    /* Heal the rest: nothing is left of the set. */
    for (i = 0; i < m.pages->len; i++) {
        cram_pt_set(&pt, g_array_index(m.pages, uint64_t, i) >> 8, 0, 0);
    }
    cram_pt_check(&pt);
    g_assert_null(pt.pbox);
    g_assert_cmpuint(pt.poison_regions, ==, 0);
    g_assert_false(cram_pt_poison_run(&pt, 0, NPAGES_1T, &(uint64_t){0},
                                      &(uint64_t){0}, &(uint64_t){0}));
    cram_pt_destroy(&pt);
    g_hash_table_destroy(held);
    g_array_free(m.pages, TRUE);
    g_rand_free(r);
}

/*
 * A box of the ordered set becomes a bitmap above 4096 poisoned regions
 * and an array again under 2048; the figures and the runs stay right.
 */
static void test_poison_boxes(void)
{
    PoisonModel m = { g_array_new(FALSE, FALSE, sizeof(uint64_t)) };
    CramPageTable pt;
    uint64_t i;

    cram_pt_init(&pt, NPAGES_1T);
    for (i = 0; i < 6000; i++) {
        cram_pt_set(&pt, i * 64 + i % 64, POISONED, 2);
        cram_pt_set(&pt, i * 64 + (i + 1) % 64, meta_for(i), val_for(i));
    }
    cram_pt_check(&pt);
    g_assert_cmpuint(pt.poison_regions, ==, 6000);
    model_collect(&pt, &m);
    check_runs(&pt, &m, 0, NPAGES_1T);
    check_runs(&pt, &m, 100 * 64 + 7, 5000 * 64);
    for (i = 0; i < 5000; i++) {
        cram_pt_set(&pt, i * 64 + i % 64, 0, 0);
    }
    cram_pt_check(&pt);
    g_assert_cmpuint(pt.poison_regions, ==, 1000);
    model_collect(&pt, &m);
    check_runs(&pt, &m, 0, NPAGES_1T);
    cram_pt_destroy(&pt);
    g_array_free(m.pages, TRUE);
}

/* Host memory per poisoned page, scattered and in one run (reported). */
static void test_poison_bytes(void)
{
    static const uint64_t counts[] = { 10000, 100000 };
    unsigned c;

    for (c = 0; c < G_N_ELEMENTS(counts); c++) {
        CramPageTable pt;
        uint64_t i, n = counts[c];
        double scattered, run;

        cram_pt_init(&pt, NPAGES_1T);
        for (i = 0; i < n; i++) {
            cram_pt_set(&pt, (i * 2654435761u) % NPAGES_1T, POISONED, 2);
        }
        cram_pt_check(&pt);
        scattered = (double)pt.bytes / pt.held;
        cram_pt_clear_all(&pt);
        for (i = 0; i < n; i++) {
            cram_pt_set(&pt, 12345 + i, POISONED, 2);
        }
        cram_pt_check(&pt);
        run = (double)pt.bytes / pt.held;
        g_test_message("%" G_GUINT64_FORMAT " poisoned pages: %.2f B/page "
                       "scattered, %.2f B/page in one run", n, scattered,
                       run);
        /* The page table's own 16 B target, plus the ordered set's few. */
        g_assert_cmpfloat(scattered, <, 24);
        g_assert_cmpfloat(run, <, 12);
        cram_pt_destroy(&pt);
    }
}

static void fill_page(uint8_t *p, uint64_t idx)
{
    unsigned i;

    for (i = 0; i < CRAM_PAGE_SIZE; i += 8) {
        uint64_t w = idx * 31 + i / 64;

        memcpy(p + i, &w, 8);
    }
}

/*
 * The engine's discard of ranges: a 1 TiB engine holding 10^4 pages
 * (and poison) discards exactly the pages in its ranges, overlapping
 * and empty ones included, and all of them when a range is everything.
 */
static void test_engine_discard_ranges(void)
{
    CramConfig cfg = {
        .capacity = CRAM_MAX_CAPACITY, .media_size = 256ull << 20,
        .codec = CRAM_CODEC_LZ4,
    };
    CramEngine *e = cram_engine_new(&cfg, NULL);
    GRand *r = g_rand_new_with_seed(5);
    CramRange rg[5] = {
        { 1000, 5000 }, { 3000, 100 }, { 1ull << 27, 1ull << 26 },
        { 77, 0 }, { NPAGES_1T - 10, 10 },
    };
    CramRange all = { 0, NPAGES_1T };
    uint8_t page[CRAM_PAGE_SIZE], out[CRAM_PAGE_SIZE];
    GArray *pages = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    uint64_t i, expect = 0, poisoned = 0;
    CramStats st;
    gint64 t0;

    for (i = 0; i < 10000; i++) {
        uint64_t idx = i < 3000 ? 900 + i * 2 :
                       ((uint64_t)g_rand_int(r) << 32 | g_rand_int(r)) %
                       NPAGES_1T;

        fill_page(page, idx);
        g_assert_cmpint(cram_engine_store(e, idx, page), ==, 0);
        if (i % 17 == 0) {
            cram_engine_poison_tagged(e, idx, 3);
        }
        g_array_append_val(pages, idx);
    }
    g_array_sort(pages, u64_cmp);
    cram_engine_get_stats(e, &st);
    for (i = 0; i < pages->len; i++) {
        uint64_t idx = g_array_index(pages, uint64_t, i);
        unsigned k;

        if (i && idx == g_array_index(pages, uint64_t, i - 1)) {
            continue;
        }
        for (k = 0; k < G_N_ELEMENTS(rg); k++) {
            if (idx - rg[k].first < rg[k].n) {
                expect++;
                poisoned += cram_engine_page_poisoned(e, idx);
                break;
            }
        }
    }
    g_assert_cmpuint(cram_engine_discard_ranges(e, rg, G_N_ELEMENTS(rg)),
                     ==, expect);
    for (i = 0; i < pages->len; i++) {
        uint64_t idx = g_array_index(pages, uint64_t, i);
        bool in = false;
        unsigned k;

        for (k = 0; k < G_N_ELEMENTS(rg); k++) {
            in |= idx - rg[k].first < rg[k].n;
        }
        if (in) {
            g_assert_cmpint(cram_engine_page_kind(e, idx), ==,
                            CRAM_KIND_EMPTY);
            g_assert_false(cram_engine_page_poisoned(e, idx));
        } else if (!cram_engine_page_poisoned(e, idx)) {
            fill_page(page, idx);
            cram_engine_load(e, idx, out);
            g_assert_cmpmem(out, sizeof(out), page, sizeof(page));
        }
    }
    {
        CramStats st2;

        cram_engine_get_stats(e, &st2);
        g_assert_cmpuint(st2.discards, ==, st.discards + expect);
        g_assert_cmpuint(st2.poisoned_pages, ==, st.poisoned_pages - poisoned);
    }
    /* Everything, timed (reported only). */
    t0 = g_get_monotonic_time();
    cram_engine_discard_ranges(e, &all, 1);
    g_test_message("whole 1 TiB discard of %" G_GUINT64_FORMAT " pages: "
                   "%.3f ms", st.pages[CRAM_KIND_COMPRESSED] +
                   st.pages[CRAM_KIND_RAW] - expect,
                   (g_get_monotonic_time() - t0) / 1000.0);
    cram_engine_get_stats(e, &st);
    g_assert_cmpuint(st.media_used, ==, 0);
    g_assert_cmpuint(st.poisoned_pages, ==, 0);
    g_assert_cmpuint(st.logical_bytes, ==, 0);
    g_assert_false(cram_engine_poison_run(e, 0, NPAGES_1T, &i, &i,
                                          &(unsigned){0}));
    g_array_free(pages, TRUE);
    g_rand_free(r);
    cram_engine_free(e);
}

/* Tags: kept per page, not replaced by a second poisoning, exported. */
static void test_engine_poison_tags(void)
{
    CramConfig cfg = {
        .capacity = 1ull << 30, .media_size = 16ull << 20,
        .codec = CRAM_CODEC_ZSTD,
    };
    CramEngine *e = cram_engine_new(&cfg, NULL);
    CramEngine *b = cram_engine_new(&cfg, NULL);
    uint64_t first, n;
    unsigned tag, i;
    CramPageRecord rec;
    CramExport *x;
    CramImport *im;
    CramStats st;

    for (i = 10; i < 20; i++) {
        cram_engine_poison_tagged(e, i, i < 15 ? 2 : 3);
    }
    cram_engine_poison(e, 20);
    g_assert_cmpint(cram_engine_poison_tag(e, 12), ==, 2);
    g_assert_cmpint(cram_engine_poison_tag(e, 20), ==, 0);
    g_assert_cmpint(cram_engine_poison_tag(e, 21), ==, -1);
    g_assert_true(cram_engine_poison_run(e, 0, 1000, &first, &n, &tag));
    g_assert_cmpuint(first, ==, 10);
    g_assert_cmpuint(n, ==, 5);
    g_assert_cmpuint(tag, ==, 2);
    g_assert_true(cram_engine_poison_run(e, 12, 17, &first, &n, &tag));
    g_assert_cmpuint(first, ==, 12);
    g_assert_cmpuint(n, ==, 3);
    cram_engine_poison_tagged(e, 14, 3);        /* poisoned: no change */
    g_assert_cmpint(cram_engine_poison_tag(e, 14), ==, 2);
    cram_engine_discard(e, 14);                 /* poison and tag go */
    g_assert_cmpint(cram_engine_poison_tag(e, 14), ==, -1);
    cram_engine_poison_tagged(e, 14, 3);
    g_assert_true(cram_engine_poison_run(e, 14, 1000, &first, &n, &tag));
    g_assert_cmpuint(first, ==, 14);
    g_assert_cmpuint(n, ==, 6);
    g_assert_cmpuint(tag, ==, 3);
    cram_engine_get_stats(e, &st);
    g_assert_cmpuint(st.poisoned_pages, ==, 11);

    x = cram_export_new(e);
    im = cram_import_new(b, CRAM_POISON_TAG_MAX, NULL);
    while (cram_export_next(x, &rec)) {
        g_assert_true(cram_import_page(im, &rec, NULL));
    }
    cram_export_free(x);
    g_assert_true(cram_import_finish(im, &st, NULL));
    for (i = 0; i < 25; i++) {
        g_assert_cmpint(cram_engine_poison_tag(b, i), ==,
                        cram_engine_poison_tag(e, i));
    }
    /* A tag on a page that is not poisoned is refused. */
    im = cram_import_new(b, CRAM_POISON_TAG_MAX, NULL);
    memset(&rec, 0, sizeof(rec));
    rec.page = 3;
    rec.kind = CRAM_KIND_ZERO;
    rec.poison_tag = 2;
    g_assert_false(cram_import_page(im, &rec, NULL));
    cram_import_abort(im);
    cram_engine_free(e);
    cram_engine_free(b);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/pagetable/empty", test_empty);
    g_test_add_func("/pagetable/meta-pack", test_meta_pack);
    g_test_add_func("/pagetable/dense", test_dense);
    g_test_add_func("/pagetable/scattered", test_scattered);
    g_test_add_func("/pagetable/strided", test_strided);
    g_test_add_func("/pagetable/promote-demote", test_promote_demote);
    g_test_add_func("/pagetable/model", test_model);
    g_test_add_func("/pagetable/range/iter-model", test_iter_model);
    g_test_add_func("/pagetable/range/iter-mutate", test_iter_mutate);
    g_test_add_func("/pagetable/range/iter-edges", test_iter_edges);
    g_test_add_func("/pagetable/range/poison-runs", test_poison_runs);
    g_test_add_func("/pagetable/range/poison-boxes", test_poison_boxes);
    g_test_add_func("/pagetable/range/poison-bytes", test_poison_bytes);
    g_test_add_func("/pagetable/range/engine-discard",
                    test_engine_discard_ranges);
    g_test_add_func("/pagetable/range/engine-poison-tags",
                    test_engine_poison_tags);
    return g_test_run();
}
