/*
 * cxl-cram engine: free-list of 4 KiB media pages
 *
 * A bitmap with a summary level and a low-water hint, so a page is found
 * in a bounded number of word scans and the lowest-numbered free page is
 * always handed out first: the touched part of the media stays compact.
 * The bitmaps are zero-allocated, so untouched parts cost no host RSS.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef CRAM_MEDIA_PAGES_H
#define CRAM_MEDIA_PAGES_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct CramMediaPages {
    uint32_t npages;
    uint32_t used;
    uint32_t hint;          /* no free page below this one */
    uint64_t nwords;        /* words in @map */
    uint64_t nsum;          /* words in @full */
    uint64_t *map;          /* bit set: page in use */
    uint64_t *full;         /* bit set: that @map word is all ones */
} CramMediaPages;

void cram_media_pages_init(CramMediaPages *mp, uint32_t npages);
void cram_media_pages_destroy(CramMediaPages *mp);

static inline uint32_t cram_media_pages_free_count(const CramMediaPages *mp)
{
    return mp->npages - mp->used;
}

/* Takes the lowest free page; returns false when none is left. */
bool cram_media_pages_take(CramMediaPages *mp, uint32_t *page);
void cram_media_pages_put(CramMediaPages *mp, uint32_t page);

uint64_t cram_media_pages_bytes(const CramMediaPages *mp);

#endif /* CRAM_MEDIA_PAGES_H */
