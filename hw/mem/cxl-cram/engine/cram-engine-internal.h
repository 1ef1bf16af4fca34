/*
 * cxl-cram engine: interface between the engine and its page cache
 *
 * The cache's worker thread encodes pages with its own scratch, outside
 * the engine lock, then commits them under the lock.  The export and
 * import of the store (cram-engine-export.c) work on the engine's
 * page table and allocator directly.
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
    uint64_t pages[CRAM_CLASS__MAX];
    uint64_t stored_bytes;
    uint64_t stores;
    uint64_t loads;
    uint64_t failed_stores;
    uint64_t discards;
    uint64_t poisoned;
    uint64_t reserved;          /* media pages promised to cached pages */
    uint64_t last_load;         /* page of the last load: readahead */
    int level;
};

static inline bool class_has_media(CramPageClass cls)
{
    return cls == CRAM_CLASS_COMPRESSED || cls == CRAM_CLASS_RAW;
}

/* Page counts and stored bytes by class, for an entry's meta word. */
void cram_engine_account_add(CramEngine *e, uint32_t meta);
void cram_engine_account_sub(CramEngine *e, uint32_t meta);

/* A scratch for another thread, with the engine's codec and level. */
CramScratch *cram_engine_scratch_new(CramEngine *e);

void cram_engine_store_reserved(CramEngine *e, uint64_t page_index,
                                const void *src, const CramEncoded *enc);

#endif /* CRAM_ENGINE_INTERNAL_H */
