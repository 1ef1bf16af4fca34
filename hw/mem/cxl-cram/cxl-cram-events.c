/*
 * cxl-cram QMP events (qapi/cxl-cram.json): the status changes, the
 * first dropped write and the machine checks, told to the host as they
 * are to the guest.  The
 * monitor rate-limits them per device (patches/0010, monitor/monitor.c).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/qapi-events-cxl-cram.h"
#include "cxl-cram.h"

/* The events of the change of status @old to @now */
void cxl_cram_notify_status(CXLCramDev *cram, uint32_t old, uint32_t now,
                            const CramStats *st)
{
    static const struct {
        uint32_t bit;
        bool rise;
        CxlCramCrossing crossing;
    } crossings[] = {
        { CXL_CRAM_STATUS_ABOVE_LOW, true, CXL_CRAM_CROSSING_LOW_RISE },
        { CXL_CRAM_STATUS_ABOVE_HIGH, true, CXL_CRAM_CROSSING_HIGH_RISE },
        { CXL_CRAM_STATUS_ABOVE_HIGH, false, CXL_CRAM_CROSSING_HIGH_FALL },
        { CXL_CRAM_STATUS_ABOVE_LOW, false, CXL_CRAM_CROSSING_LOW_FALL },
    };
    uint32_t rose = now & ~old, fell = old & ~now;
    g_autofree char *path = NULL;
    int i;

    if (!(rose | fell)) {
        return;
    }
    path = object_get_canonical_path(OBJECT(cram));
    for (i = 0; i < ARRAY_SIZE(crossings); i++) {
        if ((crossings[i].rise ? rose : fell) & crossings[i].bit) {
            qapi_event_send_cxl_cram_watermark(path, crossings[i].crossing,
                                               st->media_used,
                                               cram->safety.wm_low,
                                               cram->safety.wm_high);
        }
    }
    if ((rose | fell) & CXL_CRAM_STATUS_NO_ALLOC) {
        qapi_event_send_cxl_cram_no_alloc(path,
                                          now & CXL_CRAM_STATUS_NO_ALLOC,
                                          st->media_used);
    }
    if ((rose | fell) & CXL_CRAM_STATUS_POISON) {
        qapi_event_send_cxl_cram_poison(path, now & CXL_CRAM_STATUS_POISON,
                                        st->poisoned_pages);
    }
}

/*
 * The first write dropped since the device was last safe, at @page,
 * which it @poisoned or left as it was
 */
void cxl_cram_notify_dropped(CXLCramDev *cram, uint64_t page, bool poisoned)
{
    g_autofree char *path = object_get_canonical_path(OBJECT(cram));
    CramStats st;

    cram_store_get_stats(cram->store, &st, NULL, NULL);
    qapi_event_send_cxl_cram_write_dropped(path, page << CRAM_PAGE_SHIFT,
                                           poisoned, st.failed_stores);
}

/*
 * A vCPU's load of the poisoned page at @dpa raised a machine check
 * (@delivered), or was let through as all-ones, another being in flight.
 */
void cxl_cram_notify_mce(CXLCramDev *cram, uint64_t dpa, int cpu_index,
                         bool delivered)
{
    g_autofree char *path = object_get_canonical_path(OBJECT(cram));

    qapi_event_send_cxl_cram_machine_check(path, dpa, cpu_index, delivered,
                                           cram->safety.mce_raised,
                                           cram->safety.mce_abandoned);
}
