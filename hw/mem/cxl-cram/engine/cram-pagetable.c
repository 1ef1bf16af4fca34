/*
 * cxl-cram engine: sparse per-page metadata
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "cram-pagetable.h"

void cram_pt_init(CramPageTable *pt, uint64_t npages)
{
    pt->npages = npages;
    pt->nroot = (npages + (1ULL << CRAM_PT_ROOT_SHIFT) - 1) >>
                CRAM_PT_ROOT_SHIFT;
    pt->root = g_new0(CramPtMid *, pt->nroot);
    pt->held = 0;
    pt->bytes = pt->nroot * sizeof(CramPtMid *);
}

void cram_pt_clear_all(CramPageTable *pt)
{
    uint64_t r;
    unsigned m;

    for (r = 0; r < pt->nroot; r++) {
        CramPtMid *mid = pt->root[r];

        if (!mid) {
            continue;
        }
        for (m = 0; m < CRAM_PT_MID_SIZE; m++) {
            g_free(mid->leaf[m]);
        }
        g_free(mid);
        pt->root[r] = NULL;
    }
    pt->held = 0;
    pt->bytes = pt->nroot * sizeof(CramPtMid *);
}

void cram_pt_destroy(CramPageTable *pt)
{
    cram_pt_clear_all(pt);
    g_free(pt->root);
    pt->root = NULL;
    pt->nroot = 0;
    pt->bytes = 0;
}

void cram_pt_set(CramPageTable *pt, uint64_t idx, uint32_t meta,
                 uint64_t val)
{
    CramPtMid **midp = &pt->root[idx >> CRAM_PT_ROOT_SHIFT];
    unsigned m = (idx >> CRAM_PT_LEAF_BITS) & (CRAM_PT_MID_SIZE - 1);
    unsigned slot = idx & (CRAM_PT_LEAF_SIZE - 1);
    CramPtLeaf *leaf;
    uint32_t old;

    g_assert(idx < pt->npages);
    if (!*midp) {
        if (!meta) {
            return;
        }
        *midp = g_new0(CramPtMid, 1);
        pt->bytes += sizeof(CramPtMid);
    }
    leaf = (*midp)->leaf[m];
    if (!leaf) {
        if (!meta) {
            return;
        }
        leaf = g_new0(CramPtLeaf, 1);
        (*midp)->leaf[m] = leaf;
        (*midp)->used++;
        pt->bytes += sizeof(CramPtLeaf);
    }

    old = leaf->meta[slot];
    leaf->meta[slot] = meta;
    leaf->val[slot] = meta ? val : 0;
    if (!old && meta) {
        leaf->used++;
        pt->held++;
    } else if (old && !meta) {
        leaf->used--;
        pt->held--;
        /* Give the memory back as soon as a node holds nothing. */
        if (!leaf->used) {
            g_free(leaf);
            (*midp)->leaf[m] = NULL;
            pt->bytes -= sizeof(CramPtLeaf);
            if (!--(*midp)->used) {
                g_free(*midp);
                *midp = NULL;
                pt->bytes -= sizeof(CramPtMid);
            }
        }
    }
}
