/*
 * cxl-cram: what the host sets of how new pages are stored, for the
 * scenarios it plays (docs/properties.md, "QMP commands"): a range of
 * pages stored as if each compressed to a given size
 * (cxl-cram-store-as), the codec and level of new pages and the size
 * of the page cache (cxl-cram-set).  The first two travel with the
 * device, in subsections sent only when the host set them; all stay
 * across a device reset.  The cache does not travel (a destination's
 * cache-size may differ from the source's).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/units.h"
#include "qapi/error.h"
#include "migration/vmstate.h"
#include "cxl-cram.h"
#include "trace.h"

void cxl_cram_store_as(CXLCramDev *cram, uint64_t from, uint64_t end,
                       uint32_t size)
{
    trace_cxl_cram_store_as(from << CRAM_PAGE_SHIFT,
                            (end - from) << CRAM_PAGE_SHIFT, size);
    cram->as_from = from;
    cram->as_end = end;
    cram->as_size = size;
    cram_store_store_as(cram->store, from, end, size);
}

bool cxl_cram_set_codec(CXLCramDev *cram, const char *name, bool has_level,
                        uint32_t level, Error **errp)
{
    CramCodecId codec = cram->run_codec;
    g_autoptr(GError) err = NULL;

    if (name && !cram_codec_from_name(name, &codec)) {
        error_setg(errp, "unknown codec '%s'", name);
        return false;
    }
    if (!has_level) {
        level = name ? 0 : cram->run_level;
    }
    /* the codecs' levels are ints: anything above fails as itself */
    if (!cram_store_set_codec(cram->store, codec, MIN(level, INT_MAX),
                              &err)) {
        error_setg(errp, "%s", err->message);
        return false;
    }
    trace_cxl_cram_set_codec(cram_codec_name(codec), level);
    cram->run_codec = codec;
    cram->run_level = level;
    cram->codec_set = true;
    return true;
}

bool cxl_cram_cache_size_check(CXLCramDev *cram, uint64_t size,
                               Error **errp)
{
    if (!size || size % CRAM_PAGE_SIZE || size > CXL_CRAM_CACHE_MAX) {
        error_setg(errp, "cache-size %" PRIu64 " must be a non-zero "
                   "multiple of 4 KiB of at most 1 GiB", size);
        return false;
    }
    if (cram->ram_path) {
        error_setg(errp, "cache-size cannot change with ram-path=on: the "
                   "cached pages are mapped into the guest's window");
        return false;
    }
    if (!cram->has_worker) {
        error_setg(errp, "cache-size cannot change on a device started "
                   "with cache-size=0: it has no cache worker");
        return false;
    }
    return true;
}

bool cxl_cram_set_cache_size(CXLCramDev *cram, uint64_t size, Error **errp)
{
    g_autoptr(GError) err = NULL;

    /* as CACHE_FLUSH: dropped writes and the watermarks settled first */
    cxl_cram_flush(cram);
    if (!cram_store_resize_cache(cram->store, size >> CRAM_PAGE_SHIFT,
                                 &err)) {
        error_setg(errp, "%s", err->message);
        return false;
    }
    trace_cxl_cram_set_cache_size(size);
    cram->cache_size = size;
    cxl_cram_flush(cram);
    return true;
}

/* cxl-cram-store-as's range travels: the host asked it of the device */
static bool cxl_cram_store_as_needed(void *opaque)
{
    CXLCramDev *cram = opaque;

    return cram->as_end > cram->as_from;
}

static int cxl_cram_store_as_post_load(void *opaque, int version_id)
{
    CXLCramDev *cram = opaque;
    uint64_t npages = cram->capacity >> CRAM_PAGE_SHIFT;

    if (cram->as_from > cram->as_end || cram->as_end > npages ||
        !cram_engine_store_as_valid(cram->as_size)) {
        error_report("cxl-cram: pages %" PRIu64 "-%" PRIu64 " stored as %"
                     PRIu32 " bytes: outside the capacity (%" PRIu64
                     " pages) or not a size cxl-cram-store-as takes",
                     cram->as_from, cram->as_end, cram->as_size, npages);
        return -EINVAL;
    }
    cxl_cram_store_as(cram, cram->as_from, cram->as_end, cram->as_size);
    return 0;
}

const VMStateDescription vmstate_cxl_cram_store_as = {
    .name = "cxl-cram/store-as",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = cxl_cram_store_as_needed,
    .post_load = cxl_cram_store_as_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT64(as_from, CXLCramDev),
        VMSTATE_UINT64(as_end, CXLCramDev),
        VMSTATE_UINT32(as_size, CXLCramDev),
        VMSTATE_END_OF_LIST()
    },
};

/*
 * The codec and level set by cxl-cram-set travel: the destination's
 * properties would otherwise win.  Pages stored with either read back
 * there whatever it runs: each wrapped object names its codec.
 */
static bool cxl_cram_codec_needed(void *opaque)
{
    CXLCramDev *cram = opaque;

    return cram->codec_set;
}

static int cxl_cram_codec_pre_save(void *opaque)
{
    CXLCramDev *cram = opaque;

    cram->codec_wire = cram->run_codec;
    return 0;
}

static int cxl_cram_codec_post_load(void *opaque, int version_id)
{
    CXLCramDev *cram = opaque;
    const char *name = cram_codec_name(cram->codec_wire);
    Error *err = NULL;

    if (!name || !cxl_cram_set_codec(cram, name, true, cram->run_level,
                                     &err)) {
        error_report("cxl-cram: codec %" PRIu32 " level %" PRIu32 ": %s",
                     cram->codec_wire, cram->run_level,
                     err ? error_get_pretty(err) : "unknown codec");
        error_free(err);
        return -EINVAL;
    }
    return 0;
}

const VMStateDescription vmstate_cxl_cram_codec = {
    .name = "cxl-cram/codec",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = cxl_cram_codec_needed,
    .pre_save = cxl_cram_codec_pre_save,
    .post_load = cxl_cram_codec_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(codec_wire, CXLCramDev),
        VMSTATE_UINT32(run_level, CXLCramDev),
        VMSTATE_END_OF_LIST()
    },
};
