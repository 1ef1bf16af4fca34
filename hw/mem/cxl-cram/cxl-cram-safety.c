/*
 * cxl-cram ratio safety: the status that media use implies, and the
 * interrupts that its changes signal
 *
 * The device warns before media runs out (watermark interrupts, NO_ALLOC,
 * the compressed-CXL vectors 12 and 13).  docs/ratio-safety.md describes
 * the model; the register map is in cxl-cram-regs.h.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "hw/pci/msix.h"
#include "cxl-cram.h"
#include "trace.h"

/* Latch interrupt @cause; signal it when enabled */
void cxl_cram_irq(CXLCramDev *cram, int cause)
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
    cxl_cram_ramalias_update(cram);
    if (now == old) {
        return;
    }
    trace_cxl_cram_status(old, now, st.media_used);
    cxl_cram_notify_status(cram, old, now, &st);

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
        s->danger_count++;
        msix_notify(pdev, CXL_CRAM_MSIX_DANGER);
    }
    if ((old & ~now) & CXL_CRAM_STATUS_NO_ALLOC) {
        s->safe_count++;
        msix_notify(pdev, CXL_CRAM_MSIX_SAFE);
    }
}

