/*
 * cxl-cram engine: media allocator
 *
 * Modelled on Linux mm/zsmalloc.c.  The media is one anonymous mapping cut
 * into 4 KiB media pages.  Object sizes are rounded up to 16-byte steps;
 * each step is served by a size class (neighbouring steps with the same
 * span layout share one) that carves its objects from spans of 1..8 media
 * pages.  A span's pages need not be contiguous, so an object may straddle
 * two media pages.  A span holds exactly the media pages that (part of)
 * an object in use lies on: it takes a page when it hands out a slot that
 * reaches it and gives it back as soon as no object in use lies on it,
 * not only when the whole span empties.  Classes of one object per page
 * (raw pages) need no span at all: their handle is the media page.
 *
 * media_used counts those media pages, so slot rounding, span tails and
 * the free slots on pages that still hold an object are included, and it
 * can never exceed the media size.  It depends only on which objects are
 * held where: freeing every object allocated since some moment brings it
 * back to its value at that moment.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef CRAM_ALLOC_H
#define CRAM_ALLOC_H

#include "cram-types.h"

#define CRAM_ALLOC_ALIGN        16
#define CRAM_ALLOC_NCLASSES     (CRAM_PAGE_SIZE / CRAM_ALLOC_ALIGN)
#define CRAM_SPAN_MAX_PAGES     8

/*
 * Handle = class << 40 | span id << 11 | slot index (slots per span are
 * at most 2048); for one-object-per-page classes the span id is the media
 * page and the slot 0.  A class's span ids are fewer than the media pages
 * (every live span holds one, ids are reused), at most 2^28, so a handle
 * fits in 48 bits: the page table keeps it in CRAM_PT_VALUE_BITS.
 */
#define CRAM_HANDLE_SLOT_BITS   11
#define CRAM_HANDLE_CLASS_SHIFT 40
#define CRAM_HANDLE_BITS        48

typedef struct CramAlloc CramAlloc;

/* @media_size is a non-zero multiple of CRAM_PAGE_SIZE. */
CramAlloc *cram_alloc_new(uint64_t media_size, GError **err);
void cram_alloc_free(CramAlloc *a);

/* Frees every object and drops the media's host memory. */
void cram_alloc_reset(CramAlloc *a);

/*
 * Allocates @size (1..CRAM_PAGE_SIZE) bytes.  Returns false, with nothing
 * changed, when no media page is left for a new span.
 */
bool cram_alloc_obj(CramAlloc *a, size_t size, uint64_t *handle);
void cram_alloc_free_obj(CramAlloc *a, uint64_t handle);

/*
 * Allocates @size bytes in slot @slot of a given span, for an import that
 * rebuilds a store as it was: @span is the handle of an object in that
 * span (only its span is used), or CRAM_ALLOC_NEW_SPAN to open one.
 * Objects of whole pages ignore @span, take the lowest free page and have
 * only slot 0.  Returns 0, or with nothing changed: -EINVAL when the slot
 * is beyond the span (see cram_alloc_span_slots()), -EXDEV when @span is
 * not a span of @size's class in use, -EEXIST when the slot is used,
 * -ENOSPC when it needs a media page that is not free.
 */
#define CRAM_ALLOC_NEW_SPAN UINT64_MAX
int cram_alloc_obj_at(CramAlloc *a, size_t size, uint64_t span,
                      unsigned slot, uint64_t *handle);

/* Slots in a span of @size's class (1 for objects of whole pages). */
unsigned cram_alloc_span_slots(const CramAlloc *a, size_t size);

/* True when an object of @new_size can reuse the slot of @old_size. */
bool cram_alloc_same_class(const CramAlloc *a, size_t old_size,
                           size_t new_size);

void cram_alloc_write(CramAlloc *a, uint64_t handle, const void *src,
                      size_t size);
void cram_alloc_read(CramAlloc *a, uint64_t handle, void *dst, size_t size);

/*
 * Returns a pointer to the object's @size bytes: directly into the media
 * when it lies in one media page, else a copy in @bounce (CRAM_PAGE_SIZE).
 */
const void *cram_alloc_map(CramAlloc *a, uint64_t handle, size_t size,
                           void *bounce);

/* Bytes of free slots in the media pages held: what compaction targets. */
uint64_t cram_alloc_free_slot_bytes(const CramAlloc *a);

#ifdef CRAM_ENGINE_TESTS     /* the stand-alone build's tests only */
/*
 * Compaction.  @moved is called for every object moved: whoever keeps
 * @old_handle must use @new_handle from now on (the handles of a class
 * change, never the object's size or class).
 */
typedef void (*CramAllocMoved)(void *opaque, uint64_t old_handle,
                               uint64_t new_handle);

/*
 * Moves the objects of the sparsest spans of each class into free slots
 * of its other spans, as long as that empties a span, without taking any
 * media page.  Returns the media pages given back.
 */
uint64_t cram_alloc_compact(CramAlloc *a, CramAllocMoved moved, void *opaque);

/*
 * Asserts the allocator's invariants: every span holds exactly the media
 * pages that an object in use lies on, and its counts match its bitmap.
 * O(spans x slots), for tests.
 */
void cram_alloc_check(const CramAlloc *a);
#endif

/* Starts fetching an object into the CPU caches, for a later read. */
void cram_alloc_prefetch(CramAlloc *a, uint64_t handle, size_t size);

/* Bytes of media held by spans. */
uint64_t cram_alloc_used(const CramAlloc *a);

/* Host memory of the allocator's bookkeeping, media excluded. */
uint64_t cram_alloc_meta_bytes(const CramAlloc *a);

#endif /* CRAM_ALLOC_H */
