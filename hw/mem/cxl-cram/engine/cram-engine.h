/*
 * cxl-cram compressed page store: public interface
 *
 * The engine is QEMU-independent (glib, libzstd, liblz4 only) so that it
 * can be unit-tested and benchmarked on its own.  It stores the pages of a
 * logical address space of @capacity bytes, compressed, inside a fixed media
 * buffer of @media_size bytes.
 *
 * Not thread-safe: the caller serialises all calls on one engine.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef CRAM_ENGINE_H
#define CRAM_ENGINE_H

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
typedef enum CramPageClass {
    CRAM_CLASS_EMPTY,       /* never written, or discarded: reads as zero */
    CRAM_CLASS_ZERO,        /* written with zeros: no media */
    CRAM_CLASS_SAME,        /* one repeated 64-bit word: no media */
    CRAM_CLASS_COMPRESSED,  /* compressed object in media */
    CRAM_CLASS_RAW,         /* did not compress: stored as is in media */
    CRAM_CLASS__MAX,
} CramPageClass;

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
    uint64_t media_free;        /* media_size - media_used */
    uint64_t logical_bytes;     /* non-zero pages held * CRAM_PAGE_SIZE */
    uint64_t stored_bytes;      /* sum of stored object sizes */
    uint64_t pages[CRAM_CLASS__MAX];   /* page count by class */
    uint64_t stores;            /* successful page stores */
    uint64_t loads;             /* page loads */
    uint64_t failed_stores;     /* stores refused for lack of media */
    uint64_t discards;          /* pages discarded */
    uint64_t poisoned_pages;    /* pages currently poisoned */
} CramStats;

typedef struct CramEngine CramEngine;

const char *cram_codec_name(CramCodecId id);
/* Returns false when @name is not a known codec. */
bool cram_codec_from_name(const char *name, CramCodecId *id);
/* Validates @level for @id; fills @err when out of range. */
bool cram_codec_check_level(CramCodecId id, int level, GError **err);

/* Returns NULL and sets @err on a bad configuration. */
CramEngine *cram_engine_new(const CramConfig *cfg, GError **err);
void cram_engine_free(CramEngine *e);

/*
 * Store one page.  Returns 0, or -ENOSPC when the media cannot hold it.
 * On -ENOSPC the engine is unchanged: the page keeps its previous content.
 * @page_index must be below capacity / CRAM_PAGE_SIZE.
 */
int cram_engine_store(CramEngine *e, uint64_t page_index, const void *src);

/*
 * Reservations: a page held dirty in a cache is charged one media page
 * (its worst case, raw) until it is stored, so that the figures stay
 * conservative and the deferred store cannot fail.  cram_engine_reserve()
 * returns false when no unreserved media page is left.
 */
bool cram_engine_reserve(CramEngine *e);
void cram_engine_unreserve(CramEngine *e);

/*
 * Load one page into @dst (CRAM_PAGE_SIZE bytes). Empty pages read zero.
 * A stored object that fails to decompress (corrupt media) poisons the
 * page: @dst is all-ones and false is returned.
 */
bool cram_engine_load(CramEngine *e, uint64_t page_index, void *dst);

/* Release the page's media; it reads as zero afterwards. */
void cram_engine_discard(CramEngine *e, uint64_t page_index);

/* Discard every page. */
void cram_engine_discard_all(CramEngine *e);

/* Pages [first, first + n). */
typedef struct CramRange {
    uint64_t first;
    uint64_t n;
} CramRange;

/*
 * Discard every page of @nr ranges (in any order; they may overlap or be
 * empty), as cram_engine_discard() does page by page, at a cost that
 * follows the pages held, not the size of the ranges: a discard of the
 * whole of a 1 TiB engine costs what its held pages do.  Returns the
 * pages discarded (those that held something or were poisoned).
 */
uint64_t cram_engine_discard_ranges(CramEngine *e, const CramRange *r,
                                    unsigned nr);

CramPageClass cram_engine_page_class(CramEngine *e, uint64_t page_index);

/*
 * Poison a page: its content and media are released and it reads as
 * poisoned until a successful store or a discard clears it.  This is what
 * a device does with a page whose write it had to drop.
 */
void cram_engine_poison(CramEngine *e, uint64_t page_index);
bool cram_engine_page_poisoned(CramEngine *e, uint64_t page_index);

/*
 * The same, keeping @tag (the caller's name for the cause, at most
 * CRAM_POISON_TAG_MAX) with the page, at no cost beyond the poisoned
 * page's metadata entry.  cram_engine_poison() gives tag 0.  A page
 * already poisoned keeps its tag (a second poisoning changes nothing).
 */
#define CRAM_POISON_TAG_MAX 255
void cram_engine_poison_tagged(CramEngine *e, uint64_t page_index,
                               unsigned tag);
/* The tag of a poisoned page; -1 when the page is not poisoned. */
int cram_engine_poison_tag(CramEngine *e, uint64_t page_index);
/* Gives a poisoned page @tag; false (nothing done) if it is not poisoned. */
bool cram_engine_poison_retag(CramEngine *e, uint64_t page_index,
                              unsigned tag);

/*
 * The first run of consecutive poisoned pages with one tag within pages
 * [from, end), cut to that range: [*first, *first + *n), its tag in
 * *tag.  False when none lies there.  Runs come in page order, and a
 * query costs what it returns (a lookup per 64 pages of the run and a
 * search in an ordered set of the poisoned 64-page regions), not the
 * size of [from, end): a poison list derives from the poisoned pages
 * themselves, with no other record kept.
 */
bool cram_engine_poison_run(CramEngine *e, uint64_t from, uint64_t end,
                            uint64_t *first, uint64_t *n, unsigned *tag);

void cram_engine_get_stats(CramEngine *e, CramStats *st);

/* Host memory used by page metadata and allocator bookkeeping, in bytes. */
uint64_t cram_engine_metadata_bytes(CramEngine *e);

/*
 * Compression ratio as 16.16 fixed point: logical_bytes / media stored
 * (media_used - media_reserved).
 * 0 when nothing uses media and nothing is held; when pages are held but
 * no media is used (zero/same pages only) it saturates to UINT32_MAX.
 */
uint32_t cram_ratio_fp16(const CramStats *st);

#endif /* CRAM_ENGINE_H */
