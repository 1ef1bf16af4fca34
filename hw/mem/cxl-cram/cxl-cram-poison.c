/*
 * cxl-cram poison: poisoned pages, dropped writes and their records
 *
 * Poison granularity is the page: a dropped write (under the failure
 * policy "poison", the default), an injection (mailbox or QMP) poisons a
 * whole 4 KiB page, whose content is then gone.  Under "log" a dropped
 * write leaves its page as it was and only its event record tells
 * (docs/ratio-safety.md, "Failure policy").  The
 * engine's page state is the one record of it: a poisoned page's entry
 * keeps its source (the CXL poison type) in the value it does not
 * otherwise use, so poison costs no host memory beyond that entry and an
 * ordered set of the poisoned 64-page regions.  Get Poison List and
 * migration derive their records from those pages, runs of consecutive
 * pages of one source coalesced into one record, found in address order
 * at a cost that follows what they return.  cxl-type3's own poison list
 * stays empty: QMP's cxl-inject-poison poisons pages here
 * (patches/0007).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "qemu/uuid.h"
#include "hw/cxl/cxl.h"
#include "hw/cxl/cxl_mailbox.h"
#include "hw/cxl/cxl_events.h"
#include "cxl-cram.h"
#include "trace.h"

/* CXL r3.1 Table 8-45: General Media Event Record */
static const QemuUUID cxl_cram_gen_media_uuid = {
    .data = UUID(0xfbcd0a77, 0xc260, 0x417f,
                 0x85, 0xa9, 0x08, 0x8b, 0x16, 0x21, 0xeb, 0xa6),
};

#define CXL_CRAM_GEM_SEVERITY_FAILURE   2
#define CXL_CRAM_GEM_PERMANENT          (1 << 2)
#define CXL_CRAM_GEM_DPA_VOLATILE       0x1
#define CXL_CRAM_GEM_UNCORRECTABLE      0x1
#define CXL_CRAM_GEM_DATA_PATH_ERROR    0x2
#define CXL_CRAM_GEM_HOST_WRITE         0x2

/*
 * Failure log: a write to @page was dropped, and the page is @poisoned
 * or, without poison, kept its old content: then the record is the one
 * trace of the lost write, a permanent condition (docs/ratio-safety.md).
 * cxl-type3's log holds a few records and counts the overflow.
 */
static void cxl_cram_event_dropped(CXLCramDev *cram, uint64_t page,
                                   bool poisoned)
{
    CXLType3Dev *ct3d = CXL_TYPE3(cram);
    CXLEventGenMedia gem = { 0 };

    st24_le_p(&gem.hdr.flags, CXL_CRAM_GEM_SEVERITY_FAILURE |
              (poisoned ? 0 : CXL_CRAM_GEM_PERMANENT));
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

/* What a write that finds no media does to its page, from now on */
void cxl_cram_failure_policy(CXLCramDev *cram, CxlCramFailurePolicy policy)
{
    cram->failure_policy = policy;
    cram_store_drop_keeps(cram->store, policy == CXL_CRAM_FAILURE_POLICY_LOG);
}

/* Poison @page as @type: its content is gone, its reads take poison. */
void cxl_cram_poison_page(CXLCramDev *cram, uint64_t page, uint8_t type)
{
    cram_store_poison(cram->store, page, type);
    cxl_cram_safety_update(cram);
}

/*
 * A store found no media: the write is lost, and the store poisoned the
 * page (@poisoned) or left it as it was (failure policy "log").
 */
void cxl_cram_write_dropped(CXLCramDev *cram, uint64_t page, bool poisoned)
{
    CXLCramSafety *s = &cram->safety;
    bool first = !(s->status & CXL_CRAM_STATUS_EXHAUSTED);

    cxl_cram_event_dropped(cram, page, poisoned);
    trace_cxl_cram_store_failed(page << CRAM_PAGE_SHIFT, poisoned);
    s->status |= CXL_CRAM_STATUS_EXHAUSTED;
    if (first) {
        cxl_cram_irq(cram, CXL_CRAM_IRQ_DROPPED);
        cxl_cram_notify_dropped(cram, page, poisoned);
    }
    cxl_cram_safety_update(cram);
}

/*
 * QMP cxl-inject-poison (cxl-type3 checked the range): its pages are
 * poisoned for real, source Internal as cxl-type3's records say, with no
 * event record (cxl-type3 logs none).  Bounded: each poisoned page costs
 * host memory (docs/metadata.md) and the BQL is held.
 */
#define CXL_CRAM_QMP_POISON_MAX (1ULL << 30)

void cxl_cram_qmp_poison(CXLType3Dev *ct3d, uint64_t start, uint64_t length,
                         Error **errp)
{
    CXLCramDev *cram = CXL_CRAM(ct3d);
    uint64_t page, end = DIV_ROUND_UP(start + length, CRAM_PAGE_SIZE);

    if (length > CXL_CRAM_QMP_POISON_MAX) {
        error_setg(errp, "cxl-cram poisons at most 1 GiB per "
                   "cxl-inject-poison (asked 0x%" PRIx64 " bytes)", length);
        return;
    }
    for (page = start >> CRAM_PAGE_SHIFT; page < end; page++) {
        cram_store_poison(cram->store, page, CXL_POISON_TYPE_INTERNAL);
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
 * The first run of poisoned pages of one source that ends after @from and
 * starts before @end (bytes), cut to [@from, @end).
 */
bool cxl_cram_poison_next(CXLCramDev *cram, uint64_t from, uint64_t end,
                          uint64_t *s, uint64_t *e, uint8_t *type)
{
    uint64_t first, n;
    unsigned tag;

    if (!cram_store_poison_run(cram->store, from >> CRAM_PAGE_SHIFT,
                               DIV_ROUND_UP(end, CRAM_PAGE_SIZE),
                               &first, &n, &tag)) {
        return false;
    }
    *s = MAX(first << CRAM_PAGE_SHIFT, from);
    *e = MIN((first + n) << CRAM_PAGE_SHIFT, end);
    *type = tag;
    return true;
}
