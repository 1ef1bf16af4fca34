/*
 * cxl-cram engine: sparse per-page metadata
 *
 * Costs host memory only for pages that hold something, at most about
 * 16 bytes each whatever the pattern (docs/design.md, "Sparse page
 * metadata"):
 *
 * - Pages are grouped in regions of 64.  A region's entries live in an
 *   open-addressing table (linear probing, kept sorted) of 12-byte slots:
 *   a 32-bit key (region and slot) and a 64-bit word that packs the 16-bit
 *   meta word with a value of CRAM_PT_VALUE_BITS; a SAME entry's value
 *   (its fill word) takes all 64 bits, a tag bit of its key naming the
 *   class.  The table is held 92-95% full and grows in steps of a few
 *   percent, which is cheap because it stays sorted.
 * - A region with 48 or more entries moves to a dense leaf (10 bytes a
 *   page, indexed directly) behind a single record slot in the table; it
 *   moves back when it falls under 42.
 * - The table is cut into shards of at most 8192 slots by the top bits of
 *   the region's hash (extendible hashing), so no resize copies much.
 *
 * All entries of one region share a hash, so they sit side by side: a
 * lookup is one probe run, and counting a region is a scan of that run.
 * Entries never stay at one address: callers get copies (cram_pt_get),
 * never pointers.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef CRAM_PAGETABLE_H
#define CRAM_PAGETABLE_H

#include "cram-types.h"

/*
 * Entry meta word: class in bits 0..2, object size in bytes (0..4096, or
 * a wrapped object's, below) in bits 3..15, flags in bits 16..31.  An
 * entry is free when meta is 0, i.e. EMPTY with no flags.
 */
#define CRAM_META_CLASS_MASK    0x7u
#define CRAM_META_SIZE_SHIFT    3
#define CRAM_META_SIZE_MASK     0x1fffu
#define CRAM_META_FLAGS_SHIFT   16

G_STATIC_ASSERT(CRAM_PAGE_SIZE < CRAM_META_SIZE_MASK);

/*
 * Flags.  The table stores meta in 16 bits, so the only flag it keeps is
 * POISON, and only on an entry of size 0 (the engine's poisoned pages).
 */
#define CRAM_META_POISON        0x1u    /* content lost: reads take poison */

/*
 * Values: a SAME entry's is any 64-bit word (the repeated word); any other
 * entry's is at most CRAM_PT_VALUE_MAX (the engine's media handles are,
 * see cram-alloc.h).
 */
#define CRAM_PT_VALUE_BITS      48
#define CRAM_PT_VALUE_MAX       ((1ULL << CRAM_PT_VALUE_BITS) - 1)

#define CRAM_PT_REGION_BITS     6
#define CRAM_PT_REGION_PAGES    (1u << CRAM_PT_REGION_BITS)
#define CRAM_PT_PROMOTE         48      /* sparse entries -> dense leaf */
#define CRAM_PT_DEMOTE          42      /* dense leaf below this -> sparse */
#define CRAM_PT_SHARD_MAX       8192    /* slots; a fuller shard splits */

typedef struct CramPtShard CramPtShard;
typedef struct CramPtPoisonBox CramPtPoisonBox;

typedef struct CramPageTable {
    CramPtShard **dir;                  /* 2^depth shards, or NULL */
    uint32_t depth;
    uint64_t npages;
    uint64_t held;                      /* entries with meta != 0 */
    uint64_t bytes;                     /* host memory, malloc overhead in */
    uint64_t dense;                     /* dense leaves */
    uint64_t shards;
    uint64_t gen;                       /* bumped by every set and clear */
    /*
     * The regions that hold a poisoned entry, in region order: 64 boxes
     * of 2^16 regions, each a sorted array of 16-bit region numbers, or
     * a bitmap when more than 4096 of its regions are in (NULL when no
     * page is poisoned).  The entries stay the truth; this only orders
     * them.
     */
    CramPtPoisonBox *pbox;
    uint64_t poison_regions;
} CramPageTable;

static inline uint32_t cram_meta_make(CramPageKind kind, uint32_t size,
                                      uint32_t flags)
{
    return (uint32_t)kind | (size << CRAM_META_SIZE_SHIFT) |
           (flags << CRAM_META_FLAGS_SHIFT);
}

static inline CramPageKind cram_meta_kind(uint32_t meta)
{
    return (CramPageKind)(meta & CRAM_META_CLASS_MASK);
}

static inline uint32_t cram_meta_flags(uint32_t meta)
{
    return meta >> CRAM_META_FLAGS_SHIFT;
}

/*
 * A size field above CRAM_PAGE_SIZE names a wrapped object (cram-wrap.h:
 * a header with its codec and length, then padding) of
 * (field - CRAM_PAGE_SIZE) * CRAM_META_WRAP_UNIT bytes.
 */
#define CRAM_META_WRAP_UNIT     16

static inline uint32_t cram_meta_make_wrapped(CramPageKind kind,
                                              uint32_t size)
{
    return cram_meta_make(kind, CRAM_PAGE_SIZE + size / CRAM_META_WRAP_UNIT,
                          0);
}

static inline uint32_t cram_meta_size_field(uint32_t meta)
{
    return (meta >> CRAM_META_SIZE_SHIFT) & CRAM_META_SIZE_MASK;
}

static inline bool cram_meta_wrapped(uint32_t meta)
{
    return !cram_meta_flags(meta) && cram_meta_size_field(meta) >
           CRAM_PAGE_SIZE;
}

/* The object's bytes on media, wrapped or not */
static inline uint32_t cram_meta_size(uint32_t meta)
{
    uint32_t f = cram_meta_size_field(meta);

    return cram_meta_wrapped(meta) ?
           (f - CRAM_PAGE_SIZE) * CRAM_META_WRAP_UNIT : f;
}

/* @npages is at most CRAM_MAX_CAPACITY / CRAM_PAGE_SIZE. */
void cram_pt_init(CramPageTable *pt, uint64_t npages);
void cram_pt_destroy(CramPageTable *pt);

/* Frees every node: all entries become free. */
void cram_pt_clear_all(CramPageTable *pt);

/* Returns the meta word of @idx (0 if free) and its value in @val. */
uint32_t cram_pt_get(const CramPageTable *pt, uint64_t idx, uint64_t *val);

/*
 * Sets an entry; @meta 0 frees it and releases memory it no longer needs.
 * @val is at most CRAM_PT_VALUE_MAX unless @meta is a plain SAME entry
 * (class SAME, size 0, no flags).
 */
void cram_pt_set(CramPageTable *pt, uint64_t idx, uint32_t meta,
                 uint64_t val);

/*
 * Calls @fn for every held entry, in no particular order.  @fn may change
 * *@val (a media handle that moved, within the bound above); it must not
 * set or free entries.
 */
typedef void CramPtFn(void *opaque, uint64_t idx, uint32_t meta,
                      uint64_t *val);
void cram_pt_foreach(CramPageTable *pt, CramPtFn *fn, void *opaque);

/*
 * Held entries of a set of page ranges, in no particular order, at a cost
 * that follows what the table holds rather than the ranges' size: the
 * regions of the ranges are looked up one by one when they are fewer
 * than the table's slots, else the whole table is walked once and
 * entries outside the ranges are passed over.
 *
 * @r: @nr ranges [first, end), sorted, disjoint, not empty, within the
 * table; they must stay in place until the iteration ends.  The caller
 * may set and free entries between two calls of cram_pt_iter_next(): an
 * entry held throughout is still visited exactly once, an entry added
 * meanwhile may or may not be.
 */
typedef struct CramPtRange {
    uint64_t first, end;
} CramPtRange;

typedef struct CramPtIter {
    const CramPtRange *r;
    unsigned nr;
    unsigned ri;            /* lookups: the range under way */
    bool walk;
    bool done;
    uint64_t next;          /* lookups: next page; walk: next key */
    uint64_t gen;           /* walk: the table's gen for the position */
    const CramPtShard *s;   /* walk: position, valid while gen holds */
    uint32_t j, m;          /* walk: slot, and page within a leaf */
    uint32_t hash;          /* walk: region of slot j, its pages in */
    uint64_t base, mask;    /* the ranges (bit per page) */
} CramPtIter;

void cram_pt_iter_init(const CramPageTable *pt, CramPtIter *it,
                       const CramPtRange *r, unsigned nr);
/* The next held entry, its meta word and value; false at the end. */
bool cram_pt_iter_next(const CramPageTable *pt, CramPtIter *it,
                       uint64_t *idx, uint32_t *meta, uint64_t *val);

/*
 * The first run of poisoned entries with the same value (the engine
 * keeps a poisoned page's source there) that lies in [from, end), cut to
 * it: [*first, *first + *n).  False when [from, end) holds no poisoned
 * entry.  It costs a few lookups per region of the run, found through
 * the ordered set of poisoned regions: a query costs what it returns,
 * not what lies between.
 */
bool cram_pt_poison_run(const CramPageTable *pt, uint64_t from, uint64_t end,
                        uint64_t *first, uint64_t *n, uint64_t *val);

#ifdef CRAM_ENGINE_TESTS
/* Checks the table's invariants (tests); aborts on a violation. */
void cram_pt_check(const CramPageTable *pt);
#endif

#endif /* CRAM_PAGETABLE_H */
