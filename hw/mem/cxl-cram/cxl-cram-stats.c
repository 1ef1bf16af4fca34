/*
 * cxl-cram statistics: one snapshot of every figure, read through the
 * one table of them (cxl-cram-figures.h) by the registers, QMP and
 * migration
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/visitor.h"
#include "cxl-cram.h"
#include "cxl-cram-figures.h"

typedef struct CXLCramFigure {
    const char *name;
    hwaddr reg;
    size_t offset;              /* in CXLCramFigures */
    int mig;
} CXLCramFigure;

#define CXL_CRAM_FIGURE(name, reg, member, mig) \
    { name, CXL_CRAM_REG_##reg, offsetof(CXLCramFigures, member), mig },
static const CXLCramFigure cxl_cram_figure_table[] = {
    CXL_CRAM_FIGURES(CXL_CRAM_FIGURE)
};

static uint64_t *cxl_cram_figure(CXLCramFigures *f, const CXLCramFigure *d)
{
    return (uint64_t *)((char *)f + d->offset);
}

/*
 * Every figure now.  With cache-size=0 the figures are exact (the staged
 * page is stored first); with a cache, dirty cached pages count at their
 * worst case.
 */
void cxl_cram_figures(CXLCramDev *cram, CXLCramFigures *f)
{
    CXLCramSafety *s = &cram->safety;

    cxl_cram_exact_figures(cram);
    cram_store_get_stats(cram->store, &f->st, &f->cs, &f->metadata_bytes);
    f->ratio_fp16 = cram_ratio_fp16(&f->st);
    f->headroom_pages = f->st.media_free >> CRAM_PAGE_SHIFT;
    f->status = s->status;
    f->s = *s;
}

uint64_t *cxl_cram_figure_find(CXLCramFigures *f, hwaddr reg, int slot)
{
    size_t i;

    for (i = 0; i < ARRAY_SIZE(cxl_cram_figure_table); i++) {
        const CXLCramFigure *d = &cxl_cram_figure_table[i];

        if ((reg != CXL_CRAM_REG_NONE && d->reg == reg) ||
            (slot >= 0 && d->mig == slot)) {
            return cxl_cram_figure(f, d);
        }
    }
    return NULL;
}

/*
 * qom-get <device> stats: every figure of the table, the ratio as a
 * number.  The field names are ABI, listed in docs/properties.md.
 */
static void cxl_cram_stats_get(Object *obj, Visitor *v, const char *name,
                               void *opaque, Error **errp)
{
    CXLCramDev *cram = CXL_CRAM(obj);
    CXLCramFigures f;
    bool ok = true;
    size_t i;

    if (!cram->store) {
        error_setg(errp, "cxl-cram: statistics exist only once realized");
        return;
    }
    cxl_cram_figures(cram, &f);
    if (!visit_start_struct(v, name, NULL, 0, errp)) {
        return;
    }
    for (i = 0; ok && i < ARRAY_SIZE(cxl_cram_figure_table); i++) {
        const CXLCramFigure *d = &cxl_cram_figure_table[i];
        uint64_t *val = cxl_cram_figure(&f, d);

        if (d->offset == offsetof(CXLCramFigures, ratio_fp16)) {
            double ratio = *val / 65536.0;

            ok = visit_type_number(v, d->name, &ratio, errp);
        } else {
            ok = visit_type_uint64(v, d->name, val, errp);
        }
    }
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
