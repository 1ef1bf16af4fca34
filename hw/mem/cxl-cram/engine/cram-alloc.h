/*
 * cxl-cram engine: media allocator
 *
 * Modelled on Linux mm/zsmalloc.c.  The media is one anonymous mapping cut
 * into 4 KiB media pages.  Object sizes are rounded up to 16-byte steps;
 * each step is served by a size class (neighbouring steps with the same
 * span layout share one) that carves its objects from spans of 1..4 media
 * pages.  A span's pages need not be contiguous, so an object may straddle
 * two media pages.  Free slots are linked through the media itself, keeping
 * host bookkeeping small.  A span that empties returns its pages at once.
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
#define CRAM_SPAN_MAX_PAGES     4

/* Handle = span id << 16 | slot index; slots per span are at most 1024. */
#define CRAM_HANDLE_SLOT_BITS   16

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

/* Bytes of media held by spans. */
uint64_t cram_alloc_used(const CramAlloc *a);

/* Host memory of the allocator's bookkeeping, media excluded. */
uint64_t cram_alloc_meta_bytes(const CramAlloc *a);

#endif /* CRAM_ALLOC_H */
