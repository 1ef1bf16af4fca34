/*
 * cxl-cram engine benchmarks: smoke test
 *
 * Runs every measurement of cram-bench on tiny inputs and checks that the
 * results are sane.  Timings are not checked: this is not a timed test.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <string.h>
#include "bench.h"

static BenchCorpus *corpus;

static void test_corpus(void)
{
    static const uint8_t zero[CRAM_PAGE_SIZE];
    unsigned cl;
    uint32_t i;

    g_assert(corpus->npages == 16 * BC__MAX);
    for (cl = 0; cl < BC__MAX; cl++) {
        g_assert(corpus->start[cl + 1] - corpus->start[cl] == 16);
    }
    for (i = corpus->start[BC_ZERO]; i < corpus->start[BC_ZERO + 1]; i++) {
        g_assert(memcmp(bench_page(corpus, i), zero, CRAM_PAGE_SIZE) == 0);
    }
    /* The mixed order is a permutation. */
    {
        g_autofree bool *seen = g_new0(bool, corpus->npages);

        for (i = 0; i < corpus->npages; i++) {
            g_assert(corpus->mixed[i] < corpus->npages);
            g_assert(!seen[corpus->mixed[i]]);
            seen[corpus->mixed[i]] = true;
        }
    }
}

static void test_raw(gconstpointer data)
{
    CramCodecId codec = GPOINTER_TO_INT(data);
    BenchRaw *r = bench_raw_new(codec);
    g_autofree uint8_t *buf = g_malloc(bench_raw_bound(r));
    uint8_t out[CRAM_PAGE_SIZE];
    uint32_t i;

    for (i = 0; i < corpus->npages; i++) {
        size_t n = bench_raw_compress(r, bench_page(corpus, i), buf);

        g_assert(n > 0);
        g_assert(n <= bench_raw_bound(r));
        if (bench_raw_decompress(r, buf, n, out) < 0) {
            g_error("raw decompress failed");
        }
        g_assert(memcmp(out, bench_page(corpus, i), CRAM_PAGE_SIZE) == 0);
    }
    bench_raw_free(r);
}

static void test_speed(gconstpointer data)
{
    BenchSpeed s;

    bench_speed(corpus, GPOINTER_TO_INT(data), corpus->mixed,
                corpus->npages, 1, &s);
    g_assert(s.npages == corpus->npages);
    g_assert(s.raw_comp > 0);
    g_assert(s.eng_store > 0);
    g_assert(s.eng_rewrite > 0);
    g_assert(s.raw_decomp > 0);
    g_assert(s.eng_load > 0);
    g_assert(s.store_ratio > 0);
    g_assert(s.rewrite_ratio > 0);
    g_assert(s.load_ratio > 0);
}

static void test_latency(gconstpointer data)
{
    BenchLatency l;

    bench_latency(corpus, GPOINTER_TO_INT(data), 1, &l);
    g_assert(l.samples > 0);
    g_assert(l.raw_med > 0);
    g_assert(l.eng_med > 0);
    g_assert(l.raw_p99 >= l.raw_med);
    g_assert(l.eng_p99 >= l.eng_med);
    g_assert(l.ratio > 0);
}

static void test_space(gconstpointer data)
{
    BenchSpace s;

    bench_space(corpus, GPOINTER_TO_INT(data), &s);
    g_assert(s.pages == corpus->npages);
    g_assert(s.pages_by_class[CRAM_KIND_ZERO] >= 16);
    g_assert(s.pages_by_class[CRAM_KIND_COMPRESSED] > 0);
    g_assert(s.pages_by_class[CRAM_KIND_RAW] >= 16);
    g_assert(s.media_used <= s.media_size);
    g_assert(s.media_used >= s.stored_bytes);
    g_assert(s.overhead >= 1.0);
}

static void test_churn(gconstpointer data)
{
    CramCodecId codec = GPOINTER_TO_INT(data);
    BenchChurn ch[BCM__MAX];
    unsigned m;

    for (m = 0; m < BCM__MAX; m++) {
        bench_churn(corpus, codec, 1 << 20, 2, 4, m, NULL, &ch[m]);
        g_assert(ch[m].filled_pages > 0);
        g_assert(ch[m].rewrites == 2 * ch[m].filled_pages);
        g_assert(ch[m].fill_used >= 0.9);
        g_assert(ch[m].fill_used <= 1.0);
        g_assert(ch[m].end_used <= 1.0);
        g_assert(ch[m].fill_overhead >= 1.0);
        g_assert(ch[m].end_overhead >= 1.0);
        g_assert(ch[m].max_overhead >= ch[m].end_overhead);
    }
    /* The allocator-level copy of the store path is faithful. */
    g_assert(ch[BCM_ALLOC].filled_pages == ch[BCM_ENGINE].filled_pages);
    g_assert(ch[BCM_ALLOC].end_media_used == ch[BCM_ENGINE].end_media_used);
    g_assert(ch[BCM_ALLOC].end_stored == ch[BCM_ENGINE].end_stored);
    g_assert(ch[BCM_ALLOC].failed == ch[BCM_ENGINE].failed);
    /* Compaction only gives media back. */
    g_assert(ch[BCM_ALLOC_COMPACT].end_media_used <=
             ch[BCM_ALLOC].end_media_used);
}

static void test_metadata(void)
{
    BenchMetaPoint pts[3] = { { .touched = 0 }, { .touched = 1000 },
                              { .touched = 3000 } };
    unsigned pat, i;

    /* Untouched: the same metadata whatever the capacity. */
    g_assert(bench_meta_empty(CRAM_MAX_CAPACITY) ==
             bench_meta_empty(1ULL << 30));
    for (pat = 0; pat < BP__MAX; pat++) {
        bench_metadata(pat, true, pts, G_N_ELEMENTS(pts));
        g_assert(pts[0].pt_bytes == 0);
        g_assert(pts[0].eng_bytes == 0);
        for (i = 1; i < G_N_ELEMENTS(pts); i++) {
            g_assert(pts[i].pt_bytes > pts[i - 1].pt_bytes);
            g_assert(pts[i].pt_per_page <= 16);
            /* The allocator's part is small: spans of tiny objects. */
            g_assert(pts[i].eng_bytes >= pts[i].pt_bytes);
            g_assert(pts[i].radix_per_page >= 12);
            g_assert(pts[i].pt_get_ns > 0);
        }
    }
}

int main(int argc, char **argv)
{
    static const CramCodecId codecs[] = { CRAM_CODEC_LZ4, CRAM_CODEC_ZSTD };
    unsigned i;
    int ret;

    g_test_init(&argc, &argv, NULL);
    corpus = bench_corpus_new(16, 4, 1);
    g_test_add_func("/bench/corpus", test_corpus);
    for (i = 0; i < G_N_ELEMENTS(codecs); i++) {
        const char *n = cram_codec_name(codecs[i]);
        gconstpointer d = GINT_TO_POINTER(codecs[i]);
        g_autofree char *raw = g_strdup_printf("/bench/%s/raw", n);
        g_autofree char *speed = g_strdup_printf("/bench/%s/speed", n);
        g_autofree char *lat = g_strdup_printf("/bench/%s/latency", n);
        g_autofree char *space = g_strdup_printf("/bench/%s/space", n);
        g_autofree char *churn = g_strdup_printf("/bench/%s/churn", n);

        g_test_add_data_func(raw, d, test_raw);
        g_test_add_data_func(speed, d, test_speed);
        g_test_add_data_func(lat, d, test_latency);
        g_test_add_data_func(space, d, test_space);
        g_test_add_data_func(churn, d, test_churn);
    }
    g_test_add_func("/bench/metadata", test_metadata);
    ret = g_test_run();
    bench_corpus_free(corpus);
    return ret;
}
