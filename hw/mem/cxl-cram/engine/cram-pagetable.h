/*
 * cxl-cram engine: sparse per-page metadata
 *
 * A 3-level radix tree: a root array sized to the capacity (one slot per
 * GiB), mid nodes of 512 leaf pointers and leaves of 512 entries (2 MiB of
 * logical space).  Mid nodes and leaves exist only while they hold a
 * non-free entry, so untouched and discarded pages cost no host memory.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef CRAM_PAGETABLE_H
#define CRAM_PAGETABLE_H

#include "cram-engine.h"

#define CRAM_PT_LEAF_BITS   9
#define CRAM_PT_LEAF_SIZE   (1u << CRAM_PT_LEAF_BITS)
#define CRAM_PT_MID_BITS    9
#define CRAM_PT_MID_SIZE    (1u << CRAM_PT_MID_BITS)
#define CRAM_PT_ROOT_SHIFT  (CRAM_PT_LEAF_BITS + CRAM_PT_MID_BITS)

/*
 * Entry meta word: class in bits 0..2, object size in bytes (0..4096) in
 * bits 3..15, flags in bits 16..31.  An entry is free when meta is 0,
 * i.e. EMPTY with no flags.
 */
#define CRAM_META_CLASS_MASK    0x7u
#define CRAM_META_SIZE_SHIFT    3
#define CRAM_META_SIZE_MASK     0x1fffu
#define CRAM_META_FLAGS_SHIFT   16

G_STATIC_ASSERT(CRAM_PAGE_SIZE <= CRAM_META_SIZE_MASK);

/* Flags */
#define CRAM_META_POISON        0x1u    /* content lost: reads take poison */

/* 12 bytes per page: @val is the SAME fill word or the media handle. */
typedef struct CramPtLeaf {
    uint64_t val[CRAM_PT_LEAF_SIZE];
    uint32_t meta[CRAM_PT_LEAF_SIZE];
    uint32_t used;                      /* entries with meta != 0 */
} CramPtLeaf;

typedef struct CramPtMid {
    CramPtLeaf *leaf[CRAM_PT_MID_SIZE];
    uint32_t used;                      /* non-NULL leaves */
} CramPtMid;

typedef struct CramPageTable {
    CramPtMid **root;
    uint64_t nroot;
    uint64_t npages;
    uint64_t held;                      /* entries with meta != 0 */
    uint64_t bytes;                     /* host memory of root and nodes */
} CramPageTable;

static inline uint32_t cram_meta_make(CramPageClass cls, uint32_t size,
                                      uint32_t flags)
{
    return (uint32_t)cls | (size << CRAM_META_SIZE_SHIFT) |
           (flags << CRAM_META_FLAGS_SHIFT);
}

static inline CramPageClass cram_meta_class(uint32_t meta)
{
    return (CramPageClass)(meta & CRAM_META_CLASS_MASK);
}

static inline uint32_t cram_meta_size(uint32_t meta)
{
    return (meta >> CRAM_META_SIZE_SHIFT) & CRAM_META_SIZE_MASK;
}

static inline uint32_t cram_meta_flags(uint32_t meta)
{
    return meta >> CRAM_META_FLAGS_SHIFT;
}

void cram_pt_init(CramPageTable *pt, uint64_t npages);
void cram_pt_destroy(CramPageTable *pt);

/* Frees every node: all entries become free. */
void cram_pt_clear_all(CramPageTable *pt);

/* Returns the meta word of @idx (0 if free) and its value in @val. */
static inline uint32_t cram_pt_get(const CramPageTable *pt, uint64_t idx,
                                   uint64_t *val)
{
    const CramPtMid *mid = pt->root[idx >> CRAM_PT_ROOT_SHIFT];
    const CramPtLeaf *leaf;
    unsigned slot = idx & (CRAM_PT_LEAF_SIZE - 1);

    if (!mid) {
        goto free_entry;
    }
    leaf = mid->leaf[(idx >> CRAM_PT_LEAF_BITS) & (CRAM_PT_MID_SIZE - 1)];
    if (!leaf) {
        goto free_entry;
    }
    *val = leaf->val[slot];
    return leaf->meta[slot];

free_entry:
    *val = 0;
    return 0;
}

/* Sets an entry; @meta 0 frees it and releases nodes that become unused. */
void cram_pt_set(CramPageTable *pt, uint64_t idx, uint32_t meta,
                 uint64_t val);

#endif /* CRAM_PAGETABLE_H */
