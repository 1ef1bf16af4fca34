/*
 * cxl-cram engine benchmarks: metadata of a 1 TiB engine
 *
 * Touches N pages of a 1 TiB page table in several patterns and reports
 * its host memory per touched page beside the baseline: the 3-level radix
 * tree it replaced (512-entry leaves of 12-byte entries, 512-pointer mid
 * nodes, an 8-byte root slot per GiB), rebuilt here from that code.  Both
 * hold the same entries and are timed on the same lookups.  The whole
 * engine (page table and allocator, media apart) runs the same pattern.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <string.h>
#include <time.h>
#include "bench.h"
#include "cram-engine-internal.h"

#define GiB             (1ULL << 30)
#define NPAGES          (CRAM_MAX_CAPACITY / CRAM_PAGE_SIZE)
/* Build the radix for timing only while it stays this small. */
#define RADIX_BUILD_MAX (768ULL << 20)

/* The baseline: the page table before the rework, as it was. */
#define RX_LEAF_BITS    9
#define RX_LEAF_SIZE    (1u << RX_LEAF_BITS)
#define RX_MID_SIZE     512u
#define RX_ROOT_SHIFT   (RX_LEAF_BITS + 9)

typedef struct RxLeaf {
    uint64_t val[RX_LEAF_SIZE];
    uint32_t meta[RX_LEAF_SIZE];
    uint32_t used;
} RxLeaf;

typedef struct RxMid {
    RxLeaf *leaf[RX_MID_SIZE];
    uint32_t used;
} RxMid;

typedef struct Radix {
    RxMid *root[NPAGES >> RX_ROOT_SHIFT];
} Radix;

static void rx_set(Radix *rx, uint64_t idx, uint32_t meta, uint64_t val)
{
    RxMid **mid = &rx->root[idx >> RX_ROOT_SHIFT];
    RxLeaf **leaf;

    if (!*mid) {
        *mid = g_new0(RxMid, 1);
    }
    leaf = &(*mid)->leaf[(idx >> RX_LEAF_BITS) & (RX_MID_SIZE - 1)];
    if (!*leaf) {
        *leaf = g_new0(RxLeaf, 1);
    }
    (*leaf)->meta[idx & (RX_LEAF_SIZE - 1)] = meta;
    (*leaf)->val[idx & (RX_LEAF_SIZE - 1)] = val;
}

static uint32_t rx_get(const Radix *rx, uint64_t idx, uint64_t *val)
{
    const RxMid *mid = rx->root[idx >> RX_ROOT_SHIFT];
    const RxLeaf *leaf;

    if (!mid) {
        goto free_entry;
    }
    leaf = mid->leaf[(idx >> RX_LEAF_BITS) & (RX_MID_SIZE - 1)];
    if (!leaf) {
        goto free_entry;
    }
    *val = leaf->val[idx & (RX_LEAF_SIZE - 1)];
    return leaf->meta[idx & (RX_LEAF_SIZE - 1)];

free_entry:
    *val = 0;
    return 0;
}

static void rx_free(Radix *rx)
{
    unsigned r, m;

    for (r = 0; r < G_N_ELEMENTS(rx->root); r++) {
        if (rx->root[r]) {
            for (m = 0; m < RX_MID_SIZE; m++) {
                g_free(rx->root[r]->leaf[m]);
            }
            g_free(rx->root[r]);
        }
    }
    g_free(rx);
}

static const char *const pattern_names[BP__MAX] = {
    [BP_SEQUENTIAL] = "sequential",
    [BP_STRIDE2] = "stride2",
    [BP_STRIDED] = "stride4099",
    [BP_SCATTERED] = "scattered",
};

const char *bench_pattern_name(BenchPattern p)
{
    return pattern_names[p];
}

/*
 * The k-th page touched; all are distinct.  stride2: every other page
 * (regions half full, the sparse table's worst case).  stride4099: 16 MiB
 * apart, a radix leaf each, wrapping after 64 Ki pages.  scattered: k
 * times an odd constant modulo 2^28, spread over the whole 1 TiB.
 */
static uint64_t touch_index(BenchPattern pat, uint64_t k)
{
    switch (pat) {
    case BP_SEQUENTIAL:
        return k;
    case BP_STRIDE2:
        return 2 * k;
    case BP_STRIDED:
        return (k * 4099) & (NPAGES - 1);
    default:
        return (k * 0x9e3779b97f4a7c15ULL) & (NPAGES - 1);
    }
}

static CramEngine *meta_engine_codec(uint64_t capacity, CramCodecId codec)
{
    CramConfig cfg = {
        .capacity = capacity,
        .media_size = MIN(capacity, GiB),
        .codec = codec,
    };
    GError *err = NULL;
    CramEngine *e = cram_engine_new(&cfg, &err);

    if (!e) {
        g_error("bench: %s", err->message);
    }
    return e;
}

static CramEngine *meta_engine(uint64_t capacity)
{
    return meta_engine_codec(capacity, CRAM_CODEC_LZ4);
}

uint64_t bench_meta_empty(uint64_t capacity)
{
    CramEngine *e = meta_engine(capacity);
    uint64_t b = cram_engine_metadata_bytes(e);

    cram_engine_free(e);
    return b;
}

static void set_bit(uint8_t *map, uint64_t i, uint64_t *count)
{
    if (!(map[i >> 3] & (1u << (i & 7)))) {
        map[i >> 3] |= 1u << (i & 7);
        (*count)++;
    }
}

/* Mean ns of a lookup of @n touched pages, in a scrambled order. */
static double time_gets(const CramPageTable *pt, const Radix *rx,
                        BenchPattern pat, uint64_t n)
{
    uint64_t span = 1ULL << g_bit_storage(n);
    uint64_t reps = MAX(1, (1u << 20) / n), r, k, sum = 0, t0, val;
    uint64_t step = 0x9e3779b97f4a7c15ULL | 1;
    uint64_t total = 0;

    t0 = bench_now_ns();
    for (r = 0; r < reps; r++) {
        for (k = 0; k < span; k++) {
            /* Odd step modulo a power of two: a permutation. */
            uint64_t j = (k * step) & (span - 1);

            if (j >= n) {
                continue;
            }
            if (pt) {
                sum += cram_pt_get(pt, touch_index(pat, j), &val);
            } else {
                sum += rx_get(rx, touch_index(pat, j), &val);
            }
            sum += val;
            total++;
        }
    }
    g_assert(sum != 1);     /* keep the loop */
    return (double)(bench_now_ns() - t0) / MAX(total, 1);
}

void bench_metadata(BenchPattern pat, bool engine, BenchMetaPoint *points,
                    unsigned npoints)
{
    const uint32_t meta = cram_meta_make(CRAM_KIND_COMPRESSED, 24, 0);
    uint8_t *leaves = g_malloc0((NPAGES >> RX_LEAF_BITS) / 8);
    uint8_t *mids = g_malloc0((NPAGES >> RX_ROOT_SHIFT) / 8);
    uint8_t *page = g_malloc0(CRAM_PAGE_SIZE);
    CramEngine *e = engine ? meta_engine(CRAM_MAX_CAPACITY) : NULL;
    uint64_t base = e ? cram_engine_metadata_bytes(e) : 0;
    uint64_t nleaves = 0, nmids = 0, k = 0;
    CramPageTable pt;
    unsigned pi;

    cram_pt_init(&pt, NPAGES);
    for (pi = 0; pi < npoints; pi++) {
        BenchMetaPoint *p = &points[pi];
        uint64_t rx_bytes;

        g_assert(pi == 0 || p->touched >= points[pi - 1].touched);
        g_assert(p->touched <= NPAGES);
        for (; k < p->touched; k++) {
            uint64_t idx = touch_index(pat, k);

            cram_pt_set(&pt, idx, meta, idx);
            set_bit(leaves, idx >> RX_LEAF_BITS, &nleaves);
            set_bit(mids, idx >> RX_ROOT_SHIFT, &nmids);
            if (e) {
                /* A unique page that compresses to a few bytes. */
                memcpy(page, &idx, sizeof(idx));
                memcpy(page + CRAM_PAGE_SIZE / 2, &k, sizeof(k));
                if (cram_engine_store(e, idx, page) < 0) {
                    g_error("bench: metadata run ran out of media");
                }
            }
        }
        rx_bytes = nleaves * sizeof(RxLeaf) + nmids * sizeof(RxMid);
        memset(p, 0, sizeof(*p));
        p->touched = k;
        p->pt_bytes = pt.bytes;
        p->radix_bytes = rx_bytes;
        p->dense = pt.dense;
        p->shards = pt.shards;
        if (e) {
            p->eng_bytes = cram_engine_metadata_bytes(e) - base;
        }
        if (!k) {
            continue;
        }
        p->pt_per_page = (double)pt.bytes / k;
        p->radix_per_page = (double)rx_bytes / k;
        p->eng_per_page = (double)p->eng_bytes / k;
        p->pt_get_ns = time_gets(&pt, NULL, pat, k);
        if (rx_bytes <= RADIX_BUILD_MAX) {
            Radix *rx = g_new0(Radix, 1);
            uint64_t j;

            for (j = 0; j < k; j++) {
                rx_set(rx, touch_index(pat, j), meta, touch_index(pat, j));
            }
            p->radix_get_ns = time_gets(NULL, rx, pat, k);
            rx_free(rx);
        }
    }
    cram_pt_destroy(&pt);
    cram_engine_free(e);
    g_free(page);
    g_free(leaves);
    g_free(mids);
}

void bench_meta_report(uint64_t max_touched, bool engine, FILE *csv,
                       FILE *cap_csv)
{
    static const uint64_t caps[] = {
        1ULL << 30, 16ULL << 30, 256ULL << 30, 1ULL << 40,
    };
    BenchMetaPoint pts[16];
    unsigned np = 0, pat, i;
    uint64_t t;

    printf("== metadata, untouched engines (media = min(capacity, 1 GiB))"
           "\n%14s %12s\n", "capacity", "meta-bytes");
    for (i = 0; i < G_N_ELEMENTS(caps); i++) {
        uint64_t b = bench_meta_empty(caps[i]);

        printf("%10" G_GUINT64_FORMAT " GiB %12" G_GUINT64_FORMAT "\n",
               caps[i] >> 30, b);
        if (cap_csv) {
            fprintf(cap_csv, "%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT "\n",
                    caps[i], b);
        }
    }
    for (t = 1000; t <= max_touched && np < G_N_ELEMENTS(pts); t *= 10) {
        pts[np++].touched = t;
    }
    printf("\n== metadata of a 1 TiB page table against pages touched: "
           "bytes/page of this table\n   (malloc overhead in) and of the "
           "radix tree it replaced (baseline, same pages);\n   lookup ns "
           "of both on the same pages; engine = page table + allocator "
           "beyond\n   the empty engine (1 GiB media), %s\n",
           engine ? "measured" : "not run");
    printf("%-10s %8s %11s %7s %9s %8s %6s %6s %7s %8s %7s\n", "pattern",
           "touched", "pt-bytes", "B/page", "radix-B/p", "ratio", "dense",
           "shards", "get-ns", "radix-ns", "engine");
    for (pat = 0; pat < BP__MAX; pat++) {
        bench_metadata(pat, engine, pts, np);
        for (i = 0; i < np; i++) {
            const BenchMetaPoint *p = &pts[i];

            printf("%-10s %8" G_GUINT64_FORMAT " %11" G_GUINT64_FORMAT
                   " %7.2f %9.1f %8.4f %6" G_GUINT64_FORMAT " %6"
                   G_GUINT64_FORMAT " %7.1f %8.1f %7.2f\n",
                   bench_pattern_name(pat), p->touched, p->pt_bytes,
                   p->pt_per_page, p->radix_per_page,
                   p->pt_per_page / p->radix_per_page, p->dense, p->shards,
                   p->pt_get_ns, p->radix_get_ns, p->eng_per_page);
            if (csv) {
                fprintf(csv, "%s,%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT
                        ",%.3f,%" G_GUINT64_FORMAT ",%.3f,%" G_GUINT64_FORMAT
                        ",%" G_GUINT64_FORMAT ",%.1f,%.1f,%" G_GUINT64_FORMAT
                        ",%.3f\n", bench_pattern_name(pat), p->touched,
                        p->pt_bytes, p->pt_per_page, p->radix_bytes,
                        p->radix_per_page, p->dense, p->shards, p->pt_get_ns,
                        p->radix_get_ns, p->eng_bytes, p->eng_per_page);
            }
            fflush(stdout);
        }
    }
    printf("   radix-ns 0: the radix would not fit in %llu MiB.\n\n",
           RADIX_BUILD_MAX >> 20);
}

void bench_metadata_real(const BenchCorpus *c, CramCodecId codec,
                         BenchPattern pat, BenchMetaReal *points,
                         unsigned npoints)
{
    CramEngine *e = meta_engine_codec(CRAM_MAX_CAPACITY, codec);
    uint64_t base = cram_engine_metadata_bytes(e), k = 0;
    uint64_t alloc_base = base - e->pt.bytes;
    unsigned pi;

    g_assert(!e->pt.bytes);
    for (pi = 0; pi < npoints; pi++) {
        BenchMetaReal *p = &points[pi];
        CramStats st;

        g_assert(pi == 0 || p->touched >= points[pi - 1].touched);
        for (; k < p->touched; k++) {
            const uint8_t *page = bench_page(c, c->mixed[k % c->npages]);

            if (cram_engine_store(e, touch_index(pat, k), page) < 0) {
                g_error("bench: metadata-real ran out of media");
            }
        }
        cram_engine_get_stats(e, &st);
        memset(p, 0, sizeof(*p));
        p->touched = k;
        p->pt_bytes = e->pt.bytes;
        p->eng_bytes = cram_engine_metadata_bytes(e) - base;
        p->alloc_bytes = p->eng_bytes + base - alloc_base - p->pt_bytes;
        p->media_used = st.media_used;
        if (k) {
            p->pt_per_page = (double)p->pt_bytes / k;
            p->alloc_per_page = (double)p->alloc_bytes / k;
            p->eng_per_page = (double)p->eng_bytes / k;
        }
    }
    cram_engine_free(e);
}

void bench_meta_real_report(const BenchCorpus *c, const CramCodecId *codecs,
                            unsigned ncodecs, uint64_t max_touched,
                            FILE *csv)
{
    BenchMetaReal pts[8];
    unsigned np = 0, ci, pat, i;
    uint64_t t;

    for (t = 1000; t <= max_touched && np < G_N_ELEMENTS(pts); t *= 10) {
        pts[np++].touched = t;
    }
    if (np < G_N_ELEMENTS(pts) && pts[np - 1].touched < max_touched) {
        pts[np++].touched = max_touched;
    }
    printf("== metadata with real pages: the mixed corpus (%u pages) "
           "stored in turn at the\n   pattern's pages of a 1 TiB engine, "
           "1 GiB media.  Untouched engine: %" G_GUINT64_FORMAT
           " bytes\n   (all allocator: bitmap of the media pages, class "
           "table; fixed by media, not\n   capacity), subtracted below.  "
           "B/page = growth / pages touched; target 16.\n", c->npages,
           bench_meta_empty(CRAM_MAX_CAPACITY));
    printf("%-5s %-10s %8s %7s %9s %7s %6s %3s %9s\n", "codec", "pattern",
           "touched", "pt-B/p", "alloc-B/p", "engine", "target", "ok",
           "media-MiB");
    for (ci = 0; ci < ncodecs; ci++) {
        for (pat = 0; pat < BP__MAX; pat++) {
            bench_metadata_real(c, codecs[ci], pat, pts, np);
            for (i = 0; i < np; i++) {
                const BenchMetaReal *p = &pts[i];

                printf("%-5s %-10s %8" G_GUINT64_FORMAT " %7.2f %9.2f "
                       "%7.2f %6d %3s %9.1f\n", cram_codec_name(codecs[ci]),
                       bench_pattern_name(pat), p->touched, p->pt_per_page,
                       p->alloc_per_page, p->eng_per_page, 16,
                       p->eng_per_page <= 16 ? "yes" : "NO",
                       p->media_used / 1048576.0);
                if (csv) {
                    fprintf(csv, "%s,%s,%" G_GUINT64_FORMAT ",%"
                            G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT ",%"
                            G_GUINT64_FORMAT ",%.3f,%.3f,%.3f,%"
                            G_GUINT64_FORMAT "\n",
                            cram_codec_name(codecs[ci]),
                            bench_pattern_name(pat), p->touched, p->pt_bytes,
                            p->alloc_bytes, p->eng_bytes, p->pt_per_page,
                            p->alloc_per_page, p->eng_per_page,
                            p->media_used);
                }
                fflush(stdout);
            }
        }
    }
    printf("\n");
}
