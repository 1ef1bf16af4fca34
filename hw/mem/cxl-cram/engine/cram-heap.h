/*
 * cxl-cram engine: what a heap allocation costs the host
 *
 * The metadata figures (docs/metadata.md) count host memory as the
 * process pays for it, so every structure adds the malloc overhead of
 * its own allocations, not just their payload.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef CRAM_HEAP_H
#define CRAM_HEAP_H

#include <glib.h>
#include <stdint.h>

/* glibc adds 8 bytes to a malloc, rounds to 16, and gives 32 at least. */
static inline uint64_t cram_heap_cost(size_t size)
{
    return size ? MAX((size + 8 + 15) & ~(size_t)15, 32) : 0;
}

#endif /* CRAM_HEAP_H */
