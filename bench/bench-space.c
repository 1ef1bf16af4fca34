/*
 * cxl-cram engine benchmarks: media efficiency, churn and metadata
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include <string.h>
#include "bench.h"
#include "cram-pagetable.h"

#define GiB (1ULL << 30)

static CramEngine *engine_new(CramCodecId codec, uint64_t capacity,
                              uint64_t media)
{
    CramConfig cfg = {
        .capacity = capacity,
        .media_size = media,
        .codec = codec,
        .level = 0,
    };
    GError *err = NULL;
    CramEngine *e = cram_engine_new(&cfg, &err);

    g_assert_no_error(err);
    return e;
}

static double overhead(const CramStats *st)
{
    return st->stored_bytes ? (double)st->media_used / st->stored_bytes : 0;
}

void bench_space(const BenchCorpus *c, CramCodecId codec, BenchSpace *out)
{
    uint64_t bytes = (uint64_t)c->npages * CRAM_PAGE_SIZE;
    CramEngine *e = engine_new(codec, bytes, bytes);
    CramStats st;
    uint32_t i;

    for (i = 0; i < c->npages; i++) {
        g_assert(cram_engine_store(e, i, bench_page(c, c->mixed[i])) == 0);
    }
    cram_engine_get_stats(e, &st);
    out->pages = c->npages;
    out->media_used = st.media_used;
    out->stored_bytes = st.stored_bytes;
    out->media_size = st.media_size;
    out->overhead = overhead(&st);
    memcpy(out->pages_by_class, st.pages, sizeof(st.pages));
    cram_engine_free(e);
}

static void churn_sample(FILE *csv, CramCodecId codec, uint64_t done,
                         uint64_t filled, const CramStats *st,
                         uint64_t failed)
{
    if (csv) {
        fprintf(csv, "%s,%" G_GUINT64_FORMAT ",%.3f,%" G_GUINT64_FORMAT
                ",%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT ",%.5f,%.5f,%"
                G_GUINT64_FORMAT "\n", cram_codec_name(codec), done,
                (double)done / MAX(filled, 1), st->media_used,
                st->stored_bytes, st->media_size,
                (double)st->media_used / st->media_size, overhead(st),
                failed);
    }
}

void bench_churn(const BenchCorpus *c, CramCodecId codec, uint64_t media_size,
                 unsigned rewrites_per_page, unsigned samples, FILE *csv,
                 BenchChurn *out)
{
    /* Enough logical pages to fill the media with any mix of the corpus. */
    uint64_t capacity = MIN(media_size * 16, CRAM_MAX_CAPACITY);
    CramEngine *e = engine_new(codec, capacity, media_size);
    GRand *r = g_rand_new_with_seed(7);
    uint64_t n = 0, k, every;
    CramStats st;

    memset(out, 0, sizeof(*out));
    out->media_size = media_size;
    cram_engine_get_stats(e, &st);
    while (st.media_used < media_size / 10 * 9) {
        uint32_t p = g_rand_int_range(r, 0, c->npages);

        g_assert(n < capacity / CRAM_PAGE_SIZE);
        g_assert(cram_engine_store(e, n++, bench_page(c, p)) == 0);
        cram_engine_get_stats(e, &st);
    }
    out->filled_pages = n;
    out->fill_used = (double)st.media_used / media_size;
    out->fill_overhead = overhead(&st);
    out->max_overhead = out->fill_overhead;

    out->rewrites = n * rewrites_per_page;
    every = MAX(out->rewrites / MAX(samples, 1), 1);
    churn_sample(csv, codec, 0, n, &st, 0);
    for (k = 1; k <= out->rewrites; k++) {
        uint64_t idx = g_rand_int_range(r, 0, n);
        uint32_t p = g_rand_int_range(r, 0, c->npages);

        if (cram_engine_store(e, idx, bench_page(c, p)) == -ENOSPC) {
            out->failed++;
        }
        if (k % every == 0 || k == out->rewrites) {
            cram_engine_get_stats(e, &st);
            out->max_overhead = MAX(out->max_overhead, overhead(&st));
            churn_sample(csv, codec, k, n, &st, out->failed);
        }
    }
    cram_engine_get_stats(e, &st);
    out->end_used = (double)st.media_used / media_size;
    out->end_overhead = overhead(&st);
    g_rand_free(r);
    cram_engine_free(e);
}

static const char *const pattern_names[BP__MAX] = {
    [BP_SEQUENTIAL] = "sequential",
    [BP_SCATTERED] = "scattered",
};

const char *bench_pattern_name(BenchPattern p)
{
    return pattern_names[p];
}

static uint64_t meta_media(uint64_t capacity)
{
    return MIN(capacity, GiB);
}

uint64_t bench_meta_empty(uint64_t capacity)
{
    CramEngine *e = engine_new(CRAM_CODEC_LZ4, capacity,
                               meta_media(capacity));
    uint64_t b = cram_engine_metadata_bytes(e);

    cram_engine_free(e);
    return b;
}

/*
 * The k-th page touched.  Scattered: k times an odd constant modulo the
 * page count (a power of two) is a bijection, so pages never repeat, and
 * it spreads them over the whole capacity.
 */
static uint64_t touch_index(BenchPattern pat, uint64_t k, uint64_t npages)
{
    if (pat == BP_SEQUENTIAL) {
        return k;
    }
    return (k * 0x9e3779b97f4a7c15ULL) & (npages - 1);
}

void bench_metadata(const BenchCorpus *c, BenchPattern pat,
                    BenchMetaPoint *points, unsigned npoints)
{
    const uint64_t capacity = CRAM_MAX_CAPACITY;
    const uint64_t npages = capacity / CRAM_PAGE_SIZE;
    CramEngine *e = engine_new(CRAM_CODEC_LZ4, capacity,
                               meta_media(capacity));
    uint64_t base = cram_engine_metadata_bytes(e);
    GHashTable *leaves = g_hash_table_new(g_int64_hash, g_int64_equal);
    GHashTable *mids = g_hash_table_new(g_int64_hash, g_int64_equal);
    uint64_t *keys = g_new(uint64_t, 2 * points[npoints - 1].touched);
    uint64_t k = 0;
    unsigned pi;

    G_STATIC_ASSERT((CRAM_MAX_CAPACITY / CRAM_PAGE_SIZE &
                     (CRAM_MAX_CAPACITY / CRAM_PAGE_SIZE - 1)) == 0);
    for (pi = 0; pi < npoints; pi++) {
        BenchMetaPoint *pt = &points[pi];
        uint64_t root = ((npages + (1ULL << CRAM_PT_ROOT_SHIFT) - 1) >>
                         CRAM_PT_ROOT_SHIFT) * sizeof(CramPtMid *);

        g_assert(pi == 0 || pt->touched >= points[pi - 1].touched);
        for (; k < pt->touched; k++) {
            uint64_t idx = touch_index(pat, k, npages);
            uint32_t p = c->mixed[k % c->npages];

            if (cram_engine_store(e, idx, bench_page(c, p)) < 0) {
                g_error("bench: metadata run ran out of media");
            }
            /* The radix tree's own nodes, counted from the indexes. */
            keys[2 * k] = idx >> CRAM_PT_LEAF_BITS;
            keys[2 * k + 1] = idx >> CRAM_PT_ROOT_SHIFT;
            g_hash_table_add(leaves, &keys[2 * k]);
            g_hash_table_add(mids, &keys[2 * k + 1]);
        }
        pt->meta_bytes = cram_engine_metadata_bytes(e);
        pt->pt_bytes = root +
            g_hash_table_size(leaves) * (uint64_t)sizeof(CramPtLeaf) +
            g_hash_table_size(mids) * (uint64_t)sizeof(CramPtMid);
        if (pt->touched) {
            uint64_t alloc = pt->meta_bytes - pt->pt_bytes;
            uint64_t alloc0 = base - root;

            pt->per_page = (double)(pt->meta_bytes - base) / pt->touched;
            pt->pt_per_page = (double)(pt->pt_bytes - root) / pt->touched;
            pt->alloc_per_page = ((double)alloc - alloc0) / pt->touched;
        }
    }
    g_free(keys);
    g_hash_table_destroy(leaves);
    g_hash_table_destroy(mids);
    cram_engine_free(e);
}
