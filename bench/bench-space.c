/*
 * cxl-cram engine benchmarks: media efficiency and churn
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include <string.h>
#include "bench.h"

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
