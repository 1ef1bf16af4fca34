/*
 * cxl-cram engine benchmarks: corpus and measurements
 *
 * The measurements live in a small library so that cram-bench (the tool)
 * and test-bench-smoke (a g_test on tiny inputs) run the same code.
 * Every figure is a ratio against a baseline measured in the same run.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef BENCH_H
#define BENCH_H

#include <stdio.h>
#include "cram-engine.h"

/* Page classes of the corpus: synthetic first, then real file images. */
typedef enum BenchClass {
    BC_ZERO,        /* all zero */
    BC_TEXT,        /* English-like text and log lines */
    BC_STRUCT,      /* pointer-rich heap structs */
    BC_RANDOM,      /* incompressible */
    BC_BIN,         /* /usr/bin executables */
    BC_LIB,         /* /usr/lib/x86_64-linux-gnu shared libraries */
    BC_DOC,         /* /usr/include headers and /usr/share/doc text */
    BC__MAX,
} BenchClass;

typedef struct BenchCorpus {
    uint8_t *pages;                 /* npages * CRAM_PAGE_SIZE, aligned */
    uint32_t npages;
    uint32_t start[BC__MAX + 1];    /* class c is [start[c], start[c + 1]) */
    uint32_t *mixed;                /* all pages, shuffled */
    uint32_t files[BC__MAX];        /* files read, real classes */
    uint32_t synth_fill[BC__MAX];   /* real pages replaced by synthetic */
} BenchCorpus;

const char *bench_class_name(BenchClass c);

/*
 * @per_class pages of each class.  Real classes read files on this
 * machine, at most @per_file pages from each, in sorted name order; if
 * there are not enough, synthetic text fills the gap (and is counted).
 */
BenchCorpus *bench_corpus_new(uint32_t per_class, uint32_t per_file,
                              uint32_t seed);
void bench_corpus_free(BenchCorpus *c);

static inline const uint8_t *bench_page(const BenchCorpus *c, uint32_t i)
{
    return c->pages + (size_t)i * CRAM_PAGE_SIZE;
}

/* The raw codec baseline: same codec, same level as the engine. */
typedef struct BenchRaw BenchRaw;

/* @codec is CRAM_CODEC_LZ4 (acceleration 1) or CRAM_CODEC_ZSTD (level 1). */
BenchRaw *bench_raw_new(CramCodecId codec);
void bench_raw_free(BenchRaw *r);
size_t bench_raw_bound(const BenchRaw *r);
/* Compresses one page into @dst (bench_raw_bound() bytes); returns size. */
size_t bench_raw_compress(BenchRaw *r, const void *src, void *dst);
/* Decompresses into @dst (CRAM_PAGE_SIZE); returns 0 or -1. */
int bench_raw_decompress(BenchRaw *r, const void *src, size_t len,
                         void *dst);

/* Throughput of one page set, engine against raw codec. */
typedef struct BenchSpeed {
    uint32_t npages;
    /* Medians over the repetitions, in MiB/s of 4 KiB pages. */
    double raw_comp, raw_scratch, eng_store, eng_rewrite;
    double raw_decomp, eng_load;
    /* Medians of the per-repetition ratios engine / raw. */
    double store_ratio, rewrite_ratio, load_ratio;
    double scratch_ratio;           /* engine store / raw into scratch */
} BenchSpeed;

/* @order: @n corpus page numbers, taken in that order. */
void bench_speed(const BenchCorpus *c, CramCodecId codec,
                 const uint32_t *order, uint32_t n, unsigned reps,
                 BenchSpeed *out);

/* A page miss, one call at a time: cram_engine_load vs raw decompress. */
typedef struct BenchLatency {
    uint32_t samples;               /* compressed pages timed */
    double timer_ns;                /* subtracted from every sample */
    double raw_med, raw_p99;        /* ns */
    double eng_med, eng_p99;        /* ns */
    double ratio;                   /* eng_med / raw_med */
} BenchLatency;

void bench_latency(const BenchCorpus *c, CramCodecId codec, unsigned rounds,
                   BenchLatency *out);

/* Media used against the objects' own sizes, mixed corpus, no churn. */
typedef struct BenchSpace {
    uint64_t pages;
    uint64_t media_used;
    uint64_t stored_bytes;
    uint64_t media_size;
    double overhead;                /* media_used / stored_bytes */
    uint64_t pages_by_class[CRAM_KIND__MAX];
} BenchSpace;

void bench_space(const BenchCorpus *c, CramCodecId codec, BenchSpace *out);

/*
 * Churn: fill @media_size of media to 90% with corpus pages, then
 * @rewrites_per_page x (pages filled) stores of random corpus pages to
 * random filled page numbers.  @csv (may be NULL) gets a sample line every
 * 1/@samples of the run.
 */
typedef enum BenchChurnMode {
    BCM_ENGINE,         /* through cram_engine_store() */
    BCM_ALLOC,          /* the same store path at allocator level */
    BCM_ALLOC_COMPACT,  /* ... with cram_alloc_compact() */
    BCM__MAX,
} BenchChurnMode;

typedef struct BenchChurn {
    uint64_t media_size;
    uint64_t filled_pages;
    uint64_t rewrites;
    uint64_t failed;                /* -ENOSPC during churn */
    double fill_used;               /* media_used / media_size after fill */
    double fill_overhead;           /* media_used / stored_bytes */
    double end_used;
    double end_overhead;
    double max_overhead;
    uint64_t end_media_used, end_stored;
    uint64_t compactions, moves;    /* BCM_ALLOC_COMPACT */
    uint64_t compact_ns;            /* time in compaction, handle walk too */
} BenchChurn;

const char *bench_churn_mode_name(BenchChurnMode mode);
void bench_churn(const BenchCorpus *c, CramCodecId codec, uint64_t media_size,
                 unsigned rewrites_per_page, unsigned samples,
                 BenchChurnMode mode, FILE *csv, BenchChurn *out);

/* Metadata of a 1 TiB page table and engine (bench-metadata.c). */
typedef enum BenchPattern {
    BP_SEQUENTIAL,      /* pages 0, 1, 2, ... */
    BP_STRIDE2,         /* every other page */
    BP_STRIDED,         /* 4099 pages apart */
    BP_SCATTERED,       /* distinct pages spread over the 1 TiB */
    BP__MAX,
} BenchPattern;

typedef struct BenchMetaPoint {
    uint64_t touched;
    uint64_t pt_bytes;          /* the page table, malloc overhead in */
    uint64_t radix_bytes;       /* the radix it replaced, same pages */
    uint64_t eng_bytes;         /* engine metadata beyond the empty one */
    uint64_t dense, shards;     /* dense leaves and shards of the table */
    double pt_per_page, radix_per_page, eng_per_page;
    double pt_get_ns, radix_get_ns;     /* 0: not measured */
} BenchMetaPoint;

const char *bench_pattern_name(BenchPattern p);

/* Metadata of an untouched engine of @capacity (media 1 GiB or less). */
uint64_t bench_meta_empty(uint64_t capacity);

/*
 * Touches @points[i].touched pages in turn (increasing) and fills in the
 * figures at each point; @engine also runs a 1 TiB engine.
 */
void bench_metadata(BenchPattern pat, bool engine, BenchMetaPoint *points,
                    unsigned npoints);

/* Prints the table for 1000, 10000, ... up to @max_touched pages. */
void bench_meta_report(uint64_t max_touched, bool engine, FILE *csv,
                       FILE *cap_csv);

/*
 * Metadata with real pages: the mixed corpus stored in turn at the
 * pattern's page indexes of a 1 TiB engine over 1 GiB of media.  Bytes
 * are growth beyond the untouched engine (bench_meta_empty()).
 */
typedef struct BenchMetaReal {
    uint64_t touched;
    uint64_t pt_bytes;          /* the page table (it is 0 untouched) */
    uint64_t alloc_bytes;       /* allocator growth */
    uint64_t eng_bytes;         /* cram_engine_metadata_bytes() growth */
    uint64_t media_used;
    double pt_per_page, alloc_per_page, eng_per_page;
} BenchMetaReal;

void bench_metadata_real(const BenchCorpus *c, CramCodecId codec,
                         BenchPattern pat, BenchMetaReal *points,
                         unsigned npoints);

/* Prints the table for 1000, 10000, ... up to @max_touched pages. */
void bench_meta_real_report(const BenchCorpus *c, const CramCodecId *codecs,
                            unsigned ncodecs, uint64_t max_touched,
                            FILE *csv);

/*
 * Discards and Media Operations Zero over 1 TiB ranges of an engine
 * holding @held pages, the poison list, and with @old the page-by-page
 * loop they replaced (bench-range.c).
 */
void bench_range_report(uint64_t held, bool old, FILE *csv);

/* Monotonic clock in ns. */
uint64_t bench_now_ns(void);

#endif /* BENCH_H */
