/*
 * cxl-cram ratio safety: watermarks, NO_ALLOC, interrupts, discard
 *
 * The device warns before media runs out (watermark interrupts, NO_ALLOC)
 * and poisons the pages whose writes it has to drop.  docs/ratio-safety.md
 * describes the model; the register map is in cxl-cram-regs.h.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qapi/error.h"
#include "hw/pci/msix.h"
#include "cxl-cram.h"
#include "trace.h"

/*
 * cxl-type3 sized its MSI-X table for its own 8 vectors.  Rebuild it in
 * the same BAR with 16: 8 for cxl-cram's own interrupt, and 12/13 for the
 * interface of the existing compressed-CXL driver.  msix_uninit() leaves
 * the table and PBA regions children of the device: unparent them before
 * msix_init() initializes them again, or each would be a child twice and
 * released twice when the device is finalized after device_del.
 */
static bool cxl_cram_msix_init(CXLCramDev *cram, Error **errp)
{
    PCIDevice *pdev = PCI_DEVICE(cram);
    int i;

    msix_uninit_exclusive_bar(pdev);
    object_unparent(OBJECT(&pdev->msix_table_mmio));
    object_unparent(OBJECT(&pdev->msix_pba_mmio));
    if (msix_init(pdev, CXL_CRAM_MSIX_NR, &pdev->msix_exclusive_bar,
                  CXL_CRAM_MSIX_BAR, 0, &pdev->msix_exclusive_bar,
                  CXL_CRAM_MSIX_BAR, CXL_CRAM_MSIX_PBA, 0, errp)) {
        return false;
    }
    for (i = 0; i < CXL_CRAM_MSIX_NR; i++) {
        msix_vector_use(pdev, i);
    }
    return true;
}

bool cxl_cram_safety_init(CXLCramDev *cram, Error **errp)
{
    CXLCramSafety *s = &cram->safety;

    if (!cram->high_watermark || cram->high_watermark > 100 ||
        cram->low_watermark >= cram->high_watermark) {
        error_setg(errp, "watermarks must satisfy 0 <= low-watermark (%u) "
                   "< high-watermark (%u) <= 100 (percent of media-size)",
                   cram->low_watermark, cram->high_watermark);
        return false;
    }
    s->wm_low = cram->media_size / 100 * cram->low_watermark;
    s->wm_high = cram->media_size / 100 * cram->high_watermark;
    return cxl_cram_msix_init(cram, errp);
}

static void cxl_cram_irq(CXLCramDev *cram, int cause)
{
    CXLCramSafety *s = &cram->safety;

    s->irq_status |= 1u << cause;
    trace_cxl_cram_irq(cause, !!(s->irq_enable & (1u << cause)));
    if (s->irq_enable & (1u << cause)) {
        s->irq_count[cause]++;
        msix_notify(PCI_DEVICE(cram), CXL_CRAM_MSIX_VECTOR);
    }
}

/*
 * The status that the figures imply, from the status @old: the levels
 * follow media used; NO_ALLOC is set at the high watermark and, with
 * EXHAUSTED, cleared only below the low one (hysteresis); POISON follows
 * the poisoned pages.  A status is consistent with the figures when it
 * is its own next status.
 */
uint32_t cxl_cram_status_next(uint32_t old, const CramStats *st,
                              uint64_t wm_low, uint64_t wm_high)
{
    uint32_t now = old & ~(CXL_CRAM_STATUS_ABOVE_LOW |
                           CXL_CRAM_STATUS_ABOVE_HIGH |
                           CXL_CRAM_STATUS_POISON);

    if (st->media_used >= wm_low) {
        now |= CXL_CRAM_STATUS_ABOVE_LOW;
    }
    if (st->media_used >= wm_high) {
        now |= CXL_CRAM_STATUS_ABOVE_HIGH | CXL_CRAM_STATUS_NO_ALLOC;
    }
    if (!(now & CXL_CRAM_STATUS_ABOVE_LOW)) {
        now &= ~(CXL_CRAM_STATUS_NO_ALLOC | CXL_CRAM_STATUS_EXHAUSTED);
    }
    if (st->poisoned_pages) {
        now |= CXL_CRAM_STATUS_POISON;
    }
    return now;
}

/* Re-evaluate the watermark levels after media use changed. */
void cxl_cram_safety_update(CXLCramDev *cram)
{
    CXLCramSafety *s = &cram->safety;
    PCIDevice *pdev = PCI_DEVICE(cram);
    CramStats st;
    uint32_t old = s->status, now;

    cram_store_get_stats(cram->store, &st, NULL, NULL);
    now = cxl_cram_status_next(old, &st, s->wm_low, s->wm_high);
    s->status = now;
    if (now == old) {
        return;
    }
    trace_cxl_cram_status(old, now, st.media_used);

    if ((now & ~old) & CXL_CRAM_STATUS_ABOVE_LOW) {
        cxl_cram_irq(cram, CXL_CRAM_IRQ_LOW_RISE);
    }
    if ((now & ~old) & CXL_CRAM_STATUS_ABOVE_HIGH) {
        cxl_cram_irq(cram, CXL_CRAM_IRQ_HIGH_RISE);
    }
    if ((old & ~now) & CXL_CRAM_STATUS_ABOVE_HIGH) {
        cxl_cram_irq(cram, CXL_CRAM_IRQ_HIGH_FALL);
    }
    if ((old & ~now) & CXL_CRAM_STATUS_ABOVE_LOW) {
        cxl_cram_irq(cram, CXL_CRAM_IRQ_LOW_FALL);
    }
    /* The compressed-CXL driver's interface: danger and safe again. */
    if ((now & ~old) & CXL_CRAM_STATUS_NO_ALLOC) {
        s->vec12_count++;
        msix_notify(pdev, CXL_CRAM_MSIX_DANGER);
    }
    if ((old & ~now) & CXL_CRAM_STATUS_NO_ALLOC) {
        s->vec13_count++;
        msix_notify(pdev, CXL_CRAM_MSIX_SAFE);
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

void cxl_cram_poisoned_read(CXLCramDev *cram, uint64_t dpa)
{
    cram->safety.poisoned_reads++;
    trace_cxl_cram_poisoned_read(dpa);
}

/*
 * Discard the pages of @nr ranges: zero, no media, no poison.  The work
 * follows the pages held, not the size of the ranges (the engine walks
 * what its page table holds; the cache looks at its own entries), so a
 * guest can discard a whole 1 TiB device, or 127 such ranges at once,
 * without holding the BQL for more than a few milliseconds.
 */
void cxl_cram_discard_ranges(CXLCramDev *cram, const CramRange *r,
                             unsigned nr)
{
    unsigned i;

    cram_store_discard_ranges(cram->store, r, nr);
    for (i = 0; i < nr; i++) {
        if (r[i].n) {
            cxl_cram_poison_healed(cram, r[i].first, r[i].n);
        }
    }
    cxl_cram_safety_update(cram);
}

/* Discard pages [first, first + n). */
void cxl_cram_discard_pages(CXLCramDev *cram, uint64_t first, uint64_t n)
{
    CramRange r = { .first = first, .n = n };

    cxl_cram_discard_ranges(cram, &r, 1);
}

/* DISCARD_PAGES doorbell: discard [DISCARD_DPA, + pages * 4 KiB). */
static void cxl_cram_discard(CXLCramDev *cram, uint64_t pages)
{
    CXLCramSafety *s = &cram->safety;
    uint64_t first = s->discard_dpa >> CRAM_PAGE_SHIFT;

    if (s->discard_dpa & (CRAM_PAGE_SIZE - 1)) {
        s->discard_result = CXL_CRAM_DISCARD_UNALIGNED;
    } else if (!pages) {
        s->discard_result = CXL_CRAM_DISCARD_EMPTY;
    } else if (s->discard_dpa >= cram->capacity ||
               pages > (cram->capacity - s->discard_dpa) >> CRAM_PAGE_SHIFT) {
        s->discard_result = CXL_CRAM_DISCARD_RANGE;
    } else {
        cxl_cram_discard_pages(cram, first, pages);
        s->discard_result = CXL_CRAM_DISCARD_OK;
    }
    trace_cxl_cram_discard(s->discard_dpa, pages, s->discard_result);
}

/* The control registers that are not figures (cxl-cram-figures.h) */
uint64_t cxl_cram_ctrl_read(CXLCramDev *cram, hwaddr reg)
{
    CXLCramSafety *s = &cram->safety;

    switch (reg) {
    case CXL_CRAM_REG_IRQ_ENABLE:
        return s->irq_enable;
    case CXL_CRAM_REG_IRQ_STATUS:
        return s->irq_status;
    case CXL_CRAM_REG_DISCARD_DPA:
        return s->discard_dpa;
    case CXL_CRAM_REG_DISCARD_RESULT:
        return s->discard_result;
    default:
        return 0;
    }
}

static void cxl_cram_set_watermark(CXLCramDev *cram, hwaddr reg,
                                   uint64_t val)
{
    CXLCramSafety *s = &cram->safety;
    uint64_t low = reg == CXL_CRAM_REG_WM_LOW ? val : s->wm_low;
    uint64_t high = reg == CXL_CRAM_REG_WM_HIGH ? val : s->wm_high;

    if (low >= high || high > cram->media_size) {
        qemu_log_mask(LOG_GUEST_ERROR, "cxl-cram: watermark 0x%" PRIx64
                      " rejected: need low < high <= media size\n", val);
        return;
    }
    s->wm_low = low;
    s->wm_high = high;
    cxl_cram_sync(cram);
    cxl_cram_safety_update(cram);
}

void cxl_cram_ctrl_write(CXLCramDev *cram, hwaddr reg, uint64_t val)
{
    CXLCramSafety *s = &cram->safety;

    switch (reg) {
    case CXL_CRAM_REG_WM_LOW:
    case CXL_CRAM_REG_WM_HIGH:
        cxl_cram_set_watermark(cram, reg, val);
        break;
    case CXL_CRAM_REG_IRQ_ENABLE:
        s->irq_enable = val & CXL_CRAM_IRQ_MASK;
        break;
    case CXL_CRAM_REG_IRQ_STATUS:
        s->irq_status &= ~val;
        break;
    case CXL_CRAM_REG_DISCARD_DPA:
        s->discard_dpa = val;
        break;
    case CXL_CRAM_REG_DISCARD_PAGES:
        cxl_cram_discard(cram, val);
        break;
    case CXL_CRAM_REG_CACHE_FLUSH:
        cxl_cram_flush(cram);
        break;
    default:
        qemu_log_mask(LOG_GUEST_ERROR, "cxl-cram: write 0x%" PRIx64
                      " to read-only register 0x%" HWADDR_PRIx " ignored\n",
                      val, reg);
    }
}
