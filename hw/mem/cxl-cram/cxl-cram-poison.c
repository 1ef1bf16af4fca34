/*
 * cxl-cram poison: the CXL poison list, event records, and the mailbox
 * commands that read and change poison
 *
 * Poison granularity is the page: a dropped write, or an injection,
 * poisons a whole 4 KiB page.  The engine's page state is the one record
 * of it: a poisoned page's entry keeps its source (the CXL poison type)
 * in the value it does not otherwise use, so poison costs no host memory
 * beyond that entry and an ordered set of the poisoned 64-page regions.
 * Get Poison List derives its records from those pages, runs of
 * consecutive pages of one source coalesced into one record, found in
 * address order at a cost that follows what it returns.
 *
 * cxl-type3's own poison list (ct3d->poison_list) is left to what QMP's
 * cxl-inject-poison, which is cxl-type3's code, puts there: host records
 * that poison no data.  Get Poison List reports them too, merged in
 * address order; discards and Clear Poison take them out as before.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "qemu/range.h"
#include "qemu/uuid.h"
#include "hw/cxl/cxl.h"
#include "hw/cxl/cxl_mailbox.h"
#include "hw/cxl/cxl_events.h"
#include "cxl-cram.h"
#include "trace.h"


/* Remove [start, start + len) from every record, splitting as needed. */
static void cxl_cram_poison_list_remove(CXLType3Dev *ct3d, uint64_t start,
                                        uint64_t len)
{
    uint64_t end = start + len;
    CXLPoison *p, *next;

    QLIST_FOREACH_SAFE(p, &ct3d->poison_list, node, next) {
        uint64_t p_end = p->start + p->length;

        if (!ranges_overlap(p->start, p->length, start, len)) {
            continue;
        }
        if (p->start < start && p_end > end) {
            CXLPoison *tail = g_new0(CXLPoison, 1);

            tail->start = end;
            tail->length = p_end - end;
            tail->type = p->type;
            QLIST_INSERT_AFTER(p, tail, node);
            ct3d->poison_list_cnt++;
            p->length = start - p->start;
        } else if (p->start < start) {
            p->length = start - p->start;
        } else if (p_end > end) {
            p->start = end;
            p->length = p_end - end;
        } else {
            QLIST_REMOVE(p, node);
            g_free(p);
            ct3d->poison_list_cnt--;
        }
    }
}

/* CXL r3.1 Table 8-45: General Media Event Record */
static const QemuUUID cxl_cram_gen_media_uuid = {
    .data = UUID(0xfbcd0a77, 0xc260, 0x417f,
                 0x85, 0xa9, 0x08, 0x8b, 0x16, 0x21, 0xeb, 0xa6),
};

#define CXL_CRAM_GEM_SEVERITY_FAILURE   2
#define CXL_CRAM_GEM_DPA_VOLATILE       0x1
#define CXL_CRAM_GEM_UNCORRECTABLE      0x1
#define CXL_CRAM_GEM_DATA_PATH_ERROR    0x2
#define CXL_CRAM_GEM_HOST_WRITE         0x2

/* Failure log: a write to @page was dropped and the page is poisoned. */
static void cxl_cram_event_dropped(CXLCramDev *cram, uint64_t page)
{
    CXLType3Dev *ct3d = CXL_TYPE3(cram);
    CXLEventGenMedia gem = { 0 };

    st24_le_p(&gem.hdr.flags, CXL_CRAM_GEM_SEVERITY_FAILURE);
    gem.hdr.length = sizeof(gem);
    memcpy(&gem.hdr.id, &cxl_cram_gen_media_uuid, sizeof(gem.hdr.id));
    stq_le_p(&gem.hdr.timestamp,
             cxl_device_get_timestamp(&ct3d->cxl_dstate));
    stq_le_p(&gem.phys_addr,
             (page << CRAM_PAGE_SHIFT) | CXL_CRAM_GEM_DPA_VOLATILE);
    gem.descriptor = CXL_CRAM_GEM_UNCORRECTABLE;
    gem.type = CXL_CRAM_GEM_DATA_PATH_ERROR;
    gem.transaction_type = CXL_CRAM_GEM_HOST_WRITE;
    if (cxl_event_insert(&ct3d->cxl_dstate, CXL_EVENT_TYPE_FAIL,
                         (CXLEventRecordRaw *)&gem)) {
        cxl_event_irq_assert(ct3d);
    }
}

/* Poison @page: content gone, recorded, reads take poison from now on. */
void cxl_cram_poison_page(CXLCramDev *cram, uint64_t page, uint8_t type)
{
    cram_store_poison(cram->store, page, type);
    if (type == CXL_POISON_TYPE_INTERNAL) {
        cxl_cram_event_dropped(cram, page);
    }
}

/* A store found no media: the write is lost and the page poisoned. */
void cxl_cram_write_dropped(CXLCramDev *cram, uint64_t page)
{
    CXLCramSafety *s = &cram->safety;
    bool first = !(s->status & CXL_CRAM_STATUS_EXHAUSTED);

    cxl_cram_poison_page(cram, page, CXL_POISON_TYPE_INTERNAL);
    trace_cxl_cram_store_failed(page << CRAM_PAGE_SHIFT);
    s->status |= CXL_CRAM_STATUS_EXHAUSTED;
    if (first) {
        cxl_cram_irq(cram, CXL_CRAM_IRQ_DROPPED);
    }
    cxl_cram_safety_update(cram);
}

/* A read that is not a vCPU's load met poison: counted, traced */
void cxl_cram_poisoned_read(CXLCramDev *cram, uint64_t dpa)
{
    cram->safety.poisoned_reads++;
    trace_cxl_cram_poisoned_read(dpa);
}

/*
 * Pages [first, first + n) were healed (stored, discarded, cleared): the
 * engine knows; QMP's records there go too.
 */
void cxl_cram_poison_healed(CXLCramDev *cram, uint64_t first, uint64_t n)
{
    CXLType3Dev *ct3d = CXL_TYPE3(cram);

    if (!QLIST_EMPTY(&ct3d->poison_list)) {
        cxl_cram_poison_list_remove(ct3d, first << CRAM_PAGE_SHIFT,
                                    n << CRAM_PAGE_SHIFT);
    }
}

/* Clear Poison at @dpa: its page's poison, QMP's records of its line */
void cxl_cram_poison_clear(CXLCramDev *cram, uint64_t dpa)
{
    uint64_t page = dpa >> CRAM_PAGE_SHIFT;

    if (cram_store_unpoison(cram->store, page)) {
        cxl_cram_poison_healed(cram, page, 1);
    }
    cxl_cram_poison_list_remove(CXL_TYPE3(cram), dpa, CXL_CRAM_LINE);
}

void cxl_cram_poison_clear_all(CXLCramDev *cram)
{
    CXLType3Dev *ct3d = CXL_TYPE3(cram);

    cxl_cram_poison_list_remove(ct3d, 0, cram->capacity);
}

/*
 * The first poison record that ends after @from and starts before @end
 * (bytes), cut to [@from, @end): the run of poisoned pages the engine
 * finds first, or a QMP record that starts before it.
 */
bool cxl_cram_poison_next(CXLCramDev *cram, uint64_t from,
                                 uint64_t end, uint64_t *s, uint64_t *e,
                                 uint8_t *type)
{
    CXLType3Dev *ct3d = CXL_TYPE3(cram);
    uint64_t first, n, best = UINT64_MAX;
    unsigned tag;
    CXLPoison *p;
    bool found;

    found = cram_store_poison_run(cram->store, from >> CRAM_PAGE_SHIFT,
                                  DIV_ROUND_UP(end, CRAM_PAGE_SIZE),
                                  &first, &n, &tag, 0);
    if (found) {
        best = first << CRAM_PAGE_SHIFT;
        *s = MAX(best, from);
        *e = MIN((first + n) << CRAM_PAGE_SHIFT, end);
        *type = tag;
    }
    QLIST_FOREACH(p, &ct3d->poison_list, node) {
        if (p->start + p->length > from && p->start < end &&
            p->start < best) {
            best = p->start;
            *s = MAX(p->start, from);
            *e = MIN(p->start + p->length, end);
            *type = p->type;
            found = true;
        }
    }
    return found;
}

/*
 * After a migration: the stream's poison records (those of the engine's
 * runs and QMP's, or an older source's list) arrived before the store.
 * Each poisoned page they cover takes their type, unless it has one; what
 * they cover beyond poisoned pages stays a QMP record, as it was.
 */
void cxl_cram_poison_adopt(CXLCramDev *cram)
{
    CXLType3Dev *ct3d = CXL_TYPE3(cram);
    CXLPoisonList in = QLIST_HEAD_INITIALIZER(in);
    CXLPoison *p, *next, *last = NULL;
    uint64_t first = 0, n = 0;
    unsigned tag = 0;

    QLIST_FOREACH_SAFE(p, &ct3d->poison_list, node, next) {
        QLIST_REMOVE(p, node);
        QLIST_INSERT_HEAD(&in, p, node);
    }
    ct3d->poison_list_cnt = 0;
    QLIST_FOREACH_SAFE(p, &in, node, next) {
        uint64_t at = p->start, end = p->start + p->length, gap_end;

        for (;;) {
            bool found = at < end &&
                cram_store_poison_run(cram->store, at >> CRAM_PAGE_SHIFT,
                                      DIV_ROUND_UP(end, CRAM_PAGE_SIZE),
                                      &first, &n, &tag, p->type);

            gap_end = found ? MIN(first << CRAM_PAGE_SHIFT, end) : end;
            if (at < gap_end) {
                CXLPoison *rest = g_new0(CXLPoison, 1);

                rest->start = at;
                rest->length = gap_end - at;
                rest->type = p->type;
                if (last) {
                    QLIST_INSERT_AFTER(last, rest, node);
                } else {
                    QLIST_INSERT_HEAD(&ct3d->poison_list, rest, node);
                }
                last = rest;
                ct3d->poison_list_cnt++;
            }
            if (!found) {
                break;
            }
            at = (first + n) << CRAM_PAGE_SHIFT;
        }
        QLIST_REMOVE(p, node);
        g_free(p);
    }
}

