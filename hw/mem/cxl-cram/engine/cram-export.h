/*
 * cxl-cram engine: export and import of the page store (migration)
 *
 * The store travels sparse, as it is held: one record per non-empty page
 * (or poisoned page), media objects in their compressed form.  Nothing is
 * decompressed on export and nothing of the untouched capacity travels.
 *
 * Media objects are exported grouped by the span that holds them, with
 * their slot in it, and the import gives each group a span of its own and
 * puts each object in the same slot, so the destination's spans hold the
 * same media pages as the source's: media used, and so the ratio, are
 * exactly the source's.
 *
 * The engine must not change while an export or an import is under way.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef CRAM_EXPORT_H
#define CRAM_EXPORT_H

#include "cram-engine.h"

#define CRAM_RECORD_POISON  0x1u    /* the page reads as poisoned */
#define CRAM_RECORD_WRAPPED 0x2u    /* COMPRESSED: a wrapped object */

/* One page as it travels. */
typedef struct CramPageRecord {
    uint64_t page;          /* page index, below capacity / 4 KiB */
    uint32_t kind;           /* CramPageKind; EMPTY only when poisoned */
    uint32_t flags;         /* CRAM_RECORD_* */
    uint32_t size;          /* object bytes: COMPRESSED 1..3840 (wrapped: */
                            /* a multiple of 16 of 16..4080), RAW 4096 */
    uint32_t group;         /* media objects: consecutive records with */
                            /* the same group shared one span */
    uint32_t slot;          /* media objects: the slot in that span */
    uint64_t fill;          /* SAME: the repeated 64-bit word */
    uint32_t poison_tag;    /* poisoned: cram_engine_poison_tagged()'s */
    const void *data;       /* COMPRESSED and RAW: @size bytes */
} CramPageRecord;

typedef struct CramExport CramExport;

/* Lists the pages held: O(pages held), not O(capacity). */
CramExport *cram_export_new(CramEngine *e);
uint64_t cram_export_count(const CramExport *x);
/*
 * Fills @rec with the next page, pages without media first in page
 * order, then media objects span by span.  @rec->data stays valid until
 * the next call.  Returns false at the end.  Counts no load.
 */
bool cram_export_next(CramExport *x, CramPageRecord *rec);
void cram_export_free(CramExport *x);

typedef struct CramImport CramImport;

/*
 * Empties @e (content and counters) to receive a store whose poison tags
 * are at most @max_tag.  Fails when media is reserved: the caller must
 * drop its cached pages first.
 */
CramImport *cram_import_new(CramEngine *e, unsigned max_tag, GError **err);

/*
 * Adds one page.  Every field is checked: page index, class, size,
 * flags, duplicates, media space, and that a compressed object
 * decompresses to a page with the engine's codec.  On failure @im
 * must be aborted.
 */
bool cram_import_page(CramImport *im, const CramPageRecord *rec,
                      GError **err);

/*
 * Completes the import: takes the counters of @expect (stores, loads,
 * failed stores, discards) and checks that every figure the pages
 * determine (media used, stored bytes, pages by class, poisoned pages)
 * equals @expect's.  On a mismatch the engine is emptied and false
 * returned.  @im is freed either way.
 */
bool cram_import_finish(CramImport *im, const CramStats *expect,
                        GError **err);

/* Abandons the import: the engine is left empty, counters zero. */
void cram_import_abort(CramImport *im);

/*
 * The records on a byte stream (migration).  Per record, big-endian:
 * page (8 bytes), kind (1), flags (1), size (2), group (4), slot (2),
 * then a poisoned page's tag (1), a SAME page's word (8), or the
 * object's @size bytes.  The caller owns the stream: @put writes, @get
 * fills its buffer or returns false when the stream ended or failed.
 */
typedef void CramPut(void *opaque, const void *buf, size_t len);
typedef bool CramGet(void *opaque, void *buf, size_t len);

/* Writes every remaining record of @x; returns the object bytes. */
uint64_t cram_export_write(CramExport *x, CramPut *put, void *opaque);

/*
 * Reads @count records with @get and imports each.  On failure @err
 * names the record and @im must be aborted.
 */
bool cram_import_read(CramImport *im, uint64_t count, CramGet *get,
                      void *opaque, GError **err);

#endif /* CRAM_EXPORT_H */
