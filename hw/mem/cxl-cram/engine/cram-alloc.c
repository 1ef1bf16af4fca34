/*
 * cxl-cram engine: media allocator (size classes, spans, slots)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include "cram-alloc.h"
#include "cram-error.h"
#include "cram-heap.h"
#include "cram-media-pages.h"

#define SPAN_NONE   UINT32_MAX
#define PAGE_NONE   UINT32_MAX
#define SLOT_MASK   ((1u << CRAM_HANDLE_SLOT_BITS) - 1)
#define ID_MASK     ((1ull << (CRAM_HANDLE_CLASS_SHIFT - \
                               CRAM_HANDLE_SLOT_BITS)) - 1)
#define MAX_SLOTS   (CRAM_SPAN_MAX_PAGES * CRAM_PAGE_SIZE / CRAM_ALLOC_ALIGN)

/*
 * Host side of a span: 10 bytes, a bitmap of its slots in use (16 bits
 * per 16 slots, the first word in the header's tail), then 4 bytes per
 * media page of its class.  A class of at most 16 slots per span pays
 * 12 + 4 * pages bytes a span.
 *
 * A span holds exactly the media pages that hold (part of) an object in
 * use: a page is taken when a slot that reaches it is handed out, and
 * given back as soon as no object in use lies on it.  So media used is
 * the pages with live data on them, whatever the order of stores and
 * frees: freeing what was added since any point returns media used to
 * what it was at that point.
 *
 * @room counts the free slots that lie wholly in pages the span holds:
 * slots that can be handed out without taking media.
 */
typedef struct CramSpan {
    uint32_t ppos;              /* index in the partial list; or free link */
    uint16_t inuse;
    uint16_t room;
    uint8_t held;               /* media pages held */
    uint8_t group;              /* partial group; NO_GROUP when full */
    uint16_t map[];             /* slots in use; then the page numbers */
} CramSpan;

G_STATIC_ASSERT(offsetof(CramSpan, map) == 10);
/* Every slot count fits in a span's 16-bit fields, every index in a handle */
G_STATIC_ASSERT(MAX_SLOTS <= UINT16_MAX && MAX_SLOTS - 1 <= SLOT_MASK);
/* Span ids and media pages are below the media pages: they fit in one. */
G_STATIC_ASSERT(CRAM_MAX_CAPACITY / CRAM_PAGE_SIZE <= ID_MASK + 1);
G_STATIC_ASSERT(CRAM_ALLOC_NCLASSES <= 1u << (CRAM_HANDLE_BITS -
                                              CRAM_HANDLE_CLASS_SHIFT));
G_STATIC_ASSERT(CRAM_SPAN_MAX_PAGES <= UINT8_MAX);

/*
 * Spans with a free slot are listed in 2 * NGROUPS groups: first by
 * whether they have room (a free slot in the pages they hold), then by
 * fullness in NGROUPS groups of equal width.  Allocation takes from the
 * fullest span with room, so that no page is taken while a hole exists;
 * else from the fullest span, which takes the page its next slot needs.
 * As in zsmalloc, sparse spans then get no new objects, drain and give
 * their pages back, which keeps fragmentation low under churn.
 */
#define NGROUPS     4
#define NO_GROUP    (2 * NGROUPS)

/*
 * Each class keeps its spans in an array of fixed-size descriptors, and
 * one partial list: the ids of the spans with a free slot, group by
 * group, group g at [gend[g - 1], gend[g]).  Each span knows its place,
 * so it changes group in at most NO_GROUP swaps.  Both arrays are made
 * with room for one span when the class is set up, and shrink back to
 * that when it empties, so a class in use costs a fixed amount and what
 * grows with the pages stored is the spans alone (docs/metadata.md).
 * A "direct" class holds one object per media page: the handle names
 * the page itself and no descriptor exists.
 */
typedef struct CramSizeClass {
    uint32_t size;              /* slot bytes */
    uint16_t nslots;            /* per span */
    uint8_t npages;             /* media pages per span */
    bool direct;                /* one slot per page: no span descriptor */
    uint32_t stride;            /* descriptor bytes */
    uint32_t page_off;          /* offset of the page numbers in it */
    uint32_t nspans;            /* ids handed out */
    uint32_t live;              /* ids in use */
    uint64_t objs;              /* objects held */
    uint64_t room;              /* sum of the spans' room */
    uint32_t spans_cap;
    uint32_t free_id;           /* recycled ids, chained through ppos */
    uint8_t *spans;
    uint32_t *partial;          /* the partial list */
    uint32_t partial_cap;
    uint32_t gend[NO_GROUP];    /* where each group of the list ends */
} CramSizeClass;

struct CramAlloc {
    uint8_t *media;
    uint64_t media_size;
    CramMediaPages pages;
    CramSizeClass cls[CRAM_ALLOC_NCLASSES];
    uint8_t class_map[CRAM_ALLOC_NCLASSES];  /* size step -> serving class */
};

static inline unsigned step_of(size_t size)
{
    return (size + CRAM_ALLOC_ALIGN - 1) / CRAM_ALLOC_ALIGN - 1;
}

static inline unsigned class_of(const CramAlloc *a, size_t size)
{
    return a->class_map[step_of(size)];
}

/* The size class of an object of @size bytes; its index in *@ci */
static CramSizeClass *size_class(CramAlloc *a, size_t size, unsigned *ci)
{
    g_assert(size > 0 && size <= CRAM_PAGE_SIZE);
    *ci = class_of(a, size);
    return &a->cls[*ci];
}

bool cram_alloc_same_class(const CramAlloc *a, size_t old_size,
                           size_t new_size)
{
    return class_of(a, old_size) == class_of(a, new_size);
}

static inline uint64_t make_handle(unsigned ci, uint64_t id, unsigned slot)
{
    return (uint64_t)ci << CRAM_HANDLE_CLASS_SHIFT |
           id << CRAM_HANDLE_SLOT_BITS | slot;
}

static inline uint32_t *plist(const CramSizeClass *c)
{
    return c->partial;
}

static inline uint32_t gstart(const CramSizeClass *c, unsigned g)
{
    return g ? c->gend[g - 1] : 0;
}

static inline uint32_t npartial(const CramSizeClass *c)
{
    return c->gend[NO_GROUP - 1];
}

/* Back to no span, keeping room for one: what a class always costs. */
static void class_empty(CramSizeClass *c)
{
    c->nspans = c->live = 0;
    c->objs = c->room = 0;
    c->free_id = SPAN_NONE;
    memset(c->gend, 0, sizeof(c->gend));
    c->spans_cap = c->partial_cap = 1;
    c->spans = g_realloc(c->spans, c->stride);
    c->partial = g_renew(uint32_t, c->partial, 1);
}

static void free_classes(CramAlloc *a)
{
    unsigned i;

    for (i = 0; i < CRAM_ALLOC_NCLASSES; i++) {
        g_free(a->cls[i].spans);
        g_free(a->cls[i].partial);
        a->cls[i].spans = NULL;
        a->cls[i].partial = NULL;
    }
}

/*
 * Pick the span length with the least tail waste, ties going to fewer
 * pages.  Then, as zsmalloc does, let a size step share the next larger
 * step's class when both give the same span length and slot count: the
 * media use per object is identical and fewer classes mean fewer
 * partly filled spans.
 */
static void init_classes(CramAlloc *a)
{
    unsigned i, k, leader = 0;

    for (i = CRAM_ALLOC_NCLASSES; i-- > 0;) {
        CramSizeClass *c = &a->cls[i];
        uint32_t size = (i + 1) * CRAM_ALLOC_ALIGN;
        uint32_t best_k = 1, best_waste = CRAM_PAGE_SIZE % size;

        for (k = 2; k <= CRAM_SPAN_MAX_PAGES; k++) {
            uint32_t waste = (k * CRAM_PAGE_SIZE) % size;

            /* waste / k pages < best_waste / best_k pages */
            if (waste * best_k < best_waste * k) {
                best_k = k;
                best_waste = waste;
            }
        }
        memset(c, 0, sizeof(*c));
        c->size = size;
        c->npages = best_k;
        c->nslots = best_k * CRAM_PAGE_SIZE / size;
        c->direct = c->npages == 1 && c->nslots == 1;
        c->page_off = (offsetof(CramSpan, map) +
                       (c->nslots + 15) / 16 * sizeof(uint16_t) + 3) & ~3u;
        c->stride = c->page_off + best_k * sizeof(uint32_t);
        c->free_id = SPAN_NONE;

        if (i == CRAM_ALLOC_NCLASSES - 1 ||
            c->npages != a->cls[leader].npages ||
            c->nslots != a->cls[leader].nslots) {
            leader = i;
        }
        a->class_map[i] = leader;
    }
    for (i = 0; i < CRAM_ALLOC_NCLASSES; i++) {
        if (a->class_map[i] == i && !a->cls[i].direct) {
            class_empty(&a->cls[i]);
        }
    }
}

CramAlloc *cram_alloc_new(uint64_t media_size, GError **err)
{
    CramAlloc *a;
    void *media;

    g_assert(media_size && !(media_size % CRAM_PAGE_SIZE));
    g_assert(media_size <= CRAM_MAX_CAPACITY);

    /* NORESERVE and untouched: media costs host memory only once used. */
    media = mmap(NULL, media_size, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (media == MAP_FAILED) {
        g_set_error(err, CRAM_ERROR, 0,
                    "cannot map %" G_GUINT64_FORMAT " bytes of media: %s",
                    media_size, g_strerror(errno));
        return NULL;
    }

#ifdef MADV_HUGEPAGE
    madvise(media, media_size, MADV_HUGEPAGE);
#endif
    a = g_new0(CramAlloc, 1);
    a->media = media;
    a->media_size = media_size;
    cram_media_pages_init(&a->pages, media_size / CRAM_PAGE_SIZE);
    init_classes(a);
    return a;
}

void cram_alloc_free(CramAlloc *a)
{
    if (!a) {
        return;
    }
    munmap(a->media, a->media_size);
    cram_media_pages_destroy(&a->pages);
    free_classes(a);
    g_free(a);
}

void cram_alloc_reset(CramAlloc *a)
{
    /* One call for the whole media is cheap, unlike one per freed span. */
    madvise(a->media, a->media_size, MADV_DONTNEED);
    cram_media_pages_destroy(&a->pages);
    cram_media_pages_init(&a->pages, a->media_size / CRAM_PAGE_SIZE);
    free_classes(a);
    init_classes(a);
}

/* Small steps: the arrays stay close to their use, which is what counts. */
static uint32_t grow_cap(uint32_t cap)
{
    return cap + MAX(cap / 8, 1u);
}

static inline CramSpan *span_at(const CramSizeClass *c, uint32_t id)
{
    return (CramSpan *)(c->spans + (size_t)id * c->stride);
}

static inline uint32_t *span_page(const CramSizeClass *c,
                                  const CramSpan *sp)
{
    return (uint32_t *)((uintptr_t)sp + c->page_off);
}

static inline bool slot_used(const CramSpan *sp, unsigned slot)
{
    return sp->map[slot / 16] & (1u << (slot % 16));
}

/* First clear bit of @map in [lo, hi), or hi. */
static unsigned find_free(const uint16_t *map, unsigned lo, unsigned hi)
{
    unsigned w = lo / 16;
    uint32_t bits;

    if (lo >= hi) {
        return hi;
    }
    bits = ~(uint32_t)map[w] & (0xffffu << (lo % 16)) & 0xffffu;
    for (;;) {
        if (bits) {
            unsigned s = w * 16 + __builtin_ctz(bits);

            return MIN(s, hi);
        }
        if (++w * 16 >= hi) {
            return hi;
        }
        bits = ~(uint32_t)map[w] & 0xffffu;
    }
}

/* True when a slot in [lo, hi] is in use. */
static bool any_used(const uint16_t *map, unsigned lo, unsigned hi)
{
    unsigned w;

    for (w = lo / 16; w <= hi / 16; w++) {
        uint32_t m = 0xffffu;

        if (w == lo / 16) {
            m &= 0xffffu << (lo % 16);
        }
        if (w == hi / 16) {
            m &= (2u << (hi % 16)) - 1;
        }
        if (map[w] & m) {
            return true;
        }
    }
    return false;
}

static uint32_t span_id_get(CramSizeClass *c)
{
    uint32_t id = c->free_id;

    c->live++;
    if (id != SPAN_NONE) {
        c->free_id = span_at(c, id)->ppos;
        return id;
    }
    g_assert(c->nspans <= ID_MASK);
    if (c->nspans == c->spans_cap) {
        c->spans_cap = grow_cap(c->spans_cap);
        c->spans = g_realloc_n(c->spans, c->spans_cap, c->stride);
    }
    return c->nspans++;
}

static void span_id_put(CramSizeClass *c, uint32_t id)
{
    if (!--c->live) {
        /* An emptied class gives its bookkeeping back, as the radix does. */
        class_empty(c);
        return;
    }
    span_at(c, id)->ppos = c->free_id;
    c->free_id = id;
}

/* Partial group of a span with @inuse (< nslots) objects. */
static inline unsigned group_of(const CramSizeClass *c, const CramSpan *sp)
{
    return (sp->room ? NGROUPS : 0) + sp->inuse * NGROUPS / c->nslots;
}

static inline void plist_put(CramSizeClass *c, uint32_t pos, uint32_t id)
{
    plist(c)[pos] = id;
    span_at(c, id)->ppos = pos;
}

static void plist_swap(CramSizeClass *c, uint32_t i, uint32_t j)
{
    uint32_t id = plist(c)[i];

    plist_put(c, i, plist(c)[j]);
    plist_put(c, j, id);
}

/*
 * Moves listed span @id to group @to, one boundary at a time: it swaps
 * to the edge of its group, and the boundary moves past it.
 */
static void partial_move(CramSizeClass *c, uint32_t id, unsigned to)
{
    CramSpan *sp = span_at(c, id);
    unsigned g = sp->group;

    for (; g < to; g++) {
        plist_swap(c, sp->ppos, c->gend[g] - 1);
        c->gend[g]--;
    }
    for (; g > to; g--) {
        plist_swap(c, sp->ppos, gstart(c, g));
        c->gend[g - 1]++;
    }
    sp->group = to;
}

static void partial_add(CramSizeClass *c, uint32_t id)
{
    CramSpan *sp = span_at(c, id);

    if (npartial(c) == c->partial_cap) {
        c->partial_cap = grow_cap(c->partial_cap);
        c->partial = g_renew(uint32_t, c->partial, c->partial_cap);
    }
    /* Appended, it is in the last group. */
    plist_put(c, npartial(c), id);
    c->gend[NO_GROUP - 1]++;
    sp->group = NO_GROUP - 1;
    partial_move(c, id, group_of(c, sp));
}

static void partial_del(CramSizeClass *c, uint32_t id)
{
    CramSpan *sp = span_at(c, id);

    partial_move(c, id, NO_GROUP - 1);
    plist_swap(c, sp->ppos, npartial(c) - 1);
    c->gend[NO_GROUP - 1]--;
    sp->group = NO_GROUP;
}

/* After @id's inuse or room changed: list it where it now belongs. */
static void partial_update(CramSizeClass *c, uint32_t id)
{
    CramSpan *sp = span_at(c, id);

    if (sp->inuse == c->nslots) {
        if (sp->group != NO_GROUP) {
            partial_del(c, id);
        }
    } else if (sp->group == NO_GROUP) {
        partial_add(c, id);
    } else if (sp->group != group_of(c, sp)) {
        partial_move(c, id, group_of(c, sp));
    }
}

/* The fullest partial span with room, or SPAN_NONE. */
static uint32_t fullest_with_room(const CramSizeClass *c)
{
    int g;

    for (g = NO_GROUP - 1; g >= NGROUPS; g--) {
        if (c->gend[g] > gstart(c, g)) {
            return plist(c)[c->gend[g] - 1];
        }
    }
    return SPAN_NONE;
}

static inline uint8_t *media_page(CramAlloc *a, uint32_t page)
{
    return a->media + ((uint64_t)page << CRAM_PAGE_SHIFT);
}

/* The span pages a slot lies on: [*first, *last]. */
static inline void slot_pages(const CramSizeClass *c, unsigned slot,
                              unsigned *first, unsigned *last)
{
    uint32_t off = slot * c->size;

    *first = off >> CRAM_PAGE_SHIFT;
    *last = (off + c->size - 1) >> CRAM_PAGE_SHIFT;
}

/* The slots that lie (partly) on span page @k: [*lo, *hi]. */
static inline void page_slots(const CramSizeClass *c, unsigned k,
                              unsigned *lo, unsigned *hi)
{
    *lo = k * CRAM_PAGE_SIZE / c->size;
    *hi = MIN(((k + 1) * CRAM_PAGE_SIZE - 1) / c->size, c->nslots - 1u);
}

/* Media pages that handing out @slot would take. */
static unsigned slot_cost(const CramSizeClass *c, const CramSpan *sp,
                          unsigned slot)
{
    unsigned first, last, k, n = 0;

    slot_pages(c, slot, &first, &last);
    for (k = first; k <= last; k++) {
        n += span_page(c, sp)[k] == PAGE_NONE;
    }
    return n;
}

/* Adds @delta to the room of @sp for each free slot on page @k it makes. */
static void room_adjust(CramSizeClass *c, CramSpan *sp, unsigned k,
                        int delta)
{
    unsigned lo, hi, s;

    page_slots(c, k, &lo, &hi);
    for (s = lo; s <= hi; s++) {
        if (!slot_used(sp, s) && !slot_cost(c, sp, s)) {
            sp->room += delta;
            c->room += delta;
        }
    }
}

static void page_take(CramAlloc *a, CramSizeClass *c, CramSpan *sp,
                      unsigned k)
{
    if (!cram_media_pages_take(&a->pages, &span_page(c, sp)[k])) {
        g_assert_not_reached();     /* the caller checked */
    }
    sp->held++;
    room_adjust(c, sp, k, 1);
}

static void page_put(CramAlloc *a, CramSizeClass *c, CramSpan *sp,
                     unsigned k)
{
    room_adjust(c, sp, k, -1);
    cram_media_pages_put(&a->pages, span_page(c, sp)[k]);
    span_page(c, sp)[k] = PAGE_NONE;
    sp->held--;
}

/* Needs the caller to have checked that a media page is free. */
static uint32_t span_new(CramSizeClass *c)
{
    uint32_t id = span_id_get(c);
    CramSpan *sp = span_at(c, id);
    unsigned k;

    sp->inuse = 0;
    sp->room = 0;
    sp->held = 0;
    sp->group = NO_GROUP;
    for (k = 0; k < c->npages; k++) {
        span_page(c, sp)[k] = PAGE_NONE;
    }
    memset(sp->map, 0, c->page_off - offsetof(CramSpan, map));
    return id;
}

/*
 * The slot to hand out from @sp: the first free one in the pages it
 * holds if any, else its first free slot.
 */
static unsigned pick_slot(const CramSizeClass *c, CramSpan *sp)
{
    const uint16_t *map = sp->map;
    unsigned k, lo, hi, s;

    if (!sp->room) {
        return find_free(map, 0, c->nslots);
    }
    for (k = 0; k < c->npages; k++) {
        if (span_page(c, sp)[k] == PAGE_NONE) {
            continue;
        }
        page_slots(c, k, &lo, &hi);
        for (s = find_free(map, lo, hi + 1); s <= hi;
             s = find_free(map, s + 1, hi + 1)) {
            if (!slot_cost(c, sp, s)) {
                return s;
            }
        }
    }
    g_assert_not_reached();
}

static inline uint8_t *slot_start(CramAlloc *a, const CramSizeClass *c,
                                  const CramSpan *sp, unsigned slot)
{
    uint32_t off = slot * c->size;

    return media_page(a, span_page(c, sp)[off >> CRAM_PAGE_SHIFT]) +
           (off & (CRAM_PAGE_SIZE - 1));
}

/* Takes free slot @slot of span @id, and the pages it needs. */
static void take_slot_at(CramAlloc *a, CramSizeClass *c, uint32_t id,
                         unsigned slot)
{
    CramSpan *sp = span_at(c, id);
    unsigned first, last, k;

    g_assert(slot < c->nslots && !slot_used(sp, slot));
    slot_pages(c, slot, &first, &last);
    for (k = first; k <= last; k++) {
        if (span_page(c, sp)[k] == PAGE_NONE) {
            page_take(a, c, sp, k);
        }
    }
    /* The slot is now free and in held pages: counted in room. */
    sp->map[slot / 16] |= 1u << (slot % 16);
    sp->room--;
    c->room--;
    sp->inuse++;
    c->objs++;
    partial_update(c, id);
}

/* Takes a free slot of span @id, and the pages it needs. */
static unsigned take_slot(CramAlloc *a, CramSizeClass *c, uint32_t id)
{
    unsigned slot = pick_slot(c, span_at(c, id));

    take_slot_at(a, c, id, slot);
    return slot;
}

/*
 * Frees @slot of span @id and gives back the pages no object in use lies
 * on any more.  Returns true when the span is now empty: it then holds no
 * page and the caller releases it.
 */
static bool put_slot(CramAlloc *a, CramSizeClass *c, uint32_t id,
                     unsigned slot)
{
    CramSpan *sp = span_at(c, id);
    uint16_t *map = sp->map;
    unsigned first, last, k, lo, hi;

    g_assert(slot < c->nslots && slot_used(sp, slot));
    map[slot / 16] &= ~(1u << (slot % 16));
    sp->room++;
    c->room++;
    sp->inuse--;
    c->objs--;
    slot_pages(c, slot, &first, &last);
    for (k = first; k <= last; k++) {
        page_slots(c, k, &lo, &hi);
        if (!any_used(map, lo, hi)) {
            page_put(a, c, sp, k);
        }
    }
    if (!sp->inuse) {
        g_assert(!sp->held && !sp->room);
        return true;
    }
    return false;
}

static void span_release(CramSizeClass *c, uint32_t id)
{
    if (span_at(c, id)->group != NO_GROUP) {
        partial_del(c, id);
    }
    span_id_put(c, id);
}

/*
 * The span to allocate from: the fullest with room; else the fullest
 * whose next slot's pages are free (normally the last span opened);
 * SPAN_NONE when no partial span can serve.
 */
static uint32_t pick_span(CramAlloc *a, CramSizeClass *c)
{
    uint32_t free_pages = cram_media_pages_free_count(&a->pages);
    uint32_t i, id = fullest_with_room(c);
    int g;

    if (id != SPAN_NONE || !free_pages) {
        return id;
    }
    for (g = NGROUPS - 1; g >= 0; g--) {
        for (i = c->gend[g]; i-- > gstart(c, g);) {
            CramSpan *sp = span_at(c, plist(c)[i]);

            if (slot_cost(c, sp, find_free(sp->map, 0, c->nslots)) <=
                free_pages) {
                return plist(c)[i];
            }
        }
    }
    return SPAN_NONE;
}

bool cram_alloc_obj(CramAlloc *a, size_t size, uint64_t *handle)
{
    unsigned ci, slot;
    CramSizeClass *c = size_class(a, size, &ci);
    uint32_t id;

    if (c->direct) {
        uint32_t page;

        if (!cram_media_pages_take(&a->pages, &page)) {
            return false;
        }
        c->objs++;
        *handle = make_handle(ci, page, 0);
        return true;
    }

    id = pick_span(a, c);
    if (id == SPAN_NONE) {
        /* A new span's first slot lies in its first page. */
        if (!cram_media_pages_free_count(&a->pages)) {
            return false;
        }
        id = span_new(c);
    }

    slot = take_slot(a, c, id);
    *handle = make_handle(ci, id, slot);
    return true;
}

static inline CramSizeClass *handle_class(CramAlloc *a, uint64_t handle)
{
    uint64_t ci = handle >> CRAM_HANDLE_CLASS_SHIFT;

    g_assert(ci < CRAM_ALLOC_NCLASSES && a->class_map[ci] == ci);
    return &a->cls[ci];
}

static inline uint32_t handle_id(uint64_t handle)
{
    return (handle >> CRAM_HANDLE_SLOT_BITS) & ID_MASK;
}

void cram_alloc_free_obj(CramAlloc *a, uint64_t handle)
{
    CramSizeClass *c = handle_class(a, handle);
    uint32_t id = handle_id(handle);

    if (c->direct) {
        g_assert(c->objs);
        c->objs--;
        cram_media_pages_put(&a->pages, id);
        return;
    }
    g_assert(id < c->nspans);
    if (put_slot(a, c, id, handle & SLOT_MASK)) {
        span_release(c, id);
    } else {
        partial_update(c, id);
    }
}

unsigned cram_alloc_span_slots(const CramAlloc *a, size_t size)
{
    const CramSizeClass *c;

    g_assert(size > 0 && size <= CRAM_PAGE_SIZE);
    c = &a->cls[class_of(a, size)];
    return c->direct ? 1 : c->nslots;
}

int cram_alloc_obj_at(CramAlloc *a, size_t size, uint64_t span,
                      unsigned slot, uint64_t *handle)
{
    unsigned ci;
    CramSizeClass *c = size_class(a, size, &ci);
    uint32_t id;

    if (c->direct) {
        if (slot) {
            return -EINVAL;
        }
        return cram_alloc_obj(a, size, handle) ? 0 : -ENOSPC;
    }
    if (slot >= c->nslots) {
        return -EINVAL;
    }
    if (span == CRAM_ALLOC_NEW_SPAN) {
        unsigned first, last;

        /* A new span holds no page: the slot needs all of its own. */
        slot_pages(c, slot, &first, &last);
        if (last - first + 1 > cram_media_pages_free_count(&a->pages)) {
            return -ENOSPC;
        }
        id = span_new(c);
    } else {
        CramSpan *sp;

        id = handle_id(span);
        if (span >> CRAM_HANDLE_CLASS_SHIFT != ci || id >= c->nspans) {
            return -EXDEV;
        }
        sp = span_at(c, id);
        if (!sp->inuse) {
            return -EXDEV;
        }
        if (slot_used(sp, slot)) {
            return -EEXIST;
        }
        if (slot_cost(c, sp, slot) > cram_media_pages_free_count(&a->pages)) {
            return -ENOSPC;
        }
    }
    take_slot_at(a, c, id, slot);
    *handle = make_handle(ci, id, slot);
    return 0;
}

/*
 * Where a slot's bytes lie: one or two pieces.  Slot offsets are multiples
 * of 16, so a slot's first 16 bytes never straddle.
 */
typedef struct CramPieces {
    uint8_t *p[2];
    size_t len[2];
} CramPieces;

static void locate(CramAlloc *a, uint64_t handle, size_t size,
                   CramPieces *pc)
{
    CramSizeClass *c = handle_class(a, handle);
    uint32_t id = handle_id(handle);
    unsigned slot = handle & SLOT_MASK;
    const CramSpan *sp;
    uint32_t off, in_page;
    unsigned pi;

    g_assert(size <= c->size);
    pc->p[1] = NULL;
    pc->len[1] = 0;
    pc->len[0] = size;
    if (c->direct) {
        g_assert(id < a->pages.npages);
        pc->p[0] = media_page(a, id);
        return;
    }
    g_assert(id < c->nspans);
    sp = span_at(c, id);
    g_assert(slot < c->nslots);
    off = slot * c->size;
    in_page = off & (CRAM_PAGE_SIZE - 1);
    pi = off >> CRAM_PAGE_SHIFT;
    g_assert(span_page(c, sp)[pi] != PAGE_NONE);
    pc->p[0] = media_page(a, span_page(c, sp)[pi]) + in_page;
    if (in_page + size > CRAM_PAGE_SIZE) {
        g_assert(span_page(c, sp)[pi + 1] != PAGE_NONE);
        pc->len[0] = CRAM_PAGE_SIZE - in_page;
        pc->p[1] = media_page(a, span_page(c, sp)[pi + 1]);
        pc->len[1] = size - pc->len[0];
    }
}

void cram_alloc_write(CramAlloc *a, uint64_t handle, const void *src,
                      size_t size)
{
    CramPieces pc;

    locate(a, handle, size, &pc);
    memcpy(pc.p[0], src, pc.len[0]);
    if (pc.len[1]) {
        memcpy(pc.p[1], (const uint8_t *)src + pc.len[0], pc.len[1]);
    }
}

void cram_alloc_read(CramAlloc *a, uint64_t handle, void *dst, size_t size)
{
    CramPieces pc;

    locate(a, handle, size, &pc);
    memcpy(dst, pc.p[0], pc.len[0]);
    if (pc.len[1]) {
        memcpy((uint8_t *)dst + pc.len[0], pc.p[1], pc.len[1]);
    }
}

/*
 * Asks for every cache line of [p, p + len) at once: the decompressor
 * then reads it from cache instead of missing line after line (objects
 * of consecutive pages are not adjacent in media, so the hardware
 * prefetcher cannot help as it does for a packed buffer).
 */
static inline void prefetch_range(const uint8_t *p, size_t len)
{
    uintptr_t a = (uintptr_t)p & ~(uintptr_t)63;
    uintptr_t end = (uintptr_t)p + len;

    for (; a < end; a += 64) {
        __builtin_prefetch((const void *)a);
    }
}

const void *cram_alloc_map(CramAlloc *a, uint64_t handle, size_t size,
                           void *bounce)
{
    CramPieces pc;

    locate(a, handle, size, &pc);
    if (!pc.len[1]) {
        prefetch_range(pc.p[0], pc.len[0]);
        return pc.p[0];
    }
    if (pc.p[0] + pc.len[0] == pc.p[1]) {
        /* The span's media pages happen to be adjacent: no copy. */
        prefetch_range(pc.p[0], size);
        return pc.p[0];
    }
    prefetch_range(pc.p[0], pc.len[0]);
    prefetch_range(pc.p[1], pc.len[1]);
    memcpy(bounce, pc.p[0], pc.len[0]);
    memcpy((uint8_t *)bounce + pc.len[0], pc.p[1], pc.len[1]);
    return bounce;
}

/*
 * Compaction and the invariant checker: only the stand-alone build's
 * tests and benchmarks use them (the engine does not compact), so
 * QEMU's build leaves them out.
 */
#ifdef CRAM_ENGINE_TESTS
static inline bool bit_test(const uint64_t *map, uint32_t i)
{
    return map[i / 64] & (1ull << (i % 64));
}

static inline void bit_set(uint64_t *map, uint32_t i)
{
    map[i / 64] |= 1ull << (i % 64);
}

/* The partial span with the fewest objects, among those not in @taken. */
static uint32_t pick_source(const CramSizeClass *c, const uint64_t *taken)
{
    uint32_t best = SPAN_NONE, i;

    for (i = 0; i < npartial(c); i++) {
        uint32_t id = plist(c)[i];

        if (!bit_test(taken, id) &&
            (best == SPAN_NONE ||
             span_at(c, id)->inuse < span_at(c, best)->inuse)) {
            best = id;
        }
    }
    return best;
}

/*
 * Moves every object of span @src, which is off the partial lists, into
 * room of other spans, and releases @src.  The spans that receive objects
 * are marked in @taken: they are never sources in the same pass, so an
 * object moves at most once per pass.
 */
static void evacuate(CramAlloc *a, unsigned ci, uint32_t src,
                     uint64_t *taken, CramAllocMoved moved, void *opaque)
{
    CramSizeClass *c = &a->cls[ci];
    uint8_t buf[CRAM_PAGE_SIZE];
    unsigned slot;

    for (slot = 0; slot < c->nslots; slot++) {
        uint64_t from = make_handle(ci, src, slot), to;
        uint32_t dst;

        if (!slot_used(span_at(c, src), slot)) {
            continue;
        }
        dst = fullest_with_room(c);
        g_assert(dst != SPAN_NONE);
        bit_set(taken, dst);
        to = make_handle(ci, dst, take_slot(a, c, dst));
        /* The whole slot: the object's own size is the caller's. */
        cram_alloc_read(a, from, buf, c->size);
        cram_alloc_write(a, to, buf, c->size);
        moved(opaque, from, to);
        if (put_slot(a, c, src, slot)) {
            break;
        }
    }
    g_assert(!span_at(c, src)->inuse);
    span_id_put(c, src);
}

uint64_t cram_alloc_compact(CramAlloc *a, CramAllocMoved moved, void *opaque)
{
    uint32_t used0 = a->pages.used;
    unsigned ci;

    for (ci = 0; ci < CRAM_ALLOC_NCLASSES; ci++) {
        CramSizeClass *c = &a->cls[ci];
        uint64_t *taken;

        if (c->direct || a->class_map[ci] != ci || !c->live) {
            continue;
        }
        taken = g_new0(uint64_t, (c->nspans + 63) / 64);
        for (;;) {
            uint32_t src = pick_source(c, taken);
            const CramSpan *sp;

            if (src == SPAN_NONE) {
                break;
            }
            sp = span_at(c, src);
            /* The other spans' room must take all of its objects. */
            if (c->room - sp->room < sp->inuse) {
                break;
            }
            bit_set(taken, src);
            partial_del(c, src);
            evacuate(a, ci, src, taken, moved, opaque);
            if (!c->live) {
                break;          /* cannot happen: objects moved elsewhere */
            }
        }
        g_free(taken);
    }
    g_assert(a->pages.used <= used0);
    return used0 - a->pages.used;
}

void cram_alloc_check(const CramAlloc *a)
{
    uint64_t pages = 0;
    unsigned ci, k, s, g;
    uint32_t id, i;

    for (ci = 0; ci < CRAM_ALLOC_NCLASSES; ci++) {
        const CramSizeClass *c = &a->cls[ci];
        uint64_t objs = 0, room = 0, listed = 0;
        uint32_t live = 0;
        g_autofree uint8_t *is_free = g_new0(uint8_t, c->nspans + 1);

        if (a->class_map[ci] != ci) {
            g_assert(!c->live && !c->objs);
            continue;
        }
        if (c->direct) {
            pages += c->objs;
            continue;
        }
        for (id = c->free_id; id != SPAN_NONE; id = span_at(c, id)->ppos) {
            g_assert(id < c->nspans && !is_free[id]);
            is_free[id] = 1;
        }
        for (id = 0; id < c->nspans; id++) {
            const CramSpan *sp = span_at(c, id);
            const uint32_t *pg = span_page(c, sp);
            unsigned inuse = 0, held = 0, sroom = 0;

            if (is_free[id]) {
                continue;
            }
            live++;
            for (s = 0; s < c->nslots; s++) {
                inuse += slot_used(sp, s);
                sroom += !slot_used(sp, s) && !slot_cost(c, sp, s);
            }
            for (k = 0; k < c->npages; k++) {
                unsigned lo, hi;

                page_slots(c, k, &lo, &hi);
                /* A page is held exactly when an object in use is on it. */
                g_assert((pg[k] != PAGE_NONE) == any_used(sp->map, lo, hi));
                held += pg[k] != PAGE_NONE;
            }
            g_assert(inuse > 0 && inuse == sp->inuse);
            g_assert(held == sp->held && sroom == sp->room);
            g_assert(sp->group == (inuse == c->nslots ? NO_GROUP :
                                   group_of(c, sp)));
            if (sp->group != NO_GROUP) {
                g_assert(plist(c)[sp->ppos] == id);
                g_assert(sp->ppos >= gstart(c, sp->group) &&
                         sp->ppos < c->gend[sp->group]);
            }
            objs += inuse;
            room += sroom;
            pages += held;
        }
        for (g = 0; g < NO_GROUP; g++) {
            g_assert(gstart(c, g) <= c->gend[g]);
        }
        listed = npartial(c);
        for (i = 0; i < listed; i++) {
            g_assert(!is_free[plist(c)[i]]);
        }
        g_assert(c->spans_cap >= MAX(c->nspans, 1));
        g_assert(c->partial_cap >= MAX(listed, 1));
        g_assert(live == c->live && objs == c->objs && room == c->room);
        g_assert(listed <= live);
    }
    g_assert(pages == a->pages.used);
}

#endif /* CRAM_ENGINE_TESTS */

uint64_t cram_alloc_free_slot_bytes(const CramAlloc *a)
{
    uint64_t b = 0;
    unsigned ci;

    for (ci = 0; ci < CRAM_ALLOC_NCLASSES; ci++) {
        b += a->cls[ci].room * a->cls[ci].size;
    }
    return b;
}

void cram_alloc_prefetch(CramAlloc *a, uint64_t handle, size_t size)
{
    CramPieces pc;

    locate(a, handle, size, &pc);
    prefetch_range(pc.p[0], pc.len[0]);
    if (pc.len[1]) {
        prefetch_range(pc.p[1], pc.len[1]);
    }
}

uint64_t cram_alloc_used(const CramAlloc *a)
{
    return (uint64_t)a->pages.used * CRAM_PAGE_SIZE;
}

uint64_t cram_alloc_meta_bytes(const CramAlloc *a)
{
    uint64_t b = cram_heap_cost(sizeof(*a)) +
                 cram_media_pages_bytes(&a->pages);
    unsigned i;

    for (i = 0; i < CRAM_ALLOC_NCLASSES; i++) {
        const CramSizeClass *c = &a->cls[i];

        b += cram_heap_cost((size_t)c->spans_cap * c->stride) +
             cram_heap_cost(c->partial_cap * sizeof(uint32_t));
    }
    return b;
}
