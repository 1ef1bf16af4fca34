/*
 * cxl-cram engine: free-list of 4 KiB media pages
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "cram-heap.h"
#include "cram-media-pages.h"

#define ALL_ONES UINT64_MAX

static void mark_word_full(CramMediaPages *mp, uint64_t w)
{
    mp->full[w >> 6] |= 1ULL << (w & 63);
}

void cram_media_pages_init(CramMediaPages *mp, uint32_t npages)
{
    uint64_t w;

    mp->npages = npages;
    mp->used = 0;
    mp->hint = 0;
    mp->nwords = ((uint64_t)npages + 63) / 64;
    mp->nsum = (mp->nwords + 63) / 64;
    mp->map = g_new0(uint64_t, mp->nwords);
    mp->full = g_new0(uint64_t, mp->nsum);

    /* Bits past the last page read as used so the search never hits them. */
    if (npages & 63) {
        mp->map[mp->nwords - 1] = ALL_ONES << (npages & 63);
    }
    for (w = mp->nwords; w < mp->nsum * 64; w++) {
        mark_word_full(mp, w);
    }
}

void cram_media_pages_destroy(CramMediaPages *mp)
{
    g_free(mp->map);
    g_free(mp->full);
    mp->map = NULL;
    mp->full = NULL;
}

bool cram_media_pages_take(CramMediaPages *mp, uint32_t *page)
{
    uint64_t w = mp->hint >> 6;
    uint64_t s = w >> 6;
    uint64_t busy;
    unsigned bit;

    if (mp->used == mp->npages) {
        return false;
    }
    /* Words below the hint's are known full; skip them in the summary. */
    busy = mp->full[s] | ((1ULL << (w & 63)) - 1);
    while (busy == ALL_ONES) {
        s++;
        g_assert(s < mp->nsum);
        busy = mp->full[s];
    }
    w = s * 64 + __builtin_ctzll(~busy);
    bit = __builtin_ctzll(~mp->map[w]);

    mp->map[w] |= 1ULL << bit;
    if (mp->map[w] == ALL_ONES) {
        mark_word_full(mp, w);
    }
    mp->used++;
    *page = w * 64 + bit;
    mp->hint = *page + 1;
    return true;
}

void cram_media_pages_put(CramMediaPages *mp, uint32_t page)
{
    uint64_t w = page >> 6;
    uint64_t bit = 1ULL << (page & 63);

    g_assert(page < mp->npages && (mp->map[w] & bit));
    mp->map[w] &= ~bit;
    mp->full[w >> 6] &= ~(1ULL << (w & 63));
    mp->used--;
    if (page < mp->hint) {
        mp->hint = page;
    }
}

uint64_t cram_media_pages_bytes(const CramMediaPages *mp)
{
    return cram_heap_cost(mp->nwords * sizeof(uint64_t)) +
           cram_heap_cost(mp->nsum * sizeof(uint64_t));
}
