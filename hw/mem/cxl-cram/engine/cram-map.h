/*
 * cxl-cram engine: the capacity as one sparse host mapping, its missing
 * and write-protected pages reported through a userfaultfd
 *
 * Nothing of the mapping is committed until a page is filled, so that an
 * 8 GiB mapping costs page tables only for the pages present.  Another
 * user (a guest, through a RAM memory region over the mapping) reaches
 * present pages at memory speed; touching a missing page, or writing a
 * write-protected one, blocks that thread until the owner of the mapping
 * resolves the fault it reads with cram_map_wait_fault().  The owner
 * itself must only touch pages it knows present (and writable, to write).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef CRAM_MAP_H
#define CRAM_MAP_H

#include "cram-types.h"

typedef struct CramMap CramMap;

/* A fault on page @page; @write: a write, @wp: on a write-protected page */
typedef struct CramFault {
    uint64_t page;
    bool write;
    bool wp;
} CramFault;

/* NULL, with @errp set, when the host cannot map or trap @size bytes */
CramMap *cram_map_new(uint64_t size, GError **errp);
void cram_map_free(CramMap *m);

/* Where page @page lives */
uint8_t *cram_map_page(CramMap *m, uint64_t page);
uint8_t *cram_map_base(CramMap *m);

/*
 * Make missing page @page present with a copy of @src, write-protected
 * unless @writable, and wake whoever waits for it.
 */
void cram_map_fill(CramMap *m, uint64_t page, const void *src,
                   bool writable);
/* Write-protect present page @page, or lift it (waking writers). */
void cram_map_protect(CramMap *m, uint64_t page, bool wp);
/* Make @page missing again: its memory goes back to the host. */
void cram_map_drop(CramMap *m, uint64_t page);
/* Wake whoever waits for @page (it was resolved another way). */
void cram_map_wake(CramMap *m, uint64_t page);

/*
 * The next fault, waiting for one; false once cram_map_stop() was
 * called.  One thread waits at a time.
 */
bool cram_map_wait_fault(CramMap *m, CramFault *f);
void cram_map_stop(CramMap *m);

#endif /* CRAM_MAP_H */
