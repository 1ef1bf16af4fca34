/*
 * cxl-cram benchmark: work over page ranges and poison, which the device
 * does under the big QEMU lock, so its cost must follow what is held
 *
 * A 1 TiB engine holding @held scattered pages (and, for the poison list,
 * 10^4 scattered poisoned pages and a run of 10^5).  Timed: the discard
 * doorbell over the whole capacity and a Media Operations Zero of 127
 * ranges of 1 TiB each, as the device does them now (one
 * cram_engine_discard_ranges() call; also one call per range), beside the
 * page-by-page loop the device used to run; a disjoint set of 127 ranges
 * that misses most pages; the whole poison list read 126 records at a
 * time; and host memory per poisoned page.  The device adds a cache
 * invalidation bounded by its cache size (2048 entries by default) and a
 * watermark re-evaluation, neither measured here.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <inttypes.h>
#include <string.h>
#include "bench.h"
#include "cram-pagetable.h"
#include "cram-engine-internal.h"

#define NPAGES_1T       (CRAM_MAX_CAPACITY / CRAM_PAGE_SIZE)
#define RANGES          127
#define RECORDS         126     /* Get Poison List records in one payload */

static CramEngine *range_engine(uint64_t held)
{
    CramConfig cfg = {
        .capacity = CRAM_MAX_CAPACITY, .media_size = 1ull << 30,
        .codec = CRAM_CODEC_LZ4,
    };
    uint8_t page[CRAM_PAGE_SIZE];
    CramEngine *e = cram_engine_new(&cfg, NULL);
    uint64_t i;

    g_assert(e);
    for (i = 0; i < held; i++) {
        uint64_t idx = (i * 2654435761u) % NPAGES_1T;

        memset(page, 0, sizeof(page));
        memcpy(page, &idx, sizeof(idx));
        if (cram_engine_store(e, idx, page)) {
            g_error("bench range: store failed");
        }
    }
    return e;
}

static double ms_since(uint64_t t0)
{
    return (bench_now_ns() - t0) / 1e6;
}

/* The device's old loop: every page index of the range, one by one. */
static double old_discard(CramEngine *e, uint64_t first, uint64_t n)
{
    uint64_t t0 = bench_now_ns(), i;

    for (i = 0; i < n; i++) {
        cram_engine_discard(e, first + i);
    }
    return ms_since(t0);
}

/* A fresh engine's discard of @nr ranges, in one call or one each. */
static double time_ranges(uint64_t held, const CramRange *r, unsigned nr,
                          bool each)
{
    CramEngine *e = range_engine(held);
    uint64_t t0 = bench_now_ns();
    unsigned i;
    double ms;

    for (i = 0; i < (each ? nr : 1); i++) {
        cram_engine_discard_ranges(e, each ? &r[i] : r, each ? 1 : nr);
    }
    ms = ms_since(t0);
    cram_engine_free(e);
    return ms;
}

void bench_range_report(uint64_t held, bool old, FILE *csv)
{
    CramRange all = { 0, NPAGES_1T }, r[RANGES];
    uint64_t t0, first, n, from, pt0, records = 0, queries = 0;
    unsigned tag, i;
    CramEngine *e;
    double ms;

    printf("\n== ranges: 1 TiB engine, %" PRIu64 " pages held "
           "(scattered) ==\n", held);
    printf("%-44s %12s\n", "operation", "ms");
#define ROW(what, v) do { \
        printf("%-44s %12.3f\n", what, v); \
        if (csv) { \
            fprintf(csv, "\"%s\",%" PRIu64 ",%.3f\n", what, held, v); \
        } \
    } while (0)

    ROW("discard, whole capacity", time_ranges(held, &all, 1, false));
    for (i = 0; i < RANGES; i++) {
        r[i] = all;
    }
    ROW("media ops zero, 127 x 1 TiB, one call",
        time_ranges(held, r, RANGES, false));
    ROW("media ops zero, 127 x 1 TiB, a call each",
        time_ranges(held, r, RANGES, true));
    /* 127 disjoint ranges of 4 GiB, 8 GiB apart: half the device. */
    for (i = 0; i < RANGES; i++) {
        r[i].first = (uint64_t)i << 21;
        r[i].n = 1ull << 20;
    }
    ROW("127 disjoint 4 GiB ranges, a call each",
        time_ranges(held, r, RANGES, true));

    if (old) {
        e = range_engine(held);
        ms = old_discard(e, 0, NPAGES_1T);
        ROW("OLD page loop: discard, whole capacity", ms);
        /* Empty now, as after the first of 127 whole ranges. */
        ms += 126 * old_discard(e, 0, NPAGES_1T / 16) * 16;
        ROW("OLD page loop: 127 x 1 TiB (estimated)", ms);
        cram_engine_free(e);
    }

    /* The poison list: 10^4 scattered pages and a run of 10^5. */
    e = range_engine(held);
    pt0 = e->pt.bytes;
    for (i = 0; i < 10000; i++) {
        cram_engine_poison_tagged(e, ((uint64_t)i * 40503 * 6700417) %
                                  NPAGES_1T, 2);
    }
    for (i = 0; i < 100000; i++) {
        cram_engine_poison_tagged(e, (NPAGES_1T / 3) + i, 3);
    }
    ROW("poison: B per poisoned page (10^4 + 10^5 run)",
        (double)(e->pt.bytes - pt0) / e->poisoned);
    t0 = bench_now_ns();
    for (from = 0; ; queries++) {
        for (i = 0; i < RECORDS; i++) {
            if (!cram_engine_poison_run(e, from, NPAGES_1T, &first, &n,
                                        &tag)) {
                break;
            }
            from = first + n;
            records++;
        }
        if (i < RECORDS) {
            queries++;
            break;
        }
    }
    ms = ms_since(t0);
    ROW("poison list: every record, 126 a query", ms);
    ROW("poison list: ms per query", ms / queries);
    printf("(%" PRIu64 " records in %" PRIu64 " queries)\n", records,
           queries);
    cram_engine_free(e);
#undef ROW
}
