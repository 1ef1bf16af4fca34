/*
 * cxl-cram engine: the engine's own state, for cram-engine.c and the
 * export and import of the store (cram-engine-export.c), which work on
 * the page table and allocator directly
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef CRAM_ENGINE_INTERNAL_H
#define CRAM_ENGINE_INTERNAL_H

#include "cram-engine.h"
#include "cram-encode.h"
#include "cram-alloc.h"
#include "cram-pagetable.h"

struct CramEngine {
    uint64_t capacity;
    uint64_t media_size;
    uint64_t npages;
    CramPageTable pt;
    CramAlloc *alloc;
    CramScratch *scratch;       /* the caller's thread's working state */
    uint64_t pages[CRAM_KIND__MAX];
    uint64_t stored_bytes;
    uint64_t stores;
    uint64_t loads;
    uint64_t failed_stores;
    uint64_t discards;
    uint64_t poisoned;
    uint64_t reserved;          /* media pages promised to cached pages */
    uint64_t taken;             /* media pages the host took away */
    uint64_t as_from, as_end;   /* cram_engine_store_as()'s pages */
    uint32_t as_size;           /* and the floor of their objects */
    CramCodecId base;           /* the codec of plain (unwrapped) objects */
    CramScratch *dec[CRAM_CODEC__MAX]; /* decoders of other codecs */
    uint8_t *wrapbuf;           /* a wrapped object being stored */
    uint64_t codec_gen;         /* bumped by cram_engine_set_codec() */
    uint64_t last_load;         /* page of the last load: readahead */
    int level;
};

static inline bool kind_has_media(CramPageKind kind)
{
    return kind == CRAM_KIND_COMPRESSED || kind == CRAM_KIND_RAW;
}

/* Page counts and stored bytes by kind, for an entry's meta word. */
void cram_engine_account_add(CramEngine *e, uint32_t meta);
void cram_engine_account_sub(CramEngine *e, uint32_t meta);

/*
 * cram-engine-form.c: the object a page's @enc is stored as in page
 * @page_index, @enc itself or one built in @as; and the decompression of
 * a COMPRESSED object with entry @meta into @dst (0, or -EIO).
 */
const CramEncoded *cram_engine_store_form(CramEngine *e, uint64_t page_index,
                                          const void *src,
                                          const CramEncoded *enc,
                                          CramEncoded *as);
int cram_engine_decode(CramEngine *e, uint32_t meta, const void *obj,
                       void *dst);

#endif /* CRAM_ENGINE_INTERNAL_H */
