/*
 * pagecodec: on the host, the raw codec cost of devbench's pages, as a
 * reference for the page-miss figure of bench/device/run.sh (a cxl-cram
 * miss decompresses one such page).  Same codecs and levels as the
 * device's defaults: zstd level 1 (ZSTD_compressCCtx/ZSTD_decompressDCtx
 * with one context, as cram-codec-zstd.c) and lz4 acceleration 1.
 *
 * usage: pagecodec [PAGES [REPS]]     (default 4096 pages, 5 repetitions)
 * Prints one line per codec: compressed bytes per page, and the median
 * nanoseconds per page to compress and to decompress.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <lz4.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zstd.h>
#include "content.h"

#define PAGE    4096
#define CAP     (PAGE + 1024)

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    int pages = argc > 1 ? atoi(argv[1]) : 4096;
    int reps = argc > 2 ? atoi(argv[2]) : 5;
    uint64_t *src = malloc((size_t)pages * PAGE);
    uint8_t *cmp_buf = malloc((size_t)pages * CAP), out[PAGE];
    size_t *len = malloc(pages * sizeof(size_t)), total;
    double *tc = malloc(reps * sizeof(double)), *td = malloc(reps * sizeof(double));
    ZSTD_CCtx *cc = ZSTD_createCCtx();
    ZSTD_DCtx *dc = ZSTD_createDCtx();
    uint64_t w;
    int codec, r, i;

    if (pages < 1 || reps < 1) {
        fprintf(stderr, "usage: pagecodec [PAGES [REPS]]\n");
        return 2;
    }
    /* the pages of devbench's streaming region (round 0) */
    for (w = 0; w < (uint64_t)pages * PAGE_WORDS; w++) {
        src[w] = content(w, 0);
    }
    for (codec = 0; codec < 2; codec++) {
        for (r = 0; r < reps; r++) {
            double t0 = now();

            total = 0;
            for (i = 0; i < pages; i++) {
                const char *s = (const char *)(src + (size_t)i * PAGE_WORDS);
                char *d = (char *)cmp_buf + (size_t)i * CAP;

                len[i] = codec ? (size_t)LZ4_compress_default(s, d, PAGE, CAP)
                               : ZSTD_compressCCtx(cc, d, CAP, s, PAGE, 1);
                total += len[i];
            }
            tc[r] = (now() - t0) / pages;
            t0 = now();
            for (i = 0; i < pages; i++) {
                const char *s = (const char *)cmp_buf + (size_t)i * CAP;

                if (codec) {
                    LZ4_decompress_safe(s, (char *)out, len[i], PAGE);
                } else {
                    ZSTD_decompressDCtx(dc, out, PAGE, s, len[i]);
                }
            }
            td[r] = (now() - t0) / pages;
            for (i = 0; i < pages; i++) {     /* checked, untimed */
                const char *s = (const char *)cmp_buf + (size_t)i * CAP;
                size_t n = codec ?
                    (size_t)LZ4_decompress_safe(s, (char *)out, len[i], PAGE) :
                    ZSTD_decompressDCtx(dc, out, PAGE, s, len[i]);

                if (n != PAGE || memcmp(out, src + (size_t)i * PAGE_WORDS, PAGE)) {
                    fprintf(stderr, "pagecodec: round trip failed\n");
                    return 1;
                }
            }
        }
        qsort(tc, reps, sizeof(double), cmp);
        qsort(td, reps, sizeof(double), cmp);
        printf("CODEC,codec=%s,pages=%d,bytes_per_page=%.0f,compress_ns=%.0f,"
               "decompress_ns=%.0f\n", codec ? "lz4" : "zstd", pages,
               (double)total / pages, tc[reps / 2] * 1e9, td[reps / 2] * 1e9);
    }
    ZSTD_freeCCtx(cc);
    ZSTD_freeDCtx(dc);
    return 0;
}
