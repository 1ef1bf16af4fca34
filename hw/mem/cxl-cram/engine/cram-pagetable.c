/*
 * cxl-cram engine: sparse per-page metadata
 *
 * Shards are sorted open-addressing tables: every entry sits at or after
 * its home slot with no empty slot in between (linear probing), and
 * entries are ordered by (local hash, key).  Being sorted, a shard is
 * resized or split by one merge pass, without probing, so it can grow in
 * small steps and stay nearly full.  There is no wrap-around: a few slots
 * past the last home absorb the overflow, and a shard that overflows
 * anyway grows.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <string.h>
#include "cram-heap.h"
#include "cram-pagetable.h"

/*
 * Key: hash << 8 | 128 | slot << 1 | same for an entry, hash << 8 for a
 * record, where hash is a 22-bit bijection of the region number and
 * @same (KEY_SAME) marks a SAME entry.  Shards are sorted by key, so a
 * lookup only compares keys; the tag bit is below everything that orders
 * them, and a lookup ignores it.
 *
 * An entry's 64-bit word is its packed meta << 48 | value, or, with
 * KEY_SAME, the SAME page's whole fill word.  A record's word is its leaf.
 */
#define HASH_BITS           22
#define HASH_MASK           ((1u << HASH_BITS) - 1)
#define KEY_SAME            1u
#define KEY_SLOT_SHIFT      1
#define KEY_ENTRY           (CRAM_PT_REGION_PAGES << KEY_SLOT_SHIFT)
#define KEY_REGION_SHIFT    (CRAM_PT_REGION_BITS + KEY_SLOT_SHIFT + 1)
#define KEY_EMPTY           UINT32_MAX
#define SLOT_MASK           (CRAM_PT_REGION_PAGES - 1)
#define SLOT_BYTES          (sizeof(uint64_t) + sizeof(uint32_t))
#define WORD_META_SHIFT     CRAM_PT_VALUE_BITS
/* A packed meta word with this size field is a poisoned, sizeless entry. */
#define META_POISONED       (CRAM_META_SIZE_MASK << CRAM_META_SIZE_SHIFT)
/* A shard this full splits rather than grows. */
#define SPLIT_AT            (CRAM_PT_SHARD_MAX / 8 * 7)

G_STATIC_ASSERT(CRAM_MAX_CAPACITY / CRAM_PAGE_SIZE >> CRAM_PT_REGION_BITS
                <= HASH_MASK + 1);
/* Real keys stay below KEY_EMPTY; the packed meta fits above a value. */
G_STATIC_ASSERT(HASH_BITS + KEY_REGION_SHIFT < 32);
G_STATIC_ASSERT(CRAM_PT_VALUE_BITS + 16 == 64);

struct CramPtShard {
    uint32_t depth;         /* top hash bits shared by its regions */
    uint32_t prefix;        /* their value */
    uint32_t n;             /* slots in use */
    uint32_t nslots;
    uint32_t nhome;         /* homes are in [0, nhome) */
    uint64_t *word;         /* one allocation: word, key */
    uint32_t *key;
};

typedef struct CramPtLeaf {
    uint64_t val[CRAM_PT_REGION_PAGES];
    uint16_t meta[CRAM_PT_REGION_PAGES];
    uint32_t used;
} CramPtLeaf;

enum { FOUND_NONE, FOUND_ENTRY, FOUND_LEAF };

/*
 * The ordered set of regions that hold poison (CramPageTable.pbox): box
 * b holds regions b << PBOX_SHIFT and up, as a sorted array of their low
 * 16 bits, or as a bitmap above PBOX_DENSE of them (8 KiB, what the
 * array would take), back to an array under PBOX_SPARSE.
 */
#define PBOX_SHIFT          16
#define PBOX_NUM            (1u << (HASH_BITS - PBOX_SHIFT))
#define PBOX_WORDS          ((1u << PBOX_SHIFT) / 64)
#define PBOX_DENSE          4096
#define PBOX_SPARSE         2048
#define PSET_NONE           UINT64_MAX

struct CramPtPoisonBox {
    uint32_t n, cap;
    uint16_t *arr;
    uint64_t *bits;
};

/* A region's slots: its leaf, or its entries [a, b) in shard s. */
typedef struct RegionPos {
    const CramPtShard *s;
    const CramPtLeaf *leaf;
    uint32_t a, b;
} RegionPos;

typedef struct PtPos {
    CramPtShard *s;
    uint32_t pos;           /* the slot found, or where the entry goes */
    int found;
} PtPos;

#define MIX1    0x9e3779b1u
#define MIX2    0x85ebca6bu

/* Odd multiplications and xor-shifts modulo 2^22: a bijection. */
static inline uint32_t region_hash(uint32_t region)
{
    uint32_t h = (region * MIX1) & HASH_MASK;

    h ^= h >> 11;
    h = (h * MIX2) & HASH_MASK;
    return h ^ (h >> 11);
}

/* The inverse of an odd number modulo 2^32 (Newton's iteration). */
static uint32_t inverse(uint32_t a)
{
    uint32_t x = a;
    int i;

    for (i = 0; i < 5; i++) {
        x *= 2 - a * x;
    }
    return x;
}

static uint32_t key_region(uint32_t key)
{
    uint32_t h = key >> KEY_REGION_SHIFT;

    h ^= h >> 11;
    h = (h * inverse(MIX2)) & HASH_MASK;
    h ^= h >> 11;
    return (h * inverse(MIX1)) & HASH_MASK;
}

static inline uint32_t make_key(uint64_t idx, bool entry)
{
    uint32_t key = region_hash(idx >> CRAM_PT_REGION_BITS) << KEY_REGION_SHIFT;

    return entry ? key | KEY_ENTRY | (idx & SLOT_MASK) << KEY_SLOT_SHIFT : key;
}

static inline uint32_t key_slot(uint32_t key)
{
    return (key >> KEY_SLOT_SHIFT) & SLOT_MASK;
}

/* The hash bits below the shard's prefix, at the top of 32. */
static inline uint32_t key_hl(const CramPtShard *s, uint32_t key)
{
    return (uint64_t)(key >> KEY_REGION_SHIFT) << (32 - HASH_BITS + s->depth);
}

static inline uint32_t home_of(const CramPtShard *s, uint32_t hl)
{
    return ((uint64_t)hl * s->nhome) >> 32;
}

static inline uint16_t meta_pack(uint32_t meta)
{
    uint32_t flags = cram_meta_flags(meta);

    g_assert(cram_meta_size(meta) < CRAM_META_SIZE_MASK);
    if (flags) {
        g_assert(flags == CRAM_META_POISON && !cram_meta_size(meta));
        return cram_meta_kind(meta) | META_POISONED;
    }
    return meta;
}

static inline uint32_t meta_unpack(uint16_t m)
{
    if ((m & META_POISONED) == META_POISONED) {
        return cram_meta_make(cram_meta_kind(m), 0, CRAM_META_POISON);
    }
    return m;
}

static inline bool packed_poisoned(uint16_t m)
{
    return (m & META_POISONED) == META_POISONED;
}

/* An entry's word, and whether its key takes KEY_SAME. */
static inline uint64_t word_pack(uint16_t m, uint64_t val, uint32_t *tag)
{
    if (m == CRAM_KIND_SAME) {
        *tag = KEY_SAME;
        return val;
    }
    g_assert(val <= CRAM_PT_VALUE_MAX);
    *tag = 0;
    return (uint64_t)m << WORD_META_SHIFT | val;
}

static inline uint16_t word_meta(uint32_t key, uint64_t word)
{
    return key & KEY_SAME ? CRAM_KIND_SAME : word >> WORD_META_SHIFT;
}

static inline uint64_t word_val(uint32_t key, uint64_t word)
{
    return key & KEY_SAME ? word : word & CRAM_PT_VALUE_MAX;
}

/*
 * The first slot from @i (a home at or before @key's) whose key is >=
 * @key, empty ones included.  That is monotonic over the slots: an entry
 * below @key never lies past an empty slot or a larger key.  Most are
 * found in the first cache line; long runs are searched by doubling.
 */
static inline uint32_t seek(const CramPtShard *s, uint32_t i, uint32_t key)
{
    uint32_t end = MIN(i + 16, s->nslots), lo, hi, step;

    for (; i < end; i++) {
        if (s->key[i] >= key) {
            return i;
        }
    }
    if (i == s->nslots) {
        return i;
    }
    lo = i - 1;
    for (step = 16; ; step *= 2) {
        hi = lo + step;
        if (hi >= s->nslots) {
            hi = s->nslots;
            break;
        }
        if (s->key[hi] >= key) {
            break;
        }
        lo = hi;
    }
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;

        if (s->key[mid] >= key) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    return hi;
}

static void pt_find(const CramPageTable *pt, uint64_t idx, PtPos *p)
{
    uint32_t rec = make_key(idx, false);
    uint32_t ent = make_key(idx, true);
    CramPtShard *s;
    uint32_t i, home;

    p->found = FOUND_NONE;
    p->pos = 0;
    p->s = s = pt->dir ?
        pt->dir[rec >> KEY_REGION_SHIFT >> (HASH_BITS - pt->depth)] : NULL;
    if (!s) {
        return;
    }
    home = home_of(s, key_hl(s, rec));
    if (home < s->nslots) {
        /* The two arrays miss the cache together, not one by one. */
        __builtin_prefetch(&s->word[home]);
    }
    /* A region's record sorts just before its entries. */
    i = seek(s, home, rec);
    if (i < s->nslots && s->key[i] == rec) {
        p->found = FOUND_LEAF;
    } else {
        i = seek(s, i, ent);
        if (i < s->nslots && (s->key[i] & ~KEY_SAME) == ent) {
            p->found = FOUND_ENTRY;
        }
    }
    p->pos = i;
}

uint32_t cram_pt_get(const CramPageTable *pt, uint64_t idx, uint64_t *val)
{
    const CramPtLeaf *leaf;
    PtPos p;

    pt_find(pt, idx, &p);
    switch (p.found) {
    case FOUND_ENTRY:
        *val = word_val(p.s->key[p.pos], p.s->word[p.pos]);
        return meta_unpack(word_meta(p.s->key[p.pos], p.s->word[p.pos]));
    case FOUND_LEAF:
        leaf = (const CramPtLeaf *)(uintptr_t)p.s->word[p.pos];
        __builtin_prefetch(&leaf->meta[idx & SLOT_MASK]);
        *val = leaf->val[idx & SLOT_MASK];
        return meta_unpack(leaf->meta[idx & SLOT_MASK]);
    default:
        *val = 0;
        return 0;
    }
}

/* About 92% full, so it can take 3% more before it must grow. */
static uint32_t slots_for(uint32_t n)
{
    return n + n / 12 + 4;
}

static bool shard_full(const CramPtShard *s, uint32_t n)
{
    return (uint64_t)n * 20 > (uint64_t)s->nslots * 19;
}

/* Slots past the last home take the overflow of the last runs. */
static uint32_t nhome_for(uint32_t nslots)
{
    return nslots - nslots / 64 - 1;
}

static void shard_alloc(CramPageTable *pt, CramPtShard *s, uint32_t nhome,
                        uint32_t nslots)
{
    size_t size = (size_t)nslots * SLOT_BYTES;

    s->nslots = nslots;
    s->nhome = nhome;
    s->n = 0;
    s->word = g_malloc(size);
    s->key = (uint32_t *)(s->word + nslots);
    memset(s->key, 0xff, (size_t)nslots * sizeof(uint32_t));
    pt->bytes += cram_heap_cost(size);
}

static void shard_free_arrays(CramPageTable *pt, CramPtShard *s)
{
    if (s->nslots) {
        pt->bytes -= cram_heap_cost((size_t)s->nslots * SLOT_BYTES);
        g_free(s->word);
    }
    s->word = NULL;
    s->key = NULL;
    s->nslots = s->nhome = 0;
}

static void slot_copy(CramPtShard *d, uint32_t to, const CramPtShard *s,
                      uint32_t from)
{
    d->key[to] = s->key[from];
    d->word[to] = s->word[from];
}

/*
 * Appends slots [from, to) of @src, in order, to @dst: each at its home
 * or just after the previous one.  False if @dst is too small.
 */
static bool shard_fill(CramPtShard *dst, const CramPtShard *src,
                       uint32_t from, uint32_t to)
{
    uint32_t w = 0, j;

    for (j = from; j < to; j++) {
        uint32_t t;

        if (src->key[j] == KEY_EMPTY) {
            continue;
        }
        t = MAX(home_of(dst, key_hl(dst, src->key[j])), w);
        if (t >= dst->nslots) {
            return false;
        }
        slot_copy(dst, t, src, j);
        dst->n++;
        w = t + 1;
    }
    return true;
}

/* Slots needed to hold src's slots [from, to) with @nhome homes. */
static uint32_t fill_end(const CramPtShard *src, uint32_t from, uint32_t to,
                         uint32_t depth, uint32_t nhome)
{
    CramPtShard d = { .depth = depth, .nhome = nhome };
    uint32_t w = 0, j;

    for (j = from; j < to; j++) {
        if (src->key[j] != KEY_EMPTY) {
            w = MAX(home_of(&d, key_hl(&d, src->key[j])), w) + 1;
        }
    }
    return w;
}

/* Builds @dst with @nslots (0: none) from src's slots [from, to). */
static void shard_build(CramPageTable *pt, CramPtShard *dst,
                        const CramPtShard *src, uint32_t from, uint32_t to,
                        uint32_t nslots)
{
    uint32_t nhome = nhome_for(nslots), lo = 1, hi, mid;

    if (!nslots) {
        return;
    }
    /*
     * A region's entries share a home, so with few regions the last runs
     * can spill far past the end.  Rather than add slots, pack the homes
     * closer: the largest home range that fits (1 always does).
     */
    if (fill_end(src, from, to, dst->depth, nhome) > nslots) {
        hi = nhome;
        while (hi - lo > 1) {
            mid = lo + (hi - lo) / 2;
            if (fill_end(src, from, to, dst->depth, mid) > nslots) {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        nhome = lo;
    }
    shard_alloc(pt, dst, nhome, nslots);
    if (!shard_fill(dst, src, from, to)) {
        g_assert_not_reached();
    }
}

/* Rebuilds @s with room for @n entries, its own included. */
static void shard_resize(CramPageTable *pt, CramPtShard *s, uint32_t n)
{
    CramPtShard t = { .depth = s->depth, .prefix = s->prefix };

    shard_build(pt, &t, s, 0, s->nslots, slots_for(MAX(n, s->n)));
    shard_free_arrays(pt, s);
    *s = t;
}

/* More overflow slots, same homes: nothing moves. */
static void shard_extend(CramPageTable *pt, CramPtShard *s)
{
    CramPtShard t = { .depth = s->depth, .prefix = s->prefix };

    shard_alloc(pt, &t, s->nhome, s->nslots + s->nslots / 256 + 2);
    if (!shard_fill(&t, s, 0, s->nslots)) {
        g_assert_not_reached();
    }
    shard_free_arrays(pt, s);
    *s = t;
}

static CramPtShard *shard_new(CramPageTable *pt, uint32_t depth,
                              uint32_t prefix)
{
    CramPtShard *s = g_new0(CramPtShard, 1);

    s->depth = depth;
    s->prefix = prefix;
    pt->bytes += cram_heap_cost(sizeof(*s));
    pt->shards++;
    return s;
}

static void dir_set(CramPageTable *pt, CramPtShard *s)
{
    uint64_t span = 1ull << (pt->depth - s->depth);
    uint64_t i, first = (uint64_t)s->prefix * span;

    for (i = 0; i < span; i++) {
        pt->dir[first + i] = s;
    }
}

/* Extendible hashing: @s's regions go to two shards by their next bit. */
static void shard_split(CramPageTable *pt, CramPtShard *s)
{
    CramPtShard *hi = shard_new(pt, s->depth + 1, s->prefix << 1 | 1);
    CramPtShard lo = { .depth = s->depth + 1, .prefix = s->prefix << 1 };
    uint32_t mid, nlo = 0;

    /* Sorted by local hash: its top bit cuts the shard in two. */
    for (mid = 0; mid < s->nslots; mid++) {
        if (s->key[mid] != KEY_EMPTY) {
            if (key_hl(s, s->key[mid]) >> 31) {
                break;
            }
            nlo++;
        }
    }
    shard_build(pt, &lo, s, 0, mid, nlo ? slots_for(nlo) : 0);
    shard_build(pt, hi, s, mid, s->nslots,
                s->n > nlo ? slots_for(s->n - nlo) : 0);
    shard_free_arrays(pt, s);
    *s = lo;

    if (s->depth > pt->depth) {
        uint64_t i, n = 1ull << pt->depth;
        CramPtShard **dir = g_new(CramPtShard *, 2 * n);

        for (i = 0; i < 2 * n; i++) {
            dir[i] = pt->dir[i >> 1];
        }
        pt->bytes -= cram_heap_cost(n * sizeof(*dir));
        pt->bytes += cram_heap_cost(2 * n * sizeof(*dir));
        g_free(pt->dir);
        pt->dir = dir;
        pt->depth++;
    }
    dir_set(pt, s);
    dir_set(pt, hi);
}

static bool shard_insert_at(CramPtShard *s, uint32_t pos, uint32_t key,
                            uint64_t word)
{
    uint32_t e = pos;

    while (e < s->nslots && s->key[e] != KEY_EMPTY) {
        e++;
    }
    if (e == s->nslots) {
        return false;
    }
    memmove(&s->key[pos + 1], &s->key[pos], (e - pos) * sizeof(*s->key));
    memmove(&s->word[pos + 1], &s->word[pos], (e - pos) * sizeof(*s->word));
    s->key[pos] = key;
    s->word[pos] = word;
    s->n++;
    return true;
}

/*
 * Empties slots [pos, pos + cnt), then pulls the entries after them back
 * towards their homes, as far as they go.
 */
static void shard_remove(CramPtShard *s, uint32_t pos, uint32_t cnt)
{
    uint32_t w = pos, j;

    for (j = pos + cnt; j < s->nslots && s->key[j] != KEY_EMPTY; j++) {
        uint32_t t = MAX(home_of(s, key_hl(s, s->key[j])), w);

        if (t == j) {
            break;
        }
        for (; w < t; w++) {
            s->key[w] = KEY_EMPTY;
        }
        slot_copy(s, t, s, j);
        w = t + 1;
    }
    for (; w < j; w++) {
        s->key[w] = KEY_EMPTY;
    }
    s->n -= cnt;
}

static void maybe_shrink(CramPageTable *pt, CramPtShard *s)
{
    uint32_t want = slots_for(s->n);

    if (!s->n) {
        shard_free_arrays(pt, s);
    } else if (s->nslots > want + want / 16 + 4) {
        shard_resize(pt, s, s->n);
    }
}

/* Moves a region to a dense leaf once it has enough entries. */
static void maybe_promote(CramPageTable *pt, CramPtShard *s, uint32_t pos)
{
    uint32_t hash = s->key[pos] >> KEY_REGION_SHIFT;
    uint32_t a = pos, b = pos + 1, i;
    CramPtLeaf *leaf;

    while (a > 0 && s->key[a - 1] >> KEY_REGION_SHIFT == hash) {
        a--;
    }
    while (b < s->nslots && s->key[b] >> KEY_REGION_SHIFT == hash) {
        b++;
    }
    if (b - a < CRAM_PT_PROMOTE) {
        return;
    }
    leaf = g_new0(CramPtLeaf, 1);
    pt->bytes += cram_heap_cost(sizeof(*leaf));
    pt->dense++;
    for (i = a; i < b; i++) {
        leaf->val[key_slot(s->key[i])] = word_val(s->key[i], s->word[i]);
        leaf->meta[key_slot(s->key[i])] = word_meta(s->key[i], s->word[i]);
    }
    leaf->used = b - a;
    /* The record takes the first entry's slot: same hash, same home. */
    s->key[a] = hash << KEY_REGION_SHIFT;
    s->word[a] = (uintptr_t)leaf;
    shard_remove(s, a + 1, b - a - 1);
    maybe_shrink(pt, s);
}

static void sparse_insert(CramPageTable *pt, uint64_t idx, uint16_t meta,
                          uint64_t val)
{
    uint32_t tag, key = make_key(idx, true);
    uint64_t word = word_pack(meta, val, &tag);
    PtPos p;

    for (;;) {
        pt_find(pt, idx, &p);
        g_assert(p.found == FOUND_NONE);
        if (!p.s) {
            pt->dir = g_new(CramPtShard *, 1);
            pt->bytes += cram_heap_cost(sizeof(*pt->dir));
            pt->depth = 0;
            pt->dir[0] = shard_new(pt, 0, 0);
            continue;
        }
        if (shard_full(p.s, p.s->n + 1)) {
            if (p.s->n >= SPLIT_AT) {
                shard_split(pt, p.s);
            } else {
                shard_resize(pt, p.s, p.s->n + 1);
            }
            continue;
        }
        if (shard_insert_at(p.s, p.pos, key | tag, word)) {
            break;
        }
        shard_extend(pt, p.s);
    }
    maybe_promote(pt, p.s, p.pos);
}

static void demote(CramPageTable *pt, PtPos *p, uint64_t idx)
{
    CramPtLeaf *leaf = (CramPtLeaf *)(uintptr_t)p->s->word[p->pos];
    uint64_t base = idx & ~(uint64_t)SLOT_MASK;
    CramPtLeaf copy = *leaf;
    unsigned i;

    g_free(leaf);
    pt->bytes -= cram_heap_cost(sizeof(*leaf));
    pt->dense--;
    shard_remove(p->s, p->pos, 1);
    for (i = 0; i < CRAM_PT_REGION_PAGES; i++) {
        if (copy.meta[i]) {
            sparse_insert(pt, base + i, copy.meta[i], copy.val[i]);
        }
    }
}

/* The held entries of @region: its leaf, or the run of its entries. */
static bool region_find(const CramPageTable *pt, uint64_t region,
                        RegionPos *rp)
{
    uint32_t hash;
    PtPos p;

    pt_find(pt, region << CRAM_PT_REGION_BITS, &p);
    rp->s = p.s;
    rp->leaf = NULL;
    rp->a = rp->b = p.pos;
    if (!p.s) {
        return false;
    }
    if (p.found == FOUND_LEAF) {
        rp->leaf = (const CramPtLeaf *)(uintptr_t)p.s->word[p.pos];
        return true;
    }
    /* The entries of the region's slot 0 and up start where it would. */
    hash = region_hash(region);
    while (rp->b < p.s->nslots &&
           p.s->key[rp->b] >> KEY_REGION_SHIFT == hash) {
        rp->b++;
    }
    return rp->b > rp->a;
}

/*
 * The first held entry of the region at page @from or after: its page
 * within the region, packed meta and value.  False if there is none.
 */
static bool region_next(const RegionPos *rp, unsigned from, unsigned *m,
                        uint16_t *meta, uint64_t *val)
{
    uint32_t i;

    if (rp->leaf) {
        for (i = from; i < CRAM_PT_REGION_PAGES; i++) {
            if (rp->leaf->meta[i]) {
                *m = i;
                *meta = rp->leaf->meta[i];
                *val = rp->leaf->val[i];
                return true;
            }
        }
        return false;
    }
    for (i = rp->a; i < rp->b; i++) {
        uint32_t key = rp->s->key[i];

        if (key_slot(key) >= from) {
            *m = key_slot(key);
            *meta = word_meta(key, rp->s->word[i]);
            *val = word_val(key, rp->s->word[i]);
            return true;
        }
    }
    return false;
}

/* The poisoned pages of @region (a bit each), their values in @vals. */
static uint64_t region_poison(const CramPageTable *pt, uint64_t region,
                              uint64_t *vals)
{
    uint64_t mask = 0, val;
    unsigned m = 0;
    uint16_t meta;
    RegionPos rp;

    if (!region_find(pt, region, &rp)) {
        return 0;
    }
    while (region_next(&rp, m, &m, &meta, &val)) {
        if (packed_poisoned(meta)) {
            mask |= 1ull << m;
            vals[m] = val;
        }
        m++;
    }
    return mask;
}

static uint32_t lower_bound16(const uint16_t *a, uint32_t n, uint32_t v)
{
    uint32_t lo = 0, hi = n;

    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;

        if (a[mid] < v) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

static bool pset_has(const CramPageTable *pt, uint64_t region)
{
    const CramPtPoisonBox *b;
    uint32_t lo = region & ((1u << PBOX_SHIFT) - 1), pos;

    if (!pt->pbox) {
        return false;
    }
    b = &pt->pbox[region >> PBOX_SHIFT];
    if (b->bits) {
        return b->bits[lo / 64] >> (lo % 64) & 1;
    }
    pos = lower_bound16(b->arr, b->n, lo);
    return pos < b->n && b->arr[pos] == lo;
}

static void box_realloc(CramPageTable *pt, CramPtPoisonBox *b, uint32_t cap)
{
    pt->bytes -= cram_heap_cost((size_t)b->cap * sizeof(*b->arr));
    pt->bytes += cram_heap_cost((size_t)cap * sizeof(*b->arr));
    if (cap) {
        b->arr = g_renew(uint16_t, b->arr, cap);
    } else {
        g_free(b->arr);
        b->arr = NULL;
    }
    b->cap = cap;
}

static void box_to_bits(CramPageTable *pt, CramPtPoisonBox *b)
{
    uint32_t i;

    b->bits = g_new0(uint64_t, PBOX_WORDS);
    pt->bytes += cram_heap_cost(PBOX_WORDS * sizeof(uint64_t));
    for (i = 0; i < b->n; i++) {
        b->bits[b->arr[i] / 64] |= 1ull << (b->arr[i] % 64);
    }
    box_realloc(pt, b, 0);
}

static void box_to_arr(CramPageTable *pt, CramPtPoisonBox *b)
{
    uint32_t w, n = 0;

    box_realloc(pt, b, b->n + b->n / 2 + 8);
    for (w = 0; w < PBOX_WORDS; w++) {
        uint64_t x = b->bits[w];

        while (x) {
            b->arr[n++] = w * 64 + __builtin_ctzll(x);
            x &= x - 1;
        }
    }
    g_assert(n == b->n);
    g_free(b->bits);
    b->bits = NULL;
    pt->bytes -= cram_heap_cost(PBOX_WORDS * sizeof(uint64_t));
}

static void pset_add(CramPageTable *pt, uint64_t region)
{
    uint32_t lo = region & ((1u << PBOX_SHIFT) - 1), pos;
    CramPtPoisonBox *b;

    if (!pt->pbox) {
        pt->pbox = g_new0(CramPtPoisonBox, PBOX_NUM);
        pt->bytes += cram_heap_cost(PBOX_NUM * sizeof(CramPtPoisonBox));
    }
    b = &pt->pbox[region >> PBOX_SHIFT];
    pt->poison_regions++;
    if (b->bits) {
        b->bits[lo / 64] |= 1ull << (lo % 64);
        b->n++;
        return;
    }
    pos = lower_bound16(b->arr, b->n, lo);
    g_assert(pos == b->n || b->arr[pos] != lo);
    if (b->n == b->cap) {
        box_realloc(pt, b, b->cap + b->cap / 2 + 8);
    }
    memmove(&b->arr[pos + 1], &b->arr[pos], (b->n - pos) * sizeof(*b->arr));
    b->arr[pos] = lo;
    if (++b->n > PBOX_DENSE) {
        box_to_bits(pt, b);
    }
}

static void pset_del(CramPageTable *pt, uint64_t region)
{
    uint32_t lo = region & ((1u << PBOX_SHIFT) - 1), pos;
    CramPtPoisonBox *b = &pt->pbox[region >> PBOX_SHIFT];

    pt->poison_regions--;
    b->n--;
    if (b->bits) {
        b->bits[lo / 64] &= ~(1ull << (lo % 64));
        if (b->n < PBOX_SPARSE) {
            box_to_arr(pt, b);
        }
    } else {
        pos = lower_bound16(b->arr, b->n + 1, lo);
        g_assert(pos <= b->n && b->arr[pos] == lo);
        memmove(&b->arr[pos], &b->arr[pos + 1], (b->n - pos) * sizeof(*b->arr));
        if (!b->n) {
            box_realloc(pt, b, 0);
        } else if (b->cap > 2 * b->n + 16) {
            box_realloc(pt, b, b->n + b->n / 2 + 8);
        }
    }
    if (!pt->poison_regions) {
        g_free(pt->pbox);
        pt->pbox = NULL;
        pt->bytes -= cram_heap_cost(PBOX_NUM * sizeof(CramPtPoisonBox));
    }
}

static void pset_free(CramPageTable *pt)
{
    uint32_t i;

    if (!pt->pbox) {
        return;
    }
    for (i = 0; i < PBOX_NUM; i++) {
        g_free(pt->pbox[i].arr);
        g_free(pt->pbox[i].bits);
    }
    g_free(pt->pbox);
    pt->pbox = NULL;
    pt->poison_regions = 0;
}

/* The first region at or after @region that holds poison, or PSET_NONE. */
static uint64_t pset_next(const CramPageTable *pt, uint64_t region)
{
    uint64_t bi;

    if (!pt->pbox) {
        return PSET_NONE;
    }
    for (bi = region >> PBOX_SHIFT; bi < PBOX_NUM; bi++) {
        const CramPtPoisonBox *b = &pt->pbox[bi];
        uint32_t lo = bi == region >> PBOX_SHIFT ?
                      region & ((1u << PBOX_SHIFT) - 1) : 0;
        uint32_t w, pos;

        if (!b->n) {
            continue;
        }
        if (!b->bits) {
            pos = lower_bound16(b->arr, b->n, lo);
            if (pos < b->n) {
                return bi << PBOX_SHIFT | b->arr[pos];
            }
            continue;
        }
        for (w = lo / 64; w < PBOX_WORDS; w++) {
            uint64_t x = b->bits[w];

            if (w == lo / 64) {
                x &= ~0ull << (lo % 64);
            }
            if (x) {
                return bi << PBOX_SHIFT | (w * 64 + __builtin_ctzll(x));
            }
        }
    }
    return PSET_NONE;
}

/* A page of @region turned poisoned (@now) or stopped being poisoned. */
static void poison_note(CramPageTable *pt, uint64_t region, bool now)
{
    uint64_t vals[CRAM_PT_REGION_PAGES];

    if (now) {
        if (!pset_has(pt, region)) {
            pset_add(pt, region);
        }
    } else if (pset_has(pt, region) && !region_poison(pt, region, vals)) {
        pset_del(pt, region);
    }
}

/* Sets the packed @m; returns the packed meta it replaced. */
static uint16_t pt_set(CramPageTable *pt, uint64_t idx, uint16_t m,
                       uint64_t val)
{
    CramPtLeaf *leaf;
    uint16_t old;
    PtPos p;

    pt_find(pt, idx, &p);
    switch (p.found) {
    case FOUND_LEAF:
        leaf = (CramPtLeaf *)(uintptr_t)p.s->word[p.pos];
        old = leaf->meta[idx & SLOT_MASK];
        leaf->meta[idx & SLOT_MASK] = m;
        leaf->val[idx & SLOT_MASK] = m ? val : 0;
        if (!old && m) {
            leaf->used++;
            pt->held++;
        } else if (old && !m) {
            pt->held--;
            if (--leaf->used < CRAM_PT_DEMOTE) {
                demote(pt, &p, idx);
            }
        }
        return old;
    case FOUND_ENTRY:
        old = word_meta(p.s->key[p.pos], p.s->word[p.pos]);
        if (m) {
            uint32_t tag;

            p.s->word[p.pos] = word_pack(m, val, &tag);
            p.s->key[p.pos] = (p.s->key[p.pos] & ~KEY_SAME) | tag;
            return old;
        }
        shard_remove(p.s, p.pos, 1);
        /* Give the memory back: all of it when nothing is left. */
        if (!--pt->held) {
            cram_pt_clear_all(pt);
        } else {
            maybe_shrink(pt, p.s);
        }
        return old;
    default:
        if (m) {
            sparse_insert(pt, idx, m, val);
            pt->held++;
        }
        return 0;
    }
}

void cram_pt_set(CramPageTable *pt, uint64_t idx, uint32_t meta,
                 uint64_t val)
{
    uint16_t m = meta_pack(meta), old;

    g_assert(idx < pt->npages);
    g_assert(!m || m == CRAM_KIND_SAME || val <= CRAM_PT_VALUE_MAX);
    pt->gen++;
    old = pt_set(pt, idx, m, val);
    if (packed_poisoned(m) != packed_poisoned(old)) {
        poison_note(pt, idx >> CRAM_PT_REGION_BITS, packed_poisoned(m));
    }
}

void cram_pt_init(CramPageTable *pt, uint64_t npages)
{
    memset(pt, 0, sizeof(*pt));
    g_assert(npages <= CRAM_MAX_CAPACITY / CRAM_PAGE_SIZE);
    pt->npages = npages;
}

void cram_pt_clear_all(CramPageTable *pt)
{
    uint64_t i = 0, n = pt->dir ? 1ull << pt->depth : 0;

    while (i < n) {
        CramPtShard *s = pt->dir[i];
        uint32_t j;

        i += 1ull << (pt->depth - s->depth);
        for (j = 0; j < s->nslots; j++) {
            if (s->key[j] != KEY_EMPTY && !(s->key[j] & KEY_ENTRY)) {
                g_free((void *)(uintptr_t)s->word[j]);
            }
        }
        g_free(s->word);
        g_free(s);
    }
    g_free(pt->dir);
    pset_free(pt);
    pt->gen++;
    pt->dir = NULL;
    pt->depth = 0;
    pt->held = 0;
    pt->bytes = 0;
    pt->dense = 0;
    pt->shards = 0;
}

void cram_pt_destroy(CramPageTable *pt)
{
    cram_pt_clear_all(pt);
}

void cram_pt_foreach(CramPageTable *pt, CramPtFn *fn, void *opaque)
{
    uint64_t i = 0, n = pt->dir ? 1ull << pt->depth : 0;

    while (i < n) {
        CramPtShard *s = pt->dir[i];
        uint32_t j, m;

        i += 1ull << (pt->depth - s->depth);
        for (j = 0; j < s->nslots; j++) {
            uint32_t key = s->key[j];
            uint64_t base = (uint64_t)key_region(key) <<
                            CRAM_PT_REGION_BITS;
            CramPtLeaf *leaf;

            if (key == KEY_EMPTY) {
                continue;
            }
            if (key & KEY_ENTRY) {
                uint16_t meta = word_meta(key, s->word[j]);
                uint64_t val = word_val(key, s->word[j]);
                uint32_t tag;

                fn(opaque, base + key_slot(key), meta_unpack(meta), &val);
                s->word[j] = word_pack(meta, val, &tag);
                continue;
            }
            leaf = (CramPtLeaf *)(uintptr_t)s->word[j];
            for (m = 0; m < CRAM_PT_REGION_PAGES; m++) {
                if (leaf->meta[m]) {
                    fn(opaque, base + m, meta_unpack(leaf->meta[m]),
                       &leaf->val[m]);
                }
            }
        }
    }
}

/* Walks past the last key: keys stay below 1 << (HASH_BITS + 8). */
#define KEY_END             (1ull << (HASH_BITS + KEY_REGION_SHIFT))

/* The pages of [base, base + 64) that lie in the ranges, a bit each. */
static uint64_t ranges_mask(const CramPtIter *it, uint64_t base)
{
    uint64_t mask = 0, end = base + CRAM_PT_REGION_PAGES;
    unsigned lo = 0, hi = it->nr;

    /* The first range that ends after @base. */
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;

        if (it->r[mid].end <= base) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    for (; lo < it->nr && it->r[lo].first < end; lo++) {
        uint64_t a = MAX(it->r[lo].first, base) - base;
        uint64_t b = MIN(it->r[lo].end, end) - base;

        mask |= (b - a == 64 ? ~0ull : ((1ull << (b - a)) - 1)) << a;
    }
    return mask;
}

void cram_pt_iter_init(const CramPageTable *pt, CramPtIter *it,
                       const CramPtRange *r, unsigned nr)
{
    uint64_t regions = 0;
    unsigned i;

    memset(it, 0, sizeof(*it));
    it->r = r;
    it->nr = nr;
    for (i = 0; i < nr; i++) {
        g_assert(r[i].first < r[i].end && r[i].end <= pt->npages);
        g_assert(!i || r[i - 1].end <= r[i].first);
        regions += ((r[i].end - 1) >> CRAM_PT_REGION_BITS) -
                   (r[i].first >> CRAM_PT_REGION_BITS) + 1;
    }
    /*
     * A lookup costs about what walking 16 slots does: look the regions
     * up when they are fewer than the table's slots / 16 (leaves count
     * as the slots they hold).
     */
    it->walk = regions * 16 > pt->bytes / SLOT_BYTES;
    it->gen = pt->gen - 1;          /* the walk starts with a seek */
    it->hash = UINT32_MAX;
    it->done = !nr || !pt->held;
}

/* Lookups: the next held entry of the ranges, region by region. */
static bool iter_lookup(const CramPageTable *pt, CramPtIter *it,
                        uint64_t *idx, uint16_t *meta, uint64_t *val)
{
    while (it->ri < it->nr) {
        const CramPtRange *r = &it->r[it->ri];
        uint64_t p = MAX(it->next, r->first), region;
        unsigned m;
        RegionPos rp;

        if (p >= r->end) {
            it->ri++;
            continue;
        }
        region = p >> CRAM_PT_REGION_BITS;
        if (region_find(pt, region, &rp) &&
            region_next(&rp, p & SLOT_MASK, &m, meta, val)) {
            *idx = (region << CRAM_PT_REGION_BITS) + m;
            if (*idx < r->end) {
                it->next = *idx + 1;
                return true;
            }
            /* Past this range: the next one may start in this region. */
            it->next = r->end;
            continue;
        }
        it->next = (region + 1) << CRAM_PT_REGION_BITS;
    }
    return false;
}

/* Walk: position at the first slot (or leaf page) at key it->next. */
static void walk_seek(const CramPageTable *pt, CramPtIter *it)
{
    uint32_t c = it->next, rec, i;
    const CramPtShard *s;

    it->m = 0;
    it->hash = UINT32_MAX;
    if (!pt->dir || it->next >= KEY_END) {
        it->s = NULL;
        return;
    }
    s = pt->dir[c >> KEY_REGION_SHIFT >> (HASH_BITS - pt->depth)];
    it->s = s;
    it->j = 0;
    if (!s->nslots) {
        return;
    }
    rec = c >> KEY_REGION_SHIFT << KEY_REGION_SHIFT;
    i = seek(s, home_of(s, key_hl(s, rec)), rec);
    if (c > rec && i < s->nslots && s->key[i] == rec) {
        /* Within a leaf: go on at the page after the last one seen. */
        it->j = i;
        it->m = key_slot(c);
        return;
    }
    it->j = c > rec ? seek(s, i, c) : i;
}

/* Walk: the next held entry in key order whose page is in the ranges. */
static bool iter_walk(const CramPageTable *pt, CramPtIter *it,
                      uint64_t *idx, uint16_t *meta, uint64_t *val)
{
    if (it->gen != pt->gen) {
        walk_seek(pt, it);
        it->gen = pt->gen;
    }
    while (it->s) {
        const CramPtShard *s = it->s;
        uint32_t key, hash;

        if (it->j >= s->nslots) {
            uint64_t d = ((uint64_t)s->prefix + 1) << (pt->depth - s->depth);

            it->s = d < 1ull << pt->depth ? pt->dir[d] : NULL;
            it->j = it->m = 0;
            continue;
        }
        key = s->key[it->j];
        if (key == KEY_EMPTY) {
            it->j++;
            continue;
        }
        hash = key >> KEY_REGION_SHIFT;
        if (hash != it->hash) {
            it->hash = hash;
            it->base = (uint64_t)key_region(key) << CRAM_PT_REGION_BITS;
            it->mask = ranges_mask(it, it->base);
        }
        if (!it->mask) {
            it->j++;
            it->m = 0;
            continue;
        }
        if (!(key & KEY_ENTRY)) {
            const CramPtLeaf *leaf = (const void *)(uintptr_t)s->word[it->j];
            uint32_t m;

            for (m = it->m; m < CRAM_PT_REGION_PAGES; m++) {
                if (leaf->meta[m] && it->mask >> m & 1) {
                    *idx = it->base + m;
                    *meta = leaf->meta[m];
                    *val = leaf->val[m];
                    it->m = m + 1;
                    it->next = ((uint64_t)hash << KEY_REGION_SHIFT |
                                KEY_ENTRY) + ((uint64_t)m << KEY_SLOT_SHIFT) +
                               (1u << KEY_SLOT_SHIFT);
                    return true;
                }
            }
            it->j++;
            it->m = 0;
            continue;
        }
        it->j++;
        if (it->mask >> key_slot(key) & 1) {
            *idx = it->base + key_slot(key);
            *meta = word_meta(key, s->word[it->j - 1]);
            *val = word_val(key, s->word[it->j - 1]);
            it->next = (uint64_t)(key & ~KEY_SAME) + (1u << KEY_SLOT_SHIFT);
            return true;
        }
    }
    return false;
}

bool cram_pt_iter_next(const CramPageTable *pt, CramPtIter *it,
                       uint64_t *idx, uint32_t *meta, uint64_t *val)
{
    uint16_t m;
    bool found;

    if (it->done || !pt->held) {
        it->done = true;
        return false;
    }
    found = it->walk ? iter_walk(pt, it, idx, &m, val) :
                       iter_lookup(pt, it, idx, &m, val);
    if (!found) {
        it->done = true;
        return false;
    }
    *meta = meta_unpack(m);
    return true;
}

bool cram_pt_poison_run(const CramPageTable *pt, uint64_t from, uint64_t end,
                        uint64_t *first, uint64_t *n, uint64_t *val)
{
    uint64_t vals[CRAM_PT_REGION_PAGES];
    uint64_t region, mask, p, start, v;
    unsigned m;

    end = MIN(end, pt->npages);
    if (from >= end) {
        return false;
    }
    /* The first poisoned page at @from or after. */
    for (region = pset_next(pt, from >> CRAM_PT_REGION_BITS); ;
         region = pset_next(pt, region + 1)) {
        if (region == PSET_NONE || region << CRAM_PT_REGION_BITS >= end) {
            return false;
        }
        mask = region_poison(pt, region, vals);
        if (region == from >> CRAM_PT_REGION_BITS) {
            mask &= ~0ull << (from & SLOT_MASK);
        }
        if (mask) {
            break;
        }
    }
    m = __builtin_ctzll(mask);
    start = (region << CRAM_PT_REGION_BITS) + m;
    if (start >= end) {
        return false;
    }
    v = vals[m];
    /* As far as it goes: page by page, region by region. */
    for (;;) {
        while (m < CRAM_PT_REGION_PAGES && mask >> m & 1 && vals[m] == v) {
            m++;
        }
        p = (region << CRAM_PT_REGION_BITS) + m;
        if (m < CRAM_PT_REGION_PAGES || p >= end ||
            !pset_has(pt, region + 1)) {
            break;
        }
        region++;
        mask = region_poison(pt, region, vals);
        m = 0;
    }
    *first = start;
    *n = MIN(p, end) - start;
    *val = v;
    return true;
}

#ifdef CRAM_ENGINE_TESTS     /* tests only: not in QEMU's build */
void cram_pt_check(const CramPageTable *pt)
{
    uint64_t i = 0, n = pt->dir ? 1ull << pt->depth : 0;
    uint64_t held = 0, bytes = 0, dense = 0, shards = 0, pregions = 0;

    if (pt->dir) {
        bytes += cram_heap_cost(n * sizeof(*pt->dir));
    }
    if (pt->pbox) {
        uint64_t in = 0;

        bytes += cram_heap_cost(PBOX_NUM * sizeof(CramPtPoisonBox));
        for (i = 0; i < PBOX_NUM; i++) {
            const CramPtPoisonBox *b = &pt->pbox[i];
            uint32_t k;

            in += b->n;
            if (b->bits) {
                uint32_t cnt = 0;

                g_assert(!b->arr && !b->cap && b->n >= PBOX_SPARSE);
                bytes += cram_heap_cost(PBOX_WORDS * sizeof(uint64_t));
                for (k = 0; k < PBOX_WORDS; k++) {
                    cnt += __builtin_popcountll(b->bits[k]);
                }
                g_assert(cnt == b->n);
                continue;
            }
            g_assert(b->n <= PBOX_DENSE && b->n <= b->cap);
            g_assert(!b->cap == !b->arr && (b->n || !b->cap));
            bytes += cram_heap_cost((size_t)b->cap * sizeof(*b->arr));
            for (k = 1; k < b->n; k++) {
                g_assert(b->arr[k - 1] < b->arr[k]);
            }
        }
        g_assert(in == pt->poison_regions && in);
        i = 0;
    } else {
        g_assert(!pt->poison_regions);
    }
    while (i < n) {
        const CramPtShard *s = pt->dir[i];
        uint64_t span = 1ull << (pt->depth - s->depth), k;
        uint64_t prev = 0;
        uint32_t j, used = 0, run = 0, run_region = UINT32_MAX;
        uint32_t poison_region = UINT32_MAX;

        g_assert(s->depth <= pt->depth);
        g_assert(i == (uint64_t)s->prefix * span);
        for (k = 0; k < span; k++) {
            g_assert(pt->dir[i + k] == s);
        }
        i += span;
        shards++;
        bytes += cram_heap_cost(sizeof(*s));
        if (s->nslots) {
            bytes += cram_heap_cost((size_t)s->nslots * SLOT_BYTES);
        }
        for (j = 0; j < s->nslots; j++) {
            uint32_t key = s->key[j], region, hl;

            if (key == KEY_EMPTY) {
                continue;
            }
            used++;
            region = key >> KEY_REGION_SHIFT;
            hl = key_hl(s, key);
            g_assert(region >> (HASH_BITS - s->depth) == s->prefix);
            g_assert(region_hash(key_region(key)) == region);
            /* At or after home, nothing empty on the way, in order. */
            g_assert(home_of(s, hl) <= j);
            g_assert(home_of(s, hl) == j || s->key[j - 1] != KEY_EMPTY);
            g_assert(used == 1 || key > prev);
            prev = key;
            if (region != run_region) {
                g_assert(run < CRAM_PT_PROMOTE);
                run_region = region;
                run = 0;
            }
            if (key & KEY_ENTRY) {
                uint16_t m = word_meta(key, s->word[j]);

                g_assert(m);
                g_assert(!(key & KEY_SAME) == (m != CRAM_KIND_SAME));
                held++;
                run++;
                if (packed_poisoned(m) && region != poison_region) {
                    poison_region = region;
                    g_assert(pset_has(pt, key_region(key)));
                    pregions++;
                }
            } else {
                const CramPtLeaf *leaf = (void *)(uintptr_t)s->word[j];

                g_assert(!(key & KEY_SAME));
                unsigned m, u = 0;

                g_assert(j + 1 == s->nslots ||
                         s->key[j + 1] >> KEY_REGION_SHIFT != region);
                bool poisoned = false;

                for (m = 0; m < CRAM_PT_REGION_PAGES; m++) {
                    u += !!leaf->meta[m];
                    g_assert(leaf->meta[m] || !leaf->val[m]);
                    poisoned |= packed_poisoned(leaf->meta[m]);
                }
                if (poisoned) {
                    g_assert(pset_has(pt, key_region(key)));
                    pregions++;
                }
                g_assert(u == leaf->used);
                g_assert(u >= CRAM_PT_DEMOTE);
                held += u;
                dense++;
                bytes += cram_heap_cost(sizeof(*leaf));
            }
        }
        g_assert(run < CRAM_PT_PROMOTE);
        g_assert(used == s->n);
    }
    g_assert(held == pt->held);
    g_assert(pregions == pt->poison_regions);
    g_assert(bytes == pt->bytes);
    g_assert(dense == pt->dense);
    g_assert(shards == pt->shards);
}
#endif
