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

/*
 * Host side of a span; 32 bytes.  Slots below @bump have been handed out
 * at least once; freed ones are chained from @free_head through their
 * first two bytes in media, so a new span needs no initialisation.
 */
typedef struct CramSpan {
    uint32_t page[CRAM_SPAN_MAX_PAGES];
    uint32_t prev, next;        /* partial list; @next also chains free ids */
    uint16_t inuse;
    uint16_t free_head;
    uint16_t bump;
    uint8_t cls;
} CramSpan;

G_STATIC_ASSERT(sizeof(CramSpan) == 32);
/* Every slot index, and SLOT_NONE, fits in a span's 16-bit fields. */
G_STATIC_ASSERT(CRAM_SPAN_MAX_PAGES * CRAM_PAGE_SIZE / CRAM_ALLOC_ALIGN <
                SLOT_NONE);

typedef struct CramSizeClass {
    uint32_t size;              /* slot bytes */
    uint16_t nslots;            /* per span */
    uint8_t npages;             /* media pages per span */
    uint32_t partial;           /* spans with a free slot */
} CramSizeClass;

struct CramAlloc {
    uint8_t *media;
    uint64_t media_size;
    CramMediaPages pages;
    CramSpan *spans;
    uint32_t nspans;            /* ids ever handed out */
    uint32_t spans_cap;
    uint32_t free_span;         /* recycled ids */
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
        c->size = size;
        c->npages = best_k;
        c->nslots = best_k * CRAM_PAGE_SIZE / size;
        c->partial = SPAN_NONE;

        if (i == CRAM_ALLOC_NCLASSES - 1 ||
            c->npages != a->cls[leader].npages ||
            c->nslots != a->cls[leader].nslots) {
            leader = i;
        }
        a->class_map[i] = leader;
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
    a->free_span = SPAN_NONE;
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
    g_free(a->spans);
    g_free(a);
}

void cram_alloc_reset(CramAlloc *a)
{
    unsigned i;

    /* One call for the whole media is cheap, unlike one per freed span. */
    madvise(a->media, a->media_size, MADV_DONTNEED);
    cram_media_pages_destroy(&a->pages);
    cram_media_pages_init(&a->pages, a->media_size / CRAM_PAGE_SIZE);
    g_free(a->spans);
    a->spans = NULL;
    a->nspans = 0;
    a->spans_cap = 0;
    a->free_span = SPAN_NONE;
    for (i = 0; i < CRAM_ALLOC_NCLASSES; i++) {
        a->cls[i].partial = SPAN_NONE;
    }
}

static uint32_t span_id_get(CramAlloc *a)
{
    uint32_t id = a->free_span;

    if (id != SPAN_NONE) {
        a->free_span = a->spans[id].next;
        return id;
    }
    if (a->nspans == a->spans_cap) {
        /* Amortised growth: the store path does not allocate per call. */
        a->spans_cap = MAX(a->spans_cap * 2, 64u);
        a->spans = g_renew(CramSpan, a->spans, a->spans_cap);
    }
    return a->nspans++;
}

static void span_id_put(CramAlloc *a, uint32_t id)
{
    a->spans[id].next = a->free_span;
    a->free_span = id;
}

static void partial_add(CramAlloc *a, CramSizeClass *c, uint32_t id)
{
    CramSpan *sp = &a->spans[id];

    sp->prev = SPAN_NONE;
    sp->next = c->partial;
    if (c->partial != SPAN_NONE) {
        a->spans[c->partial].prev = id;
    }
    c->partial = id;
}

static void partial_del(CramAlloc *a, CramSizeClass *c, uint32_t id)
{
    CramSpan *sp = &a->spans[id];

    if (sp->prev != SPAN_NONE) {
        a->spans[sp->prev].next = sp->next;
    } else {
        c->partial = sp->next;
    }
    if (sp->next != SPAN_NONE) {
        a->spans[sp->next].prev = sp->prev;
    }
}

/* Needs the caller to have checked that enough media pages are free. */
static uint32_t span_new(CramAlloc *a, unsigned ci)
{
    CramSizeClass *c = &a->cls[ci];
    uint32_t id = span_id_get(a);
    CramSpan *sp = &a->spans[id];
    unsigned k;

    for (k = 0; k < c->npages; k++) {
        if (!cram_media_pages_take(&a->pages, &sp->page[k])) {
            g_assert_not_reached();
        }
    }
    for (; k < CRAM_SPAN_MAX_PAGES; k++) {
        sp->page[k] = UINT32_MAX;
    }
    sp->inuse = 0;
    sp->free_head = SLOT_NONE;
    sp->bump = 0;
    sp->cls = ci;
    partial_add(a, c, id);
    return id;
}

static void span_release(CramAlloc *a, uint32_t id)
{
    CramSpan *sp = &a->spans[id];
    unsigned k;

    for (k = 0; k < a->cls[sp->cls].npages; k++) {
        cram_media_pages_put(&a->pages, sp->page[k]);
    }
    span_id_put(a, id);
}

static inline uint8_t *media_page(CramAlloc *a, uint32_t page)
{
    return a->media + ((uint64_t)page << CRAM_PAGE_SHIFT);
}

/*
 * Where a slot's bytes lie: one or two pieces.  Slot offsets are multiples
 * of 16, so a slot's first 16 bytes never straddle.
 */
typedef struct CramPieces {
    uint8_t *p[2];
    size_t len[2];
} CramPieces;

static inline CramSpan *handle_span(CramAlloc *a, uint64_t handle,
                                    unsigned *slot)
{
    uint64_t id = handle >> CRAM_HANDLE_SLOT_BITS;
    CramSpan *sp;

    g_assert(id < a->nspans);
    sp = &a->spans[id];
    *slot = handle & SLOT_MASK;
    g_assert(*slot < sp->bump);
    return sp;
}

static inline uint8_t *slot_start(CramAlloc *a, CramSpan *sp, unsigned slot)
{
    uint32_t off = slot * a->cls[sp->cls].size;

    return media_page(a, sp->page[off >> CRAM_PAGE_SHIFT]) +
           (off & (CRAM_PAGE_SIZE - 1));
}

static void locate(CramAlloc *a, uint64_t handle, size_t size,
                   CramPieces *pc)
{
    unsigned slot;
    CramSpan *sp = handle_span(a, handle, &slot);
    uint32_t off = slot * a->cls[sp->cls].size;
    uint32_t in_page = off & (CRAM_PAGE_SIZE - 1);
    unsigned pi = off >> CRAM_PAGE_SHIFT;

    g_assert(size <= a->cls[sp->cls].size);
    pc->p[0] = media_page(a, sp->page[pi]) + in_page;
    if (in_page + size <= CRAM_PAGE_SIZE) {
        pc->len[0] = size;
        pc->p[1] = NULL;
        pc->len[1] = 0;
    } else {
        pc->len[0] = CRAM_PAGE_SIZE - in_page;
        pc->p[1] = media_page(a, sp->page[pi + 1]);
        pc->len[1] = size - pc->len[0];
    }
}

bool cram_alloc_obj(CramAlloc *a, size_t size, uint64_t *handle)
{
    unsigned ci, slot;
    CramSizeClass *c;
    CramSpan *sp;
    uint32_t id;

    g_assert(size > 0 && size <= CRAM_PAGE_SIZE);
    ci = class_of(a, size);
    c = &a->cls[ci];
    id = c->partial;
    if (id == SPAN_NONE) {
        if (cram_media_pages_free_count(&a->pages) < c->npages) {
            return false;
        }
        id = span_new(a, ci);
    }

    sp = &a->spans[id];
    if (sp->free_head != SLOT_NONE) {
        uint16_t next;

        slot = sp->free_head;
        memcpy(&next, slot_start(a, sp, slot), sizeof(next));
        sp->free_head = next;
    } else {
        slot = sp->bump++;
    }
    if (++sp->inuse == c->nslots) {
        partial_del(a, c, id);
    }
    *handle = ((uint64_t)id << CRAM_HANDLE_SLOT_BITS) | slot;
    return true;
}

void cram_alloc_free_obj(CramAlloc *a, uint64_t handle)
{
    unsigned slot;
    CramSpan *sp = handle_span(a, handle, &slot);
    uint32_t id = handle >> CRAM_HANDLE_SLOT_BITS;
    CramSizeClass *c = &a->cls[sp->cls];
    uint16_t next = sp->free_head;

    g_assert(sp->inuse > 0);
    if (sp->inuse == c->nslots) {
        partial_add(a, c, id);
    }
    if (--sp->inuse == 0) {
        partial_del(a, c, id);
        span_release(a, id);
        return;
    }
    memcpy(slot_start(a, sp, slot), &next, sizeof(next));
    sp->free_head = slot;
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

const void *cram_alloc_map(CramAlloc *a, uint64_t handle, size_t size,
                           void *bounce)
{
    CramPieces pc;

    locate(a, handle, size, &pc);
    if (!pc.len[1]) {
        return pc.p[0];
    }
    memcpy(bounce, pc.p[0], pc.len[0]);
    memcpy((uint8_t *)bounce + pc.len[0], pc.p[1], pc.len[1]);
    return bounce;
}

uint64_t cram_alloc_used(const CramAlloc *a)
{
    return (uint64_t)a->pages.used * CRAM_PAGE_SIZE;
}

uint64_t cram_alloc_meta_bytes(const CramAlloc *a)
{
    return sizeof(*a) + cram_media_pages_bytes(&a->pages) +
           (uint64_t)a->spans_cap * sizeof(CramSpan);
}
