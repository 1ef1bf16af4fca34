/*
 * cxl-cram engine: the types every part of the engine shares
 *
 * At the bottom of the engine's include graph: no engine header below it.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef CRAM_TYPES_H
#define CRAM_TYPES_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#define CRAM_PAGE_SHIFT 12
#define CRAM_PAGE_SIZE  (1u << CRAM_PAGE_SHIFT)

/* Largest advertised capacity: 1 TiB (2^28 pages). */
#define CRAM_MAX_CAPACITY (1ULL << 40)

typedef enum CramCodecId {
    CRAM_CODEC_NONE,
    CRAM_CODEC_LZ4,
    CRAM_CODEC_ZSTD,
    CRAM_CODEC__MAX,
} CramCodecId;

/* How a page is held; the order is ABI (stats, registers). */
typedef enum CramPageKind {
    CRAM_KIND_EMPTY,        /* never written, or discarded: reads as zero */
    CRAM_KIND_ZERO,         /* written with zeros: no media */
    CRAM_KIND_SAME,         /* one repeated 64-bit word: no media */
    CRAM_KIND_COMPRESSED,   /* compressed object in media */
    CRAM_KIND_RAW,          /* did not compress: stored as is in media */
    CRAM_KIND__MAX,
} CramPageKind;

typedef struct CramConfig {
    uint64_t capacity;      /* bytes, multiple of CRAM_PAGE_SIZE */
    uint64_t media_size;    /* bytes, multiple of CRAM_PAGE_SIZE */
    CramCodecId codec;
    int level;              /* codec level; 0 selects the codec default */
} CramConfig;

typedef struct CramStats {
    uint64_t capacity;          /* logical bytes advertised */
    uint64_t media_size;        /* bytes of media buffer */
    uint64_t media_used;        /* bytes taken from media, overhead and */
                                /* reservations included */
    uint64_t media_reserved;    /* of which promised to cached dirty pages */
    uint64_t media_taken;       /* of which taken away by the host */
    uint64_t media_free;        /* media_size - media_used */
    uint64_t logical_bytes;     /* non-zero pages held * CRAM_PAGE_SIZE */
    uint64_t stored_bytes;      /* sum of stored object sizes */
    uint64_t pages[CRAM_KIND__MAX];   /* page count by kind */
    uint64_t stores;            /* successful page stores */
    uint64_t loads;             /* page loads */
    uint64_t failed_stores;     /* stores refused for lack of media */
    uint64_t discards;          /* pages discarded */
    uint64_t poisoned_pages;    /* pages currently poisoned */
} CramStats;

/* Pages [first, first + n). */
typedef struct CramRange {
    uint64_t first;
    uint64_t n;
} CramRange;

/* Bytes [start, start + len) of the capacity. */
typedef struct CramByteRange {
    uint64_t start;
    uint64_t len;
} CramByteRange;

#endif /* CRAM_TYPES_H */
