/*
 * cxl-cram statistics: one snapshot shared by the registers and QMP
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/visitor.h"
#include "cxl-cram.h"

/*
 * With cache-size=0 the figures are exact (the staged page is stored
 * first); with a cache, dirty cached pages count at their worst case.
 */
void cxl_cram_get_stats(CXLCramDev *cram, CramStats *st)
{
    cxl_cram_sync(cram);
    cram_store_get_stats(cram->store, st, NULL, NULL);
}

/*
 * qom-get <device> stats: a struct of the same figures as the register
 * block, plus the ratio as a number.  The field names are ABI, listed in
 * docs/properties.md.
 */
static void cxl_cram_stats_get(Object *obj, Visitor *v, const char *name,
                               void *opaque, Error **errp)
{
    CXLCramDev *cram = CXL_CRAM(obj);
    CXLCramSafety *sf = &cram->safety;
    CramStats st = { 0 };
    CramCacheStats cs;
    uint64_t metadata;
    double ratio;
    bool ok;

    if (!cram->store) {
        error_setg(errp, "cxl-cram: statistics exist only once realized");
        return;
    }
    cxl_cram_sync(cram);
    cram_store_get_stats(cram->store, &st, &cs, &metadata);
    ratio = cram_ratio_fp16(&st) / 65536.0;

    if (!visit_start_struct(v, name, NULL, 0, errp)) {
        return;
    }
    ok = visit_type_uint64(v, "capacity", &st.capacity, errp) &&
         visit_type_uint64(v, "media-size", &st.media_size, errp) &&
         visit_type_uint64(v, "media-used", &st.media_used, errp) &&
         visit_type_uint64(v, "media-free", &st.media_free, errp) &&
         visit_type_uint64(v, "logical-held", &st.logical_bytes, errp) &&
         visit_type_uint64(v, "stored-bytes", &st.stored_bytes, errp) &&
         visit_type_number(v, "ratio", &ratio, errp) &&
         visit_type_uint64(v, "pages-zero", &st.pages[CRAM_CLASS_ZERO],
                           errp) &&
         visit_type_uint64(v, "pages-same", &st.pages[CRAM_CLASS_SAME],
                           errp) &&
         visit_type_uint64(v, "pages-compressed",
                           &st.pages[CRAM_CLASS_COMPRESSED], errp) &&
         visit_type_uint64(v, "pages-raw", &st.pages[CRAM_CLASS_RAW],
                           errp) &&
         visit_type_uint64(v, "stores", &st.stores, errp) &&
         visit_type_uint64(v, "loads", &st.loads, errp) &&
         visit_type_uint64(v, "dropped-writes", &st.failed_stores, errp) &&
         visit_type_uint64(v, "discards", &st.discards, errp) &&
         visit_type_uint64(v, "metadata-bytes", &metadata, errp) &&
         visit_type_uint64(v, "poisoned-pages", &st.poisoned_pages, errp) &&
         visit_type_uint64(v, "poisoned-reads",
                           &cram->safety.poisoned_reads, errp) &&
         visit_type_uint64(v, "machine-checks", &cram->safety.mce_raised,
                           errp) &&
         visit_type_uint64(v, "machine-checks-abandoned",
                           &cram->safety.mce_abandoned, errp) &&
         visit_type_uint32(v, "status", &cram->safety.status, errp) &&
         visit_type_uint64(v, "irq-low-rise",
                           &sf->irq_count[CXL_CRAM_IRQ_LOW_RISE], errp) &&
         visit_type_uint64(v, "irq-high-rise",
                           &sf->irq_count[CXL_CRAM_IRQ_HIGH_RISE], errp) &&
         visit_type_uint64(v, "irq-high-fall",
                           &sf->irq_count[CXL_CRAM_IRQ_HIGH_FALL], errp) &&
         visit_type_uint64(v, "irq-low-fall",
                           &sf->irq_count[CXL_CRAM_IRQ_LOW_FALL], errp) &&
         visit_type_uint64(v, "irq-dropped",
                           &sf->irq_count[CXL_CRAM_IRQ_DROPPED], errp) &&
         visit_type_uint64(v, "irq-vector12", &sf->vec12_count, errp) &&
         visit_type_uint64(v, "irq-vector13", &sf->vec13_count, errp) &&
         visit_type_uint64(v, "media-reserved", &st.media_reserved, errp) &&
         visit_type_uint64(v, "wm-low", &sf->wm_low, errp) &&
         visit_type_uint64(v, "wm-high", &sf->wm_high, errp) &&
         visit_type_uint64(v, "cache-pages", &cs.cached, errp) &&
         visit_type_uint64(v, "cache-dirty", &cs.dirty, errp) &&
         visit_type_uint64(v, "cache-hits", &cs.hits, errp) &&
         visit_type_uint64(v, "cache-misses", &cs.misses, errp) &&
         visit_type_uint64(v, "writebacks-sync", &cs.sync_writebacks, errp) &&
         visit_type_uint64(v, "writebacks-async", &cs.async_writebacks,
                           errp);
    if (ok) {
        visit_check_struct(v, errp);
    }
    visit_end_struct(v, NULL);
}

void cxl_cram_stats_class_init(ObjectClass *oc)
{
    object_class_property_add(oc, "stats", "CxlCramStats",
                              cxl_cram_stats_get, NULL, NULL, NULL);
    object_class_property_set_description(oc, "stats",
        "Compression and media statistics (read-only)");
}
