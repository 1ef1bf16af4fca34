/*
 * cxl-cram engine: media allocator
 *
 * Modelled on Linux mm/zsmalloc.c.  The media is one anonymous mapping cut
 * into 4 KiB media pages.  Object sizes are rounded up to 16-byte steps;
 * each step is served by a size class (neighbouring steps with the same
 * span layout share one) that carves its objects from spans of 1..8 media
 * pages.  A span's pages need not be contiguous, so an object may straddle
 * two media pages; a span takes its pages as its slots first reach them.
 * Free slots are linked through the media itself, keeping host
 * bookkeeping small.  A span that empties returns its pages at once.
 * Classes of one object per page (raw pages) need no span at all: their
 * handle is the media page.
 *
 * media_used counts whole media pages held by spans, so internal waste and
 * partly used spans are included and it can never exceed the media size.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef CRAM_ALLOC_H
#define CRAM_ALLOC_H

#include "cram-engine.h"

#define CRAM_ALLOC_ALIGN        16
#define CRAM_ALLOC_NCLASSES     (CRAM_PAGE_SIZE / CRAM_ALLOC_ALIGN)
#define CRAM_SPAN_MAX_PAGES     8

/*
 * Handle = class << 48 | span id << 16 | slot index (slots per span are
 * at most 2048); for one-object-per-page classes the span id is the media
 * page and the slot 0.
 */
#define CRAM_HANDLE_SLOT_BITS   16
#define CRAM_HANDLE_CLASS_SHIFT 48

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

/* Bytes of free slots in the media pages held: what compaction targets. */
uint64_t cram_alloc_free_slot_bytes(const CramAlloc *a);

/* Starts fetching an object into the CPU caches, for a later read. */
void cram_alloc_prefetch(CramAlloc *a, uint64_t handle, size_t size);

/* Bytes of media held by spans. */
uint64_t cram_alloc_used(const CramAlloc *a);

/* Host memory of the allocator's bookkeeping, media excluded. */
uint64_t cram_alloc_meta_bytes(const CramAlloc *a);

#endif /* CRAM_ALLOC_H */
