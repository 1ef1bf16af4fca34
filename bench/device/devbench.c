/*
 * devbench: the guest data-path benchmark, run in the test guest against
 * two device-dax devices of the same QEMU process: an
 * upstream cxl-type3 (the baseline) and a cxl-cram, and with -R against a
 * file in the guest's own RAM (the physical limit).  Every pattern runs on
 * every device in turn, round after round (the device that goes first
 * rotates), so that machine noise hits all; the summary is the median
 * over the rounds.  Built on the host with `gcc -O2 -static` by
 * bench/device/run.sh; see docs/performance-device.md.
 *
 * usage: devbench [options] T3_DAX CRAM_DAX
 *   -r N      rounds (3)
 *   -H KIB    hot working set (2048 KiB: well under the 8 MiB cache)
 *   -p N      passes over the hot set per sequential hot run (2)
 *   -n N      accesses per random run (262144)
 *   -S MIB    bytes written per streaming run (64 MiB); every round writes
 *             a fresh region, and round 0's region is then the compressed
 *             working set of the miss patterns
 *   -m N      passes of the page-miss walk (2)
 *   -b PATH   the cxl-cram's BAR 5 (sysfs resource5): per-run cache
 *             hit/miss, load and store counts of the cram runs
 *   -P LIST   only these patterns (comma-separated names, see pat_name);
 *             stream-write always runs in round 0 when page-miss or
 *             rand-read do, since it writes their working set
 *   -D DEV    only this device (type3, cram or ram): for profiling one path
 *   -R FILE   also run every pattern on FILE, created and sized here, on a
 *             RAM file system of the guest (tmpfs, ramfs): guest RAM
 *
 * Output: one "RUN" line per (round, device, pattern), then one "RES" line
 * per (device, pattern) with the medians, as comma-separated key=value.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include "content.h"

#define KIB             ((uint64_t)1024)
#define MIB             (1024 * KIB)
#define ALIGN_2M        (2 * MIB)
#define HOT_OFF         0               /* hot working set */
#define STREAM_OFF      (64 * MIB)      /* streaming regions, one per round */
#define MAX_ROUNDS      15

/* vendor registers of docs/registers.md */
#define REG_LOADS       0x078
#define REG_STORES      0x070
#define REG_HITS        0x0e8
#define REG_MISSES      0x0f0

enum { DEV_T3, DEV_CRAM, DEV_RAM, NDEV };
static const char *dev_name[NDEV] = { "type3", "cram", "ram" };

enum {
    P_HOT_SEQ_READ, P_HOT_SEQ_WRITE, P_HOT_RAND_READ, P_HOT_RAND_WRITE,
    P_STREAM_WRITE, P_PAGE_MISS, P_RAND_READ, NPAT
};
static const char *pat_name[NPAT] = {
    "hot-seq-read", "hot-seq-write", "hot-rand-read", "hot-rand-write",
    "stream-write", "page-miss", "rand-read",
};

static struct {
    unsigned rounds;
    uint64_t hot_bytes;
    unsigned hot_passes;
    uint64_t rand_ops;
    uint64_t stream_bytes;
    unsigned miss_passes;
    const char *bar;
    unsigned pats;              /* bit mask of the patterns to run */
    int only;                   /* a device index, or -1 for all */
    const char *ram;            /* -R: the guest RAM file */
} opt = { 3, 2048 * KIB, 2, 262144, 64 * MIB, 2, NULL, (1u << NPAT) - 1, -1,
          NULL };

static volatile uint64_t *dev_mem[NDEV];
static volatile uint64_t *regs;
static volatile uint64_t sink;

typedef struct Counters {
    uint64_t hits, misses, loads, stores;
} Counters;

typedef struct Result {
    uint64_t ops;
    double sec;
    Counters d;
} Result;

static Result res[NPAT][NDEV][MAX_ROUNDS];

static void die(const char *msg)
{
    fprintf(stderr, "devbench: %s: %s\n", msg, strerror(errno));
    exit(1);
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void read_counters(Counters *c)
{
    memset(c, 0, sizeof(*c));
    if (regs) {
        c->hits = regs[REG_HITS / 8];
        c->misses = regs[REG_MISSES / 8];
        c->loads = regs[REG_LOADS / 8];
        c->stores = regs[REG_STORES / 8];
    }
}

static inline uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static uint64_t seq_read(volatile uint64_t *p, uint64_t words, unsigned passes)
{
    uint64_t s = 0, i;
    unsigned k;

    for (k = 0; k < passes; k++) {
        for (i = 0; i < words; i++) {
            s += p[i];
        }
    }
    sink = s;
    return words * passes;
}

static uint64_t seq_write(volatile uint64_t *p, uint64_t words,
                          unsigned passes, uint64_t first_word)
{
    uint64_t i;
    unsigned k;

    for (k = 0; k < passes; k++) {
        for (i = 0; i < words; i++) {
            p[i] = content(first_word + i, k);
        }
    }
    return words * passes;
}

/* @words must be a power of two. */
static uint64_t rand_read(volatile uint64_t *p, uint64_t words, uint64_t ops,
                          uint64_t seed)
{
    uint64_t s = 0, x = seed | 1, i, mask = words - 1;

    for (i = 0; i < ops; i++) {
        s += p[xorshift(&x) & mask];
    }
    sink = s;
    return ops;
}

static uint64_t rand_write(volatile uint64_t *p, uint64_t words, uint64_t ops,
                           uint64_t seed)
{
    uint64_t x = seed | 1, i, mask = words - 1, w;

    for (i = 0; i < ops; i++) {
        w = xorshift(&x) & mask;
        p[w] = content(w, i);
    }
    return ops;
}

/* One 8-byte load per 4 KiB page, at a varying offset in the page. */
static uint64_t page_walk(volatile uint64_t *p, uint64_t pages,
                          unsigned passes)
{
    uint64_t s = 0, i;
    unsigned k;

    for (k = 0; k < passes; k++) {
        for (i = 0; i < pages; i++) {
            s += p[i * PAGE_WORDS + ((i * 7 + k) & (PAGE_WORDS - 1))];
        }
    }
    sink = s;
    return pages * passes;
}

static volatile uint64_t *at(int dev, uint64_t off)
{
    return dev_mem[dev] + off / 8;
}

/* Untimed preparation of a run: make the case the one it claims to be. */
static void warm(int pat, int dev)
{
    uint64_t hot = opt.hot_bytes / 8;
    uint64_t pages = opt.stream_bytes / 4096;

    switch (pat) {
    case P_HOT_SEQ_READ:
    case P_HOT_SEQ_WRITE:
    case P_HOT_RAND_READ:
    case P_HOT_RAND_WRITE:
        seq_read(at(dev, HOT_OFF), hot, 1);     /* every hot page cached */
        break;
    case P_PAGE_MISS:
    case P_RAND_READ:
        /* one walk: the cache holds only round 0's pages, clean */
        page_walk(at(dev, STREAM_OFF), pages, 1);
        break;
    }
}

static uint64_t run(int pat, int dev, unsigned round)
{
    uint64_t hot = opt.hot_bytes / 8;
    uint64_t sw = opt.stream_bytes / 8;

    switch (pat) {
    case P_HOT_SEQ_READ:
        return seq_read(at(dev, HOT_OFF), hot, opt.hot_passes);
    case P_HOT_SEQ_WRITE:
        return seq_write(at(dev, HOT_OFF), hot, opt.hot_passes, round);
    case P_HOT_RAND_READ:
        return rand_read(at(dev, HOT_OFF), hot, opt.rand_ops, 0x1234 + round);
    case P_HOT_RAND_WRITE:
        return rand_write(at(dev, HOT_OFF), hot, opt.rand_ops, 0x4321 + round);
    case P_STREAM_WRITE:
        /* a fresh region each round: nothing to load before the write */
        return seq_write(at(dev, STREAM_OFF + round * opt.stream_bytes), sw, 1,
                         round * sw);
    case P_PAGE_MISS:
        return page_walk(at(dev, STREAM_OFF), sw / PAGE_WORDS,
                         opt.miss_passes);
    case P_RAND_READ:
        return rand_read(at(dev, STREAM_OFF), sw, opt.rand_ops, 0x5678 + round);
    }
    return 0;
}

static void print_line(const char *tag, int round, int pat, int dev,
                       const Result *r)
{
    double ns = r->sec * 1e9 / r->ops;

    printf("%s,round=%d,dev=%s,pat=%s,ops=%" PRIu64 ",sec=%.6f,ns=%.1f,"
           "MBps=%.2f", tag, round, dev_name[dev], pat_name[pat], r->ops,
           r->sec, ns, r->ops * 8.0 / r->sec / 1e6);
    if (dev == DEV_CRAM && regs) {
        printf(",hits=%" PRIu64 ",misses=%" PRIu64 ",loads=%" PRIu64
               ",stores=%" PRIu64, r->d.hits, r->d.misses, r->d.loads,
               r->d.stores);
    }
    printf("\n");
    fflush(stdout);
}

static void measure(int pat, int dev, unsigned round)
{
    Result *r = &res[pat][dev][round];
    Counters a, b;
    double t0;

    if (pat != P_STREAM_WRITE) {
        warm(pat, dev);
    }
    read_counters(&a);
    t0 = now();
    r->ops = run(pat, dev, round);
    r->sec = now() - t0;
    read_counters(&b);
    r->d.hits = b.hits - a.hits;
    r->d.misses = b.misses - a.misses;
    r->d.loads = b.loads - a.loads;
    r->d.stores = b.stores - a.stores;
    print_line("RUN", round, pat, dev, r);
}

static int cmp_sec(const void *a, const void *b)
{
    double x = ((const Result *)a)->sec, y = ((const Result *)b)->sec;

    return x < y ? -1 : x > y;
}

static volatile uint64_t *map_file(const char *path, uint64_t len, int sync,
                                   int create)
{
    int fd = open(path, O_RDWR | (sync ? O_SYNC : 0) |
                  (create ? O_CREAT | O_TRUNC : 0), 0600);
    void *p;

    if (fd < 0 || (create && ftruncate(fd, len))) {
        die(path);
    }
    p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        die(path);
    }
    close(fd);
    return p;
}

static uint64_t parse_size(const char *s, uint64_t unit)
{
    char *end;
    uint64_t v = strtoull(s, &end, 0);

    if (*end || !v) {
        fprintf(stderr, "devbench: bad number '%s'\n", s);
        exit(2);
    }
    return v * unit;
}

static unsigned parse_patterns(const char *list)
{
    char *copy = strdup(list), *tok, *save;
    unsigned mask = 0;
    int pat;

    for (tok = strtok_r(copy, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        for (pat = 0; pat < NPAT && strcmp(tok, pat_name[pat]); pat++) {
        }
        if (pat == NPAT) {
            fprintf(stderr, "devbench: unknown pattern '%s'\n", tok);
            exit(2);
        }
        mask |= 1u << pat;
    }
    free(copy);
    if (mask & (1u << P_PAGE_MISS | 1u << P_RAND_READ)) {
        mask |= 1u << P_STREAM_WRITE;
    }
    return mask;
}

static int pow2(uint64_t v)
{
    return v && !(v & (v - 1));
}

int main(int argc, char **argv)
{
    uint64_t len;
    unsigned round;
    int c, pat, dev, k, ndev;

    while ((c = getopt(argc, argv, "r:H:p:n:S:m:b:P:D:R:")) != -1) {
        switch (c) {
        case 'r': opt.rounds = parse_size(optarg, 1); break;
        case 'H': opt.hot_bytes = parse_size(optarg, KIB); break;
        case 'p': opt.hot_passes = parse_size(optarg, 1); break;
        case 'n': opt.rand_ops = parse_size(optarg, 1); break;
        case 'S': opt.stream_bytes = parse_size(optarg, MIB); break;
        case 'm': opt.miss_passes = parse_size(optarg, 1); break;
        case 'b': opt.bar = optarg; break;
        case 'P': opt.pats = parse_patterns(optarg); break;
        case 'R': opt.ram = optarg; break;
        case 'D':
            for (opt.only = 0; opt.only < NDEV &&
                 strcmp(optarg, dev_name[opt.only]); opt.only++) {
            }
            if (opt.only == NDEV) {
                fprintf(stderr, "devbench: -D type3, cram or ram\n");
                return 2;
            }
            break;
        default:
            fprintf(stderr, "usage: devbench [-r rounds] [-H hot-KiB] "
                    "[-p passes] [-n rand-ops] [-S stream-MiB] "
                    "[-m miss-passes] [-b cram-bar5] [-P patterns] [-D dev] "
                    "[-R ram-file] T3_DAX CRAM_DAX\n");
            return 2;
        }
    }
    if (opt.only == DEV_RAM && !opt.ram) {
        fprintf(stderr, "devbench: -D ram needs -R\n");
        return 2;
    }
    ndev = opt.ram ? NDEV : DEV_RAM;
    if (argc - optind != 2 || opt.rounds > MAX_ROUNDS ||
        !pow2(opt.hot_bytes) || !pow2(opt.stream_bytes) ||
        opt.hot_bytes > STREAM_OFF) {
        fprintf(stderr, "devbench: two DAX devices; at most %d rounds; "
                "power-of-two sizes; hot set at most 64 MiB\n", MAX_ROUNDS);
        return 2;
    }
    len = STREAM_OFF + opt.rounds * opt.stream_bytes;
    len = (len + ALIGN_2M - 1) & ~(ALIGN_2M - 1);
    for (dev = 0; dev < DEV_RAM; dev++) {
        dev_mem[dev] = map_file(argv[optind + dev], len, 0, 0);
    }
    if (opt.ram) {
        dev_mem[DEV_RAM] = map_file(opt.ram, len, 0, 1);
    }
    if (opt.bar) {
        regs = map_file(opt.bar, 4096, 1, 0);
        if ((uint32_t)regs[0] != 0x4d415243) {
            fprintf(stderr, "devbench: %s is not a cxl-cram BAR 5\n", opt.bar);
            return 1;
        }
    }
    printf("CONF,rounds=%u,hot_KiB=%" PRIu64 ",hot_passes=%u,rand_ops=%"
           PRIu64 ",stream_MiB=%" PRIu64 ",miss_passes=%u\n", opt.rounds,
           opt.hot_bytes / KIB, opt.hot_passes, opt.rand_ops,
           opt.stream_bytes / MIB, opt.miss_passes);

    /* Warm-up: the hot set written with compressible data on each. */
    for (dev = 0; dev < ndev; dev++) {
        seq_write(at(dev, HOT_OFF), opt.hot_bytes / 8, 1, 0);
        seq_read(at(dev, HOT_OFF), opt.hot_bytes / 8, 1);
    }

    for (round = 0; round < opt.rounds; round++) {
        for (pat = 0; pat < NPAT; pat++) {
            if (!(opt.pats & 1u << pat)) {
                continue;
            }
            for (k = 0; k < ndev; k++) {
                /* each round starts with the next device */
                dev = (k + round) % ndev;
                if (opt.only < 0 || opt.only == dev) {
                    measure(pat, dev, round);
                }
            }
        }
    }

    for (pat = 0; pat < NPAT; pat++) {
        if (!(opt.pats & 1u << pat)) {
            continue;
        }
        for (dev = 0; dev < ndev; dev++) {
            Result sorted[MAX_ROUNDS], med;

            if (opt.only >= 0 && opt.only != dev) {
                continue;
            }

            memcpy(sorted, res[pat][dev], opt.rounds * sizeof(Result));
            qsort(sorted, opt.rounds, sizeof(Result), cmp_sec);
            med = sorted[opt.rounds / 2];
            if (!(opt.rounds & 1)) {
                med.sec = (sorted[opt.rounds / 2 - 1].sec + med.sec) / 2;
            }
            /* counters: the sum over the rounds */
            memset(&med.d, 0, sizeof(med.d));
            for (round = 0; round < opt.rounds; round++) {
                med.d.hits += res[pat][dev][round].d.hits;
                med.d.misses += res[pat][dev][round].d.misses;
                med.d.loads += res[pat][dev][round].d.loads;
                med.d.stores += res[pat][dev][round].d.stores;
            }
            print_line("RES", -1, pat, dev, &med);
        }
    }
    return 0;
}
