/*
 * cxl-cram engine benchmarks: throughput and page-miss latency against
 * the raw codec
 *
 * What each side includes:
 * - raw compress: one LZ4_compress_default() (acceleration 1) or
 *   ZSTD_compressCCtx() (level 1, one reused context) per page, writing
 *   each page's output right after the previous one in one big buffer, as
 *   a codec benchmark does (the output has to be kept somewhere: that is
 *   the store).  "scratch" is the stricter variant: every page into one
 *   reused buffer of the codec's bound, kept hot in cache.
 * - engine store: cram_engine_store() on a page that holds nothing:
 *   zero/same-word detection, the same codec call (output capped at the
 *   raw threshold), page table lookup and update, slot allocation and the
 *   copy of the object into media.  "rewrite" stores the same page again.
 * - raw decompress: LZ4_decompress_safe() or ZSTD_decompressDCtx() of the
 *   page's raw-compressed bytes, packed one after another in one buffer,
 *   into one reused 4 KiB buffer.
 * - engine load: cram_engine_load() into the same reused buffer: page
 *   table lookup, the object from media (copied through a bounce buffer
 *   when it straddles two media pages) and the codec call; zero/same
 *   pages are filled, raw pages copied.
 * The two sides alternate which runs first in each repetition.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include <lz4.h>
#include <string.h>
#include <time.h>
#include <zstd.h>
#include "bench.h"

struct BenchRaw {
    CramCodecId codec;
    ZSTD_CCtx *cctx;
    ZSTD_DCtx *dctx;
};

/* The engine's default levels, which are also the codecs' fastest. */
#define RAW_ZSTD_LEVEL 1

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

uint64_t bench_now_ns(void)
{
    return clock_ns(CLOCK_MONOTONIC);
}

/*
 * Passes are timed in the thread's CPU time: on a shared machine a
 * preemption in the middle of one side would otherwise count against it.
 */
static uint64_t cpu_ns(void)
{
    return clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

BenchRaw *bench_raw_new(CramCodecId codec)
{
    BenchRaw *r = g_new0(BenchRaw, 1);

    g_assert(codec == CRAM_CODEC_LZ4 || codec == CRAM_CODEC_ZSTD);
    r->codec = codec;
    if (codec == CRAM_CODEC_ZSTD) {
        r->cctx = ZSTD_createCCtx();
        r->dctx = ZSTD_createDCtx();
        g_assert(r->cctx && r->dctx);
    }
    return r;
}

void bench_raw_free(BenchRaw *r)
{
    if (r) {
        ZSTD_freeCCtx(r->cctx);
        ZSTD_freeDCtx(r->dctx);
        g_free(r);
    }
}

size_t bench_raw_bound(const BenchRaw *r)
{
    return r->codec == CRAM_CODEC_LZ4 ? (size_t)LZ4_compressBound(
                                             CRAM_PAGE_SIZE) :
           ZSTD_compressBound(CRAM_PAGE_SIZE);
}

size_t bench_raw_compress(BenchRaw *r, const void *src, void *dst)
{
    if (r->codec == CRAM_CODEC_LZ4) {
        int n = LZ4_compress_default(src, dst, CRAM_PAGE_SIZE,
                                     LZ4_compressBound(CRAM_PAGE_SIZE));
        g_assert(n > 0);
        return n;
    } else {
        size_t n = ZSTD_compressCCtx(r->cctx, dst,
                                     ZSTD_compressBound(CRAM_PAGE_SIZE),
                                     src, CRAM_PAGE_SIZE, RAW_ZSTD_LEVEL);
        g_assert(!ZSTD_isError(n));
        return n;
    }
}

int bench_raw_decompress(BenchRaw *r, const void *src, size_t len, void *dst)
{
    if (r->codec == CRAM_CODEC_LZ4) {
        return LZ4_decompress_safe(src, dst, len, CRAM_PAGE_SIZE) ==
               CRAM_PAGE_SIZE ? 0 : -1;
    } else {
        size_t n = ZSTD_decompressDCtx(r->dctx, dst, CRAM_PAGE_SIZE, src,
                                       len);
        return !ZSTD_isError(n) && n == CRAM_PAGE_SIZE ? 0 : -1;
    }
}

static CramEngine *engine_new(CramCodecId codec, uint64_t npages)
{
    CramConfig cfg = {
        .capacity = MAX(npages, 1) * CRAM_PAGE_SIZE,
        .media_size = MAX(npages, 1) * CRAM_PAGE_SIZE,
        .codec = codec,
        .level = 0,         /* the default: lz4 acceleration 1, zstd 1 */
    };
    GError *err = NULL;
    CramEngine *e = cram_engine_new(&cfg, &err);

    if (!e) {
        g_error("bench: %s", err->message);
    }
    return e;
}

/* Raw-compressed copies of the pages, packed, for the decompress side. */
typedef struct Packed {
    uint8_t *buf;
    size_t *off;
    size_t *len;
} Packed;

static void packed_init(Packed *pk, BenchRaw *r, const BenchCorpus *c,
                        const uint32_t *order, uint32_t n)
{
    size_t bound = bench_raw_bound(r), pos = 0;
    uint32_t i;

    pk->buf = g_malloc((size_t)n * bound + 1);
    pk->off = g_new(size_t, n);
    pk->len = g_new(size_t, n);
    for (i = 0; i < n; i++) {
        pk->off[i] = pos;
        pk->len[i] = bench_raw_compress(r, bench_page(c, order[i]),
                                        pk->buf + pos);
        pos += pk->len[i];
    }
}

static void packed_destroy(Packed *pk)
{
    g_free(pk->buf);
    g_free(pk->off);
    g_free(pk->len);
}

/* Defeats dead-code elimination of the timed loops. */
static volatile uint64_t sink;

/* @packed: each output after the previous one; else all into @out. */
static uint64_t time_raw_comp(BenchRaw *r, const BenchCorpus *c,
                              const uint32_t *order, uint32_t n,
                              uint8_t *out, bool packed)
{
    uint64_t t0 = cpu_ns(), pos = 0;
    uint32_t i;

    for (i = 0; i < n; i++) {
        pos += bench_raw_compress(r, bench_page(c, order[i]),
                                  packed ? out + pos : out);
    }
    sink += pos;
    return cpu_ns() - t0;
}

static uint64_t time_eng_store(CramEngine *e, const BenchCorpus *c,
                               const uint32_t *order, uint32_t n)
{
    uint64_t t0 = cpu_ns();
    uint32_t i;

    for (i = 0; i < n; i++) {
        if (cram_engine_store(e, i, bench_page(c, order[i])) < 0) {
            g_error("bench: store failed on media sized for the corpus");
        }
    }
    return cpu_ns() - t0;
}

static uint64_t time_raw_decomp(BenchRaw *r, const Packed *pk, uint32_t n,
                                uint8_t *dst)
{
    uint64_t t0 = cpu_ns(), sum = 0;
    uint32_t i;

    for (i = 0; i < n; i++) {
        if (bench_raw_decompress(r, pk->buf + pk->off[i], pk->len[i],
                                 dst) < 0) {
            g_error("bench: raw decompress failed");
        }
        sum += dst[i & (CRAM_PAGE_SIZE - 1)];
    }
    sink += sum;
    return cpu_ns() - t0;
}

static uint64_t time_eng_load(CramEngine *e, uint32_t n, uint8_t *dst)
{
    uint64_t t0 = cpu_ns(), sum = 0;
    uint32_t i;

    for (i = 0; i < n; i++) {
        cram_engine_load(e, i, dst);
        sum += dst[i & (CRAM_PAGE_SIZE - 1)];
    }
    sink += sum;
    return cpu_ns() - t0;
}

static void discard_range(CramEngine *e, uint32_t n)
{
    uint32_t i;

    /* Page by page: discard_all would also drop the media's host pages. */
    for (i = 0; i < n; i++) {
        cram_engine_discard(e, i);
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double median(double *v, unsigned n)
{
    qsort(v, n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double mibs(uint32_t pages, uint64_t ns)
{
    return (double)pages * CRAM_PAGE_SIZE / (1 << 20) /
           ((double)MAX(ns, 1) / 1e9);
}

enum {
    T_RAW_COMP, T_RAW_SCRATCH, T_ENG_STORE, T_ENG_REWRITE, T_RAW_DECOMP,
    T_ENG_LOAD, T__MAX
};

void bench_speed(const BenchCorpus *c, CramCodecId codec,
                 const uint32_t *order, uint32_t n, unsigned reps,
                 BenchSpeed *out)
{
    BenchRaw *r = bench_raw_new(codec);
    CramEngine *e = engine_new(codec, n);
    uint8_t *out_buf = g_malloc(bench_raw_bound(r));
    uint8_t *out_packed = g_malloc((size_t)n * bench_raw_bound(r));
    uint8_t *dst = g_aligned_alloc(1, CRAM_PAGE_SIZE, 64);
    double *v[T__MAX], *ratio[4];
    uint64_t t[T__MAX];
    Packed pk;
    unsigned rep, k;
    uint32_t i;

    g_assert(n > 0 && reps > 0);
    packed_init(&pk, r, c, order, n);
    for (k = 0; k < T__MAX; k++) {
        v[k] = g_new(double, reps);
    }
    for (k = 0; k < G_N_ELEMENTS(ratio); k++) {
        ratio[k] = g_new(double, reps);
    }

    /* Warm-up: touch the media and check both sides round-trip. */
    time_raw_comp(r, c, order, n, out_buf, false);
    time_raw_comp(r, c, order, n, out_packed, true);
    time_eng_store(e, c, order, n);
    for (i = 0; i < n; i++) {
        cram_engine_load(e, i, dst);
        if (memcmp(dst, bench_page(c, order[i]), CRAM_PAGE_SIZE)) {
            g_error("bench: the engine returned a wrong page");
        }
        if (bench_raw_decompress(r, pk.buf + pk.off[i], pk.len[i], dst) ||
            memcmp(dst, bench_page(c, order[i]), CRAM_PAGE_SIZE)) {
            g_error("bench: the raw codec returned a wrong page");
        }
    }

    for (rep = 0; rep < reps; rep++) {
        bool eng_first = rep & 1;

        discard_range(e, n);
        if (eng_first) {
            t[T_ENG_STORE] = time_eng_store(e, c, order, n);
            t[T_ENG_REWRITE] = time_eng_store(e, c, order, n);
            t[T_RAW_COMP] = time_raw_comp(r, c, order, n, out_packed, true);
            t[T_RAW_SCRATCH] = time_raw_comp(r, c, order, n, out_buf, false);
            t[T_ENG_LOAD] = time_eng_load(e, n, dst);
            t[T_RAW_DECOMP] = time_raw_decomp(r, &pk, n, dst);
        } else {
            t[T_RAW_SCRATCH] = time_raw_comp(r, c, order, n, out_buf, false);
            t[T_RAW_COMP] = time_raw_comp(r, c, order, n, out_packed, true);
            t[T_ENG_STORE] = time_eng_store(e, c, order, n);
            t[T_ENG_REWRITE] = time_eng_store(e, c, order, n);
            t[T_RAW_DECOMP] = time_raw_decomp(r, &pk, n, dst);
            t[T_ENG_LOAD] = time_eng_load(e, n, dst);
        }
        for (k = 0; k < T__MAX; k++) {
            v[k][rep] = mibs(n, t[k]);
        }
        /* Throughput ratio engine / raw = raw time / engine time. */
        ratio[0][rep] = (double)t[T_RAW_COMP] / MAX(t[T_ENG_STORE], 1);
        ratio[1][rep] = (double)t[T_RAW_COMP] / MAX(t[T_ENG_REWRITE], 1);
        ratio[2][rep] = (double)t[T_RAW_DECOMP] / MAX(t[T_ENG_LOAD], 1);
        ratio[3][rep] = (double)t[T_RAW_SCRATCH] / MAX(t[T_ENG_STORE], 1);
    }

    out->npages = n;
    out->raw_comp = median(v[T_RAW_COMP], reps);
    out->raw_scratch = median(v[T_RAW_SCRATCH], reps);
    out->eng_store = median(v[T_ENG_STORE], reps);
    out->eng_rewrite = median(v[T_ENG_REWRITE], reps);
    out->raw_decomp = median(v[T_RAW_DECOMP], reps);
    out->eng_load = median(v[T_ENG_LOAD], reps);
    out->store_ratio = median(ratio[0], reps);
    out->rewrite_ratio = median(ratio[1], reps);
    out->load_ratio = median(ratio[2], reps);
    out->scratch_ratio = median(ratio[3], reps);

    for (k = 0; k < T__MAX; k++) {
        g_free(v[k]);
    }
    for (k = 0; k < G_N_ELEMENTS(ratio); k++) {
        g_free(ratio[k]);
    }
    packed_destroy(&pk);
    g_aligned_free(dst);
    g_free(out_buf);
    g_free(out_packed);
    cram_engine_free(e);
    bench_raw_free(r);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* The median cost of reading the clock, taken off every sample. */
static double timer_cost(void)
{
    enum { N = 2001 };
    uint64_t *d = g_new(uint64_t, N);
    double res;
    unsigned i;

    for (i = 0; i < N; i++) {
        uint64_t t0 = bench_now_ns();

        d[i] = bench_now_ns() - t0;
    }
    qsort(d, N, sizeof(*d), cmp_u64);
    res = d[N / 2];
    g_free(d);
    return res;
}

static double pct(const uint64_t *sorted, size_t n, double p)
{
    size_t i = (size_t)(p * (n - 1) + 0.5);

    return sorted[MIN(i, n - 1)];
}

void bench_latency(const BenchCorpus *c, CramCodecId codec, unsigned rounds,
                   BenchLatency *out)
{
    BenchRaw *r = bench_raw_new(codec);
    CramEngine *e = engine_new(codec, c->npages);
    uint8_t *dst = g_aligned_alloc(1, CRAM_PAGE_SIZE, 64);
    GRand *rnd = g_rand_new_with_seed(42);
    uint32_t *cand, ncand = 0, i;
    uint64_t *eng, *raw;
    size_t ns = 0;
    Packed pk;
    unsigned round;

    g_assert(rounds > 0);
    /* Engine page i holds corpus page i; only compressed pages miss. */
    packed_init(&pk, r, c, c->mixed, c->npages);
    cand = g_new(uint32_t, c->npages);
    for (i = 0; i < c->npages; i++) {
        if (cram_engine_store(e, i, bench_page(c, c->mixed[i])) < 0) {
            g_error("bench: store failed on media sized for the corpus");
        }
        if (cram_engine_page_kind(e, i) == CRAM_KIND_COMPRESSED) {
            cand[ncand++] = i;
        }
    }
    g_assert(ncand > 0);
    eng = g_new(uint64_t, (size_t)ncand * rounds);
    raw = g_new(uint64_t, (size_t)ncand * rounds);
    out->timer_ns = timer_cost();

    for (round = 0; round < rounds; round++) {
        /* A new random order each round keeps the caches cold-ish. */
        for (i = ncand; i > 1; i--) {
            uint32_t j = g_rand_int_range(rnd, 0, i), t = cand[i - 1];

            cand[i - 1] = cand[j];
            cand[j] = t;
        }
        for (i = 0; i < ncand; i++, ns++) {
            uint32_t p = cand[i];
            uint64_t t0, t1, t2;

            if ((i + round) & 1) {
                t0 = bench_now_ns();
                cram_engine_load(e, p, dst);
                t1 = bench_now_ns();
                bench_raw_decompress(r, pk.buf + pk.off[p], pk.len[p], dst);
                t2 = bench_now_ns();
                eng[ns] = t1 - t0;
                raw[ns] = t2 - t1;
            } else {
                t0 = bench_now_ns();
                bench_raw_decompress(r, pk.buf + pk.off[p], pk.len[p], dst);
                t1 = bench_now_ns();
                cram_engine_load(e, p, dst);
                t2 = bench_now_ns();
                raw[ns] = t1 - t0;
                eng[ns] = t2 - t1;
            }
        }
    }
    qsort(eng, ns, sizeof(*eng), cmp_u64);
    qsort(raw, ns, sizeof(*raw), cmp_u64);
    out->samples = ns;
    out->eng_med = MAX(pct(eng, ns, 0.5) - out->timer_ns, 1.0);
    out->eng_p99 = MAX(pct(eng, ns, 0.99) - out->timer_ns, 1.0);
    out->raw_med = MAX(pct(raw, ns, 0.5) - out->timer_ns, 1.0);
    out->raw_p99 = MAX(pct(raw, ns, 0.99) - out->timer_ns, 1.0);
    out->ratio = out->eng_med / out->raw_med;

    g_free(eng);
    g_free(raw);
    g_free(cand);
    packed_destroy(&pk);
    g_rand_free(rnd);
    g_aligned_free(dst);
    cram_engine_free(e);
    bench_raw_free(r);
}
