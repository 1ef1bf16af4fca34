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
#include "cram-media-pages.h"

#define SPAN_NONE   UINT32_MAX
#define SLOT_NONE   UINT16_MAX
#define SLOT_MASK   ((1u << CRAM_HANDLE_SLOT_BITS) - 1)
#define ID_MASK     ((1ull << (CRAM_HANDLE_CLASS_SHIFT - \
                               CRAM_HANDLE_SLOT_BITS)) - 1)

/*
 * Host side of a span: 12 bytes plus 4 per media page of its class.
 * Slots below @bump have been handed out at least once; freed ones are
 * chained from @free_head through their first two bytes in media, so a
 * new span needs no initialisation.  Media pages are taken as the bump
 * pointer reaches them: a span that is still filling holds no page it
 * does not use, which keeps the partly filled span of each class cheap.
 */
typedef struct CramSpan {
    uint32_t ppos;              /* index in its partial group; or free link */
    uint16_t inuse;
    uint16_t free_head;
    uint16_t bump;
    uint8_t held;               /* media pages taken, page[0..held) */
    uint8_t group;              /* fullness group; NGROUPS when full */
    uint32_t page[];            /* the class's npages entries */
} CramSpan;

G_STATIC_ASSERT(sizeof(CramSpan) == 12);
/* Every slot index, and SLOT_NONE, fits in a span's 16-bit fields. */
G_STATIC_ASSERT(CRAM_SPAN_MAX_PAGES * CRAM_PAGE_SIZE / CRAM_ALLOC_ALIGN <
                SLOT_NONE);
G_STATIC_ASSERT(CRAM_SPAN_MAX_PAGES <= UINT8_MAX);

/*
 * Spans with a free slot are listed by fullness, in NGROUPS groups of
 * equal width, and allocation takes from the fullest: as in zsmalloc,
 * sparse spans then get no new objects, drain and give their pages back,
 * which keeps fragmentation low under churn.
 */
#define NGROUPS 4

/*
 * Each class keeps its spans in its own array of fixed-size descriptors,
 * so a span costs 4 bytes per page it can hold and 12 more; the partial
 * groups are arrays of span ids (each span knows its place, for O(1)
 * removal).  A "direct" class holds one object per media page: the handle
 * names the page itself and no descriptor exists.
 */
typedef struct CramSizeClass {
    uint32_t size;              /* slot bytes */
    uint16_t nslots;            /* per span */
    uint8_t npages;             /* media pages per span */
    bool direct;                /* one slot per page: no span descriptor */
    uint32_t stride;            /* descriptor bytes */
    uint32_t nspans;            /* ids handed out */
    uint32_t live;              /* ids in use */
    uint64_t objs;              /* objects held */
    uint64_t room;              /* slots in the pages held, used or not */
    uint32_t spans_cap;
    uint32_t free_id;           /* recycled ids, chained through ppos */
    uint8_t *spans;
    uint32_t *partial[NGROUPS];
    uint32_t npartial[NGROUPS];
    uint32_t partial_cap[NGROUPS];
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
        c->stride = sizeof(CramSpan) + best_k * sizeof(uint32_t);
        c->free_id = SPAN_NONE;

        if (i == CRAM_ALLOC_NCLASSES - 1 ||
            c->npages != a->cls[leader].npages ||
            c->nslots != a->cls[leader].nslots) {
            leader = i;
        }
        a->class_map[i] = leader;
    }
}

static void class_drop_arrays(CramSizeClass *c)
{
    unsigned g;

    g_free(c->spans);
    c->spans = NULL;
    c->nspans = c->live = c->spans_cap = 0;
    c->objs = c->room = 0;
    c->free_id = SPAN_NONE;
    for (g = 0; g < NGROUPS; g++) {
        g_free(c->partial[g]);
        c->partial[g] = NULL;
        c->npartial[g] = c->partial_cap[g] = 0;
    }
}

static void free_classes(CramAlloc *a)
{
    unsigned i;

    for (i = 0; i < CRAM_ALLOC_NCLASSES; i++) {
        class_drop_arrays(&a->cls[i]);
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

static uint32_t span_id_get(CramSizeClass *c)
{
    uint32_t id = c->free_id;

    c->live++;
    if (id != SPAN_NONE) {
        c->free_id = span_at(c, id)->ppos;
        return id;
    }
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
        class_drop_arrays(c);
        return;
    }
    span_at(c, id)->ppos = c->free_id;
    c->free_id = id;
}

/* Fullness group of a span with @inuse (< nslots) objects. */
static inline unsigned group_of(const CramSizeClass *c, unsigned inuse)
{
    return inuse * NGROUPS / c->nslots;
}

static void partial_add(CramSizeClass *c, uint32_t id)
{
    CramSpan *sp = span_at(c, id);
    unsigned g = group_of(c, sp->inuse);

    if (c->npartial[g] == c->partial_cap[g]) {
        c->partial_cap[g] = grow_cap(c->partial_cap[g]);
        c->partial[g] = g_renew(uint32_t, c->partial[g], c->partial_cap[g]);
    }
    sp->group = g;
    sp->ppos = c->npartial[g];
    c->partial[g][c->npartial[g]++] = id;
}

static void partial_del(CramSizeClass *c, uint32_t id)
{
    CramSpan *sp = span_at(c, id);
    unsigned g = sp->group;
    uint32_t pos = sp->ppos;
    uint32_t last = c->partial[g][--c->npartial[g]];

    /* Move the last entry into the hole. */
    c->partial[g][pos] = last;
    span_at(c, last)->ppos = pos;
    sp->group = NGROUPS;
}

/* After @sp's inuse changed (and is neither 0 nor nslots). */
static void partial_regroup(CramSizeClass *c, uint32_t id)
{
    CramSpan *sp = span_at(c, id);

    if (sp->group != group_of(c, sp->inuse)) {
        partial_del(c, id);
        partial_add(c, id);
    }
}

static inline uint8_t *media_page(CramAlloc *a, uint32_t page)
{
    return a->media + ((uint64_t)page << CRAM_PAGE_SHIFT);
}

/* Media pages a span must hold for its slots [0, @nslots) to exist. */
static inline unsigned pages_for(const CramSizeClass *c, unsigned nslots)
{
    return (nslots * c->size + CRAM_PAGE_SIZE - 1) >> CRAM_PAGE_SHIFT;
}

/* Slots that lie wholly in the pages @sp holds. */
static inline unsigned span_room(const CramSizeClass *c, const CramSpan *sp)
{
    return MIN(c->nslots, sp->held * CRAM_PAGE_SIZE / c->size);
}

static void span_take_pages(CramAlloc *a, CramSizeClass *c, CramSpan *sp,
                            unsigned upto)
{
    c->room -= span_room(c, sp);
    for (; sp->held < upto; sp->held++) {
        if (!cram_media_pages_take(&a->pages, &sp->page[sp->held])) {
            g_assert_not_reached();
        }
    }
    c->room += span_room(c, sp);
}

/* Needs the caller to have checked that a media page is free. */
static uint32_t span_new(CramAlloc *a, CramSizeClass *c)
{
    uint32_t id = span_id_get(c);
    CramSpan *sp = span_at(c, id);

    sp->inuse = 0;
    sp->free_head = SLOT_NONE;
    sp->bump = 0;
    sp->held = 0;
    span_take_pages(a, c, sp, 1);
    partial_add(c, id);
    return id;
}

static void span_release(CramAlloc *a, CramSizeClass *c, uint32_t id)
{
    CramSpan *sp = span_at(c, id);
    unsigned k;

    for (k = 0; k < sp->held; k++) {
        cram_media_pages_put(&a->pages, sp->page[k]);
    }
    c->room -= span_room(c, sp);
    span_id_put(c, id);
}

/* Media pages a slot allocation from @sp would have to take. */
static inline unsigned slot_cost(const CramSizeClass *c, const CramSpan *sp)
{
    if (sp->free_head != SLOT_NONE) {
        return 0;
    }
    return pages_for(c, sp->bump + 1) - sp->held;
}

/*
 * The span to allocate from: the last listed of the fullest group, unless
 * it needs media pages that are not there; then any span with a free slot
 * in the pages it holds.  SPAN_NONE when no partial span can serve.
 */
static uint32_t pick_span(CramAlloc *a, CramSizeClass *c)
{
    uint32_t free_pages = cram_media_pages_free_count(&a->pages);
    uint32_t i, id;
    int g;

    for (g = NGROUPS - 1; g >= 0; g--) {
        if (c->npartial[g]) {
            break;
        }
    }
    if (g < 0) {
        return SPAN_NONE;
    }
    id = c->partial[g][c->npartial[g] - 1];
    if (slot_cost(c, span_at(c, id)) <= free_pages) {
        return id;
    }
    /* Rare: the media is (nearly) full. */
    for (g = NGROUPS - 1; g >= 0; g--) {
        for (i = 0; i < c->npartial[g]; i++) {
            id = c->partial[g][i];
            if (span_at(c, id)->free_head != SLOT_NONE) {
                return id;
            }
        }
    }
    return SPAN_NONE;
}

static inline uint8_t *slot_start(CramAlloc *a, const CramSizeClass *c,
                                  const CramSpan *sp, unsigned slot)
{
    uint32_t off = slot * c->size;

    return media_page(a, sp->page[off >> CRAM_PAGE_SHIFT]) +
           (off & (CRAM_PAGE_SIZE - 1));
}

/* Takes a slot of partial span @id, and the pages it needs. */
static unsigned take_slot(CramAlloc *a, CramSizeClass *c, uint32_t id)
{
    CramSpan *sp = span_at(c, id);
    unsigned slot;

    if (sp->free_head != SLOT_NONE) {
        uint16_t next;

        slot = sp->free_head;
        memcpy(&next, slot_start(a, c, sp, slot), sizeof(next));
        sp->free_head = next;
    } else {
        slot = sp->bump++;
        span_take_pages(a, c, sp, pages_for(c, sp->bump));
    }
    c->objs++;
    if (++sp->inuse == c->nslots) {
        partial_del(c, id);
    } else {
        partial_regroup(c, id);
    }
    return slot;
}

bool cram_alloc_obj(CramAlloc *a, size_t size, uint64_t *handle)
{
    unsigned ci, slot;
    CramSizeClass *c;
    uint32_t id;

    g_assert(size > 0 && size <= CRAM_PAGE_SIZE);
    ci = class_of(a, size);
    c = &a->cls[ci];
    if (c->direct) {
        uint32_t page;

        if (!cram_media_pages_take(&a->pages, &page)) {
            return false;
        }
        *handle = make_handle(ci, page, 0);
        return true;
    }

    id = pick_span(a, c);
    if (id == SPAN_NONE) {
        if (!cram_media_pages_free_count(&a->pages)) {
            return false;
        }
        id = span_new(a, c);
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
    unsigned slot = handle & SLOT_MASK;
    uint16_t next;
    CramSpan *sp;

    if (c->direct) {
        cram_media_pages_put(&a->pages, id);
        return;
    }
    g_assert(id < c->nspans);
    sp = span_at(c, id);
    g_assert(slot < sp->bump && sp->inuse > 0);
    c->objs--;
    if (--sp->inuse == 0) {
        if (sp->group < NGROUPS) {
            partial_del(c, id);
        }
        span_release(a, c, id);
        return;
    }
    if (sp->group == NGROUPS) {
        partial_add(c, id);         /* it was full */
    } else {
        partial_regroup(c, id);
    }
    next = sp->free_head;
    memcpy(slot_start(a, c, sp, slot), &next, sizeof(next));
    sp->free_head = slot;
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
    g_assert(slot < sp->bump);
    off = slot * c->size;
    in_page = off & (CRAM_PAGE_SIZE - 1);
    pi = off >> CRAM_PAGE_SHIFT;
    pc->p[0] = media_page(a, sp->page[pi]) + in_page;
    if (in_page + size > CRAM_PAGE_SIZE) {
        pc->len[0] = CRAM_PAGE_SIZE - in_page;
        pc->p[1] = media_page(a, sp->page[pi + 1]);
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
    unsigned g;

    for (g = 0; g < NGROUPS && best == SPAN_NONE; g++) {
        for (i = 0; i < c->npartial[g]; i++) {
            uint32_t id = c->partial[g][i];

            if (!bit_test(taken, id) &&
                (best == SPAN_NONE ||
                 span_at(c, id)->inuse < span_at(c, best)->inuse)) {
                best = id;
            }
        }
    }
    return best;
}

/* The fullest partial span with a free slot in the pages it holds. */
static uint32_t pick_dest(const CramSizeClass *c)
{
    uint32_t i;
    int g;

    for (g = NGROUPS - 1; g >= 0; g--) {
        for (i = c->npartial[g]; i-- > 0;) {
            const CramSpan *sp = span_at(c, c->partial[g][i]);

            if (span_room(c, sp) > sp->inuse) {
                return c->partial[g][i];
            }
        }
    }
    return SPAN_NONE;
}

/*
 * Moves every object of span @src, which is off the partial lists.  The
 * spans that receive objects are marked in @taken: they are never sources
 * in the same pass, so an object moves at most once per pass.
 */
static void evacuate(CramAlloc *a, unsigned ci, uint32_t src,
                     uint64_t *taken, CramAllocMoved moved, void *opaque)
{
    enum { MAX_SLOTS = CRAM_SPAN_MAX_PAGES * CRAM_PAGE_SIZE /
                       CRAM_ALLOC_ALIGN };
    CramSizeClass *c = &a->cls[ci];
    uint64_t is_free[MAX_SLOTS / 64] = { 0 };
    uint8_t buf[CRAM_PAGE_SIZE];
    CramSpan *sp = span_at(c, src);
    unsigned slot;
    uint16_t f;

    for (f = sp->free_head; f != SLOT_NONE;) {
        is_free[f / 64] |= 1ull << (f % 64);
        memcpy(&f, slot_start(a, c, sp, f), sizeof(f));
    }
    for (slot = 0; slot < sp->bump; slot++) {
        uint64_t from = make_handle(ci, src, slot), to;
        uint32_t dst;

        if (is_free[slot / 64] & (1ull << (slot % 64))) {
            continue;
        }
        dst = pick_dest(c);
        g_assert(dst != SPAN_NONE);
        bit_set(taken, dst);
        to = make_handle(ci, dst, take_slot(a, c, dst));
        /* The whole slot: the object's own size is the caller's. */
        cram_alloc_read(a, from, buf, c->size);
        cram_alloc_write(a, to, buf, c->size);
        moved(opaque, from, to);
        sp = span_at(c, src);
        sp->inuse--;
        c->objs--;
    }
    g_assert(sp->inuse == 0);
}

uint64_t cram_alloc_compact(CramAlloc *a, CramAllocMoved moved, void *opaque)
{
    uint64_t freed = 0;
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
            /* The other spans' free slots must take all of its objects. */
            if (c->room - c->objs - (span_room(c, sp) - sp->inuse) <
                sp->inuse) {
                break;
            }
            freed += sp->held;
            partial_del(c, src);
            evacuate(a, ci, src, taken, moved, opaque);
            span_release(a, c, src);
        }
        g_free(taken);
    }
    return freed;
}

uint64_t cram_alloc_free_slot_bytes(const CramAlloc *a)
{
    uint64_t b = 0;
    unsigned ci;

    for (ci = 0; ci < CRAM_ALLOC_NCLASSES; ci++) {
        b += (a->cls[ci].room - a->cls[ci].objs) * a->cls[ci].size;
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
    uint64_t b = sizeof(*a) + cram_media_pages_bytes(&a->pages);
    unsigned i;

    for (i = 0; i < CRAM_ALLOC_NCLASSES; i++) {
        const CramSizeClass *c = &a->cls[i];

        unsigned g;

        b += (uint64_t)c->spans_cap * c->stride;
        for (g = 0; g < NGROUPS; g++) {
            b += (uint64_t)c->partial_cap[g] * sizeof(uint32_t);
        }
    }
    return b;
}
