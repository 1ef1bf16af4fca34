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
        return cram_meta_class(meta) | META_POISONED;
    }
    return meta;
}

static inline uint32_t meta_unpack(uint16_t m)
{
    if ((m & META_POISONED) == META_POISONED) {
        return cram_meta_make(cram_meta_class(m), 0, CRAM_META_POISON);
    }
    return m;
}

/* An entry's word, and whether its key takes KEY_SAME. */
static inline uint64_t word_pack(uint16_t m, uint64_t val, uint32_t *tag)
{
    if (m == CRAM_CLASS_SAME) {
        *tag = KEY_SAME;
        return val;
    }
    g_assert(val <= CRAM_PT_VALUE_MAX);
    *tag = 0;
    return (uint64_t)m << WORD_META_SHIFT | val;
}

static inline uint16_t word_meta(uint32_t key, uint64_t word)
{
    return key & KEY_SAME ? CRAM_CLASS_SAME : word >> WORD_META_SHIFT;
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

void cram_pt_set(CramPageTable *pt, uint64_t idx, uint32_t meta,
                 uint64_t val)
{
    uint16_t m = meta_pack(meta);
    CramPtLeaf *leaf;
    uint16_t old;
    PtPos p;

    g_assert(idx < pt->npages);
    g_assert(!m || m == CRAM_CLASS_SAME || val <= CRAM_PT_VALUE_MAX);
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
        return;
    case FOUND_ENTRY:
        if (m) {
            uint32_t tag;

            p.s->word[p.pos] = word_pack(m, val, &tag);
            p.s->key[p.pos] = (p.s->key[p.pos] & ~KEY_SAME) | tag;
            return;
        }
        shard_remove(p.s, p.pos, 1);
        /* Give the memory back: all of it when nothing is left. */
        if (!--pt->held) {
            cram_pt_clear_all(pt);
        } else {
            maybe_shrink(pt, p.s);
        }
        return;
    default:
        if (m) {
            sparse_insert(pt, idx, m, val);
            pt->held++;
        }
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
                uint16_t m = word_meta(key, s->word[j]);
                uint64_t val = word_val(key, s->word[j]);
                uint32_t tag;

                fn(opaque, base + key_slot(key), meta_unpack(m), &val);
                s->word[j] = word_pack(m, val, &tag);
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

void cram_pt_check(const CramPageTable *pt)
{
    uint64_t i = 0, n = pt->dir ? 1ull << pt->depth : 0;
    uint64_t held = 0, bytes = 0, dense = 0, shards = 0;

    if (pt->dir) {
        bytes += cram_heap_cost(n * sizeof(*pt->dir));
    }
    while (i < n) {
        const CramPtShard *s = pt->dir[i];
        uint64_t span = 1ull << (pt->depth - s->depth), k;
        uint64_t prev = 0;
        uint32_t j, used = 0, run = 0, run_region = UINT32_MAX;

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
                g_assert(!(key & KEY_SAME) == (m != CRAM_CLASS_SAME));
                held++;
                run++;
            } else {
                const CramPtLeaf *leaf = (void *)(uintptr_t)s->word[j];

                g_assert(!(key & KEY_SAME));
                unsigned m, u = 0;

                g_assert(j + 1 == s->nslots ||
                         s->key[j + 1] >> KEY_REGION_SHIFT != region);
                for (m = 0; m < CRAM_PT_REGION_PAGES; m++) {
                    u += !!leaf->meta[m];
                    g_assert(leaf->meta[m] || !leaf->val[m]);
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
    g_assert(bytes == pt->bytes);
    g_assert(dense == pt->dense);
    g_assert(shards == pt->shards);
}
