/*
 * cxl-cram engine: page table unit tests
 *
 * Metadata per held page in every touch pattern over 1 TiB, dense leaf
 * promotion and demotion, and a random operation sequence against a
 * GHashTable model.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <string.h>
#include "cram-pagetable.h"

#define NPAGES_1T   (CRAM_MAX_CAPACITY / CRAM_PAGE_SIZE)
/* The target: 16 bytes a held page, once the table is past tiny. */
#define TARGET      16.0
#define SMALL       256

static uint32_t meta_for(uint64_t idx)
{
    static const CramPageClass cls[] = {
        CRAM_CLASS_ZERO, CRAM_CLASS_SAME, CRAM_CLASS_COMPRESSED,
        CRAM_CLASS_RAW,
    };
    CramPageClass c = cls[idx % 4];
    uint32_t size = c == CRAM_CLASS_COMPRESSED ? 1 + idx % 4095 :
                    c == CRAM_CLASS_RAW ? CRAM_PAGE_SIZE : 0;

    return cram_meta_make(c, size, 0);
}

/* A value @meta can hold: 64 bits for SAME, CRAM_PT_VALUE_BITS else. */
static uint64_t val_fit(uint32_t meta, uint64_t val)
{
    return meta == CRAM_CLASS_SAME ? val : val & CRAM_PT_VALUE_MAX;
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
                cram_meta_make(CRAM_CLASS_EMPTY, 0, CRAM_META_POISON), 0);
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
    cram_pt_set(&pt, 1, CRAM_CLASS_SAME, ~0ull);
    g_assert_cmphex(cram_pt_get(&pt, 1, &val), ==, CRAM_CLASS_SAME);
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
            meta = cram_meta_make(CRAM_CLASS_EMPTY, 0, CRAM_META_POISON);
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
    return g_test_run();
}
