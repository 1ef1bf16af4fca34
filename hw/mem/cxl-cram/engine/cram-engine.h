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

#include "cram-types.h"
#include "cram-encode.h"

typedef struct CramEngine CramEngine;

/* The codecs' names and levels: cram-codec.h (cram_codec_from_name()...) */

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
 * Media taken away by the host (a failing or shared device): the engine
 * holds @pages media pages out of use from now on, more or fewer than
 * it did.  They count in media_used (and media_taken), never hold data,
 * and no store or reservation gets them.  Only free media that no
 * reservation holds can be taken: false, and nothing changes, when
 * fewer pages than that are free.  Giving back always succeeds.
 */
bool cram_engine_take_media(CramEngine *e, uint64_t pages);

/*
 * Store each page of [@from, @end) as an object of at least @size bytes
 * of media from now on, as if it compressed to @size bytes, until
 * another call (@from == @end: none).  @size is a multiple of 16 of at
 * most 4080, or 4096: the pages are stored raw, as if they did not
 * compress (cram_engine_store_as_valid()).  The object really holds the
 * page's data: a page whose compressed data does not fit in @size is
 * stored at its real size, or raw, as without the floor.  Pages stored
 * before keep their objects until they are written again; zero and
 * same-filled pages stay metadata only, as a device detects them before
 * compressing.  This is how a host collapses the ratio, or sets it, at a
 * chosen moment.
 */
void cram_engine_store_as(CramEngine *e, uint64_t from, uint64_t end,
                          uint32_t size);
bool cram_engine_store_as_valid(uint32_t size);

/*
 * Compress new pages with @codec at @level (0: its default) from now on.
 * Pages stored before read back as they are: an object made by a codec
 * other than the engine's first is wrapped with its codec (cram-wrap.h).
 * False with @err set, and nothing changed, for a level out of range.
 */
bool cram_engine_set_codec(CramEngine *e, CramCodecId codec, int level,
                           GError **err);
/* Changes with every cram_engine_set_codec(): a thread's scratch is stale */
uint64_t cram_engine_codec_gen(CramEngine *e);
/* Encode @src with the engine's scratch (the caller's lock held) */
void cram_engine_encode(CramEngine *e, const void *src, CramEncoded *enc);

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


/*
 * Discard every page of @nr ranges (in any order; they may overlap or be
 * empty), as cram_engine_discard() does page by page, at a cost that
 * follows the pages held, not the size of the ranges: a discard of the
 * whole of a 1 TiB engine costs what its held pages do.  Returns the
 * pages discarded (those that held something or were poisoned).
 */
uint64_t cram_engine_discard_ranges(CramEngine *e, const CramRange *r,
                                    unsigned nr);

CramPageKind cram_engine_page_kind(CramEngine *e, uint64_t page_index);

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

/* What a range of pages holds: one bucket of cram_engine_census() */
typedef struct CramCensus {
    uint64_t pages[CRAM_KIND__MAX];     /* by kind; EMPTY: not held */
    uint64_t poisoned;                  /* lost; EMPTY if no object */
    uint64_t stored_bytes;              /* media bytes of their objects */
} CramCensus;

/*
 * Count the pages of [@from, @end) in buckets of @per pages (the last
 * may be shorter) into @out, DIV_ROUND_UP(@end - @from, @per) of them.
 * The cost follows what the page table holds, not the range's size.
 */
void cram_engine_census(CramEngine *e, uint64_t from, uint64_t end,
                        uint64_t per, CramCensus *out);

/* Host memory used by page metadata and allocator bookkeeping, in bytes. */
uint64_t cram_engine_metadata_bytes(CramEngine *e);

/*
 * Compression ratio as 16.16 fixed point: logical_bytes / media stored
 * (media_used - media_reserved - media_taken).
 * 0 when nothing uses media and nothing is held; when pages are held but
 * no media is used (zero/same pages only) it saturates to UINT32_MAX.
 */
uint32_t cram_ratio_fp16(const CramStats *st);

/*
 * For the page cache: a scratch for its worker's thread (the engine's
 * codec and level), and the store of a page it reserved media for and
 * encoded outside the lock; that store cannot fail.
 */
CramScratch *cram_engine_scratch_new(CramEngine *e);
void cram_engine_store_reserved(CramEngine *e, uint64_t page_index,
                                const void *src, const CramEncoded *enc);

#endif /* CRAM_ENGINE_H */
