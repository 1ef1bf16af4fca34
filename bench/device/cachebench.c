/*
 * cachebench: the per-access cost of the cxl-cram store alone (page cache
 * and lock), on the host, without QEMU or TCG: the same 8-byte access
 * patterns as devbench, through cram_store_access() (what
 * cxl_cram_access() calls for each guest access), against a plain array
 * (what a cxl-type3 RAM backend amounts to).  It tells how much of the
 * cram/type3 gap seen in the guest is the store's own code and how much
 * is elsewhere.
 *
 * Built by bench/device/run.sh --cachebench from the engine sources at
 * -O2 (as QEMU builds them).
 *
 * usage: cachebench [REPS]       (median of REPS runs, default 3)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cram-store.h"
#include "content.h"

#define HOT_PAGES       512             /* 2 MiB, as devbench */
#define COLD_PAGES      16384           /* 64 MiB, as devbench */
#define CACHE_PAGES     2048            /* the default cache-size, 8 MiB */
#define OPS             (1u << 20)

static volatile uint64_t sink;
static uint64_t *plain;

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static inline uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* One access: @c NULL means the plain array. */
static inline void access8(CramStore *c, uint64_t word, int write,
                           uint64_t *sum)
{
    uint64_t v;

    if (!c) {
        if (write) {
            ((volatile uint64_t *)plain)[word] = content(word, 1);
        } else {
            *sum += ((volatile uint64_t *)plain)[word];
        }
        return;
    }
    if (write) {
        v = content(word, 1);
        cram_store_access(c, word * 8, &v, 8, true, NULL);
    } else {
        cram_store_access(c, word * 8, &v, 8, false, NULL);
        *sum += v;
    }
}

enum { SEQ_READ, SEQ_WRITE, RAND_READ, RAND_WRITE, PAGE_MISS, NPAT };
static const char *names[NPAT] = {
    "hot-seq-read", "hot-seq-write", "hot-rand-read", "hot-rand-write",
    "page-miss",
};

/* ns per access of one run of @pat; @slow: every access is a miss */
static double run(CramStore *c, int pat, int slow)
{
    uint64_t sum = 0, x = 0x1234, i, n = 0, ops = slow ? OPS / 64 : OPS;
    double t0 = now();

    switch (pat) {
    case SEQ_READ:
    case SEQ_WRITE:
        for (n = 0; n < OPS;) {
            for (i = 0; i < HOT_PAGES * PAGE_WORDS; i++, n++) {
                access8(c, i, pat == SEQ_WRITE, &sum);
            }
        }
        break;
    case RAND_READ:
    case RAND_WRITE:
        for (n = 0; n < ops; n++) {
            access8(c, xorshift(&x) & (HOT_PAGES * PAGE_WORDS - 1),
                    pat == RAND_WRITE, &sum);
        }
        break;
    case PAGE_MISS:
        for (i = 0; i < COLD_PAGES; i++, n++) {
            access8(c, i * PAGE_WORDS + (i * 7 & (PAGE_WORDS - 1)), 0, &sum);
        }
        break;
    }
    sink = sum;
    return (now() - t0) * 1e9 / n;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static gpointer worker_main(gpointer opaque)
{
    cram_store_worker_run(opaque);
    return NULL;
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 3;
    CramConfig cfg = {
        .capacity = 1ULL << 30, .media_size = 256ULL << 20,
        .codec = CRAM_CODEC_ZSTD,
    };
    const char *mode[3] = { "plain", "cache", "nocache" };
    double t[3][NPAT][32];
    int m, p, r;

    if (reps < 1 || reps > 32) {
        fprintf(stderr, "usage: cachebench [REPS (1..32)]\n");
        return 2;
    }
    plain = calloc(COLD_PAGES, 4096);
    for (m = 0; m < 3; m++) {
        /* as the device: cache-size 8M with a worker, or 0 */
        CramStoreConfig scfg = {
            .cache_pages = m == 1 ? CACHE_PAGES : 1, .worker = m == 1,
        };
        GThread *worker = NULL;
        CramEngine *e = NULL;
        CramStore *c = NULL;
        GError *err = NULL;
        uint64_t w;

        if (m) {
            e = cram_engine_new(&cfg, &err);
            c = e ? cram_store_new(e, &scfg, &err) : NULL;
            if (!c) {
                fprintf(stderr, "cachebench: %s\n", err->message);
                return 1;
            }
            if (scfg.worker) {
                worker = g_thread_new("cram-worker", worker_main, c);
            }
        }
        /* the compressed working set of page-miss, then the hot set */
        for (w = 0; w < (uint64_t)COLD_PAGES * PAGE_WORDS; w++) {
            access8(c, w, 1, NULL);
        }
        if (c) {
            cram_store_flush(c);
        }
        for (r = 0; r < reps; r++) {
            for (p = 0; p < NPAT; p++) {
                /* warm: the hot set, or one walk (clean pages cached) */
                run(c, p == PAGE_MISS ? PAGE_MISS : SEQ_READ, 0);
                t[m][p][r] = run(c, p, m == 2);
            }
        }
        if (c) {
            CramCacheStats st;

            cram_store_get_stats(c, NULL, &st, NULL);
            printf("# %s: hits %llu misses %llu writebacks sync %llu "
                   "async %llu\n", mode[m], (unsigned long long)st.hits,
                   (unsigned long long)st.misses,
                   (unsigned long long)st.sync_writebacks,
                   (unsigned long long)st.async_writebacks);
            if (worker) {
                cram_store_worker_stop(c);
                g_thread_join(worker);
            }
            cram_store_free(c);
        }
    }
    printf("%-15s %10s %10s %10s   (ns per 8-byte access, median of %d)\n",
           "pattern", "plain", "cache", "nocache", reps);
    for (p = 0; p < NPAT; p++) {
        printf("%-15s", names[p]);
        for (m = 0; m < 3; m++) {
            qsort(t[m][p], reps, sizeof(double), cmp);
            printf(" %10.1f", t[m][p][reps / 2]);
        }
        printf("\n");
    }
    return 0;
}
