/*
 * cxl-cram QMP commands (qapi/cxl-cram.json): steer a running device
 * from the host, addressed by its QOM path as cxl-type3's commands are.
 *
 * Each command does what the guest's own interface would do where there
 * is one (the watermark registers, CACHE_FLUSH), through the same
 * functions, so status, interrupts and figures move exactly as they do
 * for the guest.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qapi/error.h"
#include "qapi/qapi-commands-cxl-cram.h"
#include "migration/blocker.h"
#include "migration/vmstate.h"
#include "cxl-cram.h"
#include "trace.h"

/* The realized cxl-cram at @path, or NULL with @errp set */
static CXLCramDev *cxl_cram_at(const char *path, Error **errp)
{
    Object *obj = object_resolve_path(path, NULL);

    if (!obj) {
        error_setg(errp, "Unable to resolve path '%s'", path);
        return NULL;
    }
    if (!object_dynamic_cast(obj, TYPE_CXL_CRAM)) {
        error_setg(errp, "Path '%s' does not point to a cxl-cram device",
                   path);
        return NULL;
    }
    if (!DEVICE(obj)->realized || !CXL_CRAM(obj)->store) {
        error_setg(errp, "cxl-cram '%s' is not realized", path);
        return NULL;
    }
    return CXL_CRAM(obj);
}

void qmp_cxl_cram_set(const char *path,
                      bool has_low_watermark, uint64_t low_watermark,
                      bool has_high_watermark, uint64_t high_watermark,
                      bool has_poison_mce, bool poison_mce,
                      bool has_failure_policy,
                      CxlCramFailurePolicy failure_policy,
                      bool has_codec, CxlCramCodec codec,
                      bool has_level, uint32_t level,
                      bool has_cache_size, uint64_t cache_size,
                      Error **errp)
{
    CXLCramDev *cram = cxl_cram_at(path, errp);
    CXLCramSafety *s;
    uint64_t low, high;

    if (!cram) {
        return;
    }
    s = &cram->safety;
    low = has_low_watermark ? low_watermark : s->wm_low;
    high = has_high_watermark ? high_watermark : s->wm_high;
    if (low >= high || high > cram->media_size) {
        error_setg(errp, "watermarks must satisfy low (%" PRIu64 ") < high "
                   "(%" PRIu64 ") <= media-size (%" PRIu64 ")", low, high,
                   cram->media_size);
        return;
    }
    if (has_cache_size && !cxl_cram_cache_size_check(cram, cache_size,
                                                     errp)) {
        return;
    }
    /* the last check, and the first change: it may fail */
    if ((has_codec || has_level) &&
        !cxl_cram_set_codec(cram, has_codec ? CxlCramCodec_str(codec) : NULL,
                            has_level, level, errp)) {
        return;
    }
    trace_cxl_cram_qmp_set(low, high, has_poison_mce ? poison_mce :
                           cram->poison_mce,
                           CxlCramFailurePolicy_str(has_failure_policy ?
                                                    failure_policy :
                                                    cram->failure_policy));
    if (has_poison_mce && poison_mce != cram->poison_mce) {
        cram->poison_mce = poison_mce;
        cram->poison_mce_set = true;
    }
    if (has_failure_policy && failure_policy != cram->failure_policy) {
        cxl_cram_failure_policy(cram, failure_policy);
        cram->failure_policy_set = true;
    }
    if (low != s->wm_low || high != s->wm_high) {
        /* as the guest's write of WM_LOW/WM_HIGH (cxl-cram-regs.c) */
        s->wm_low = low;
        s->wm_high = high;
        cxl_cram_exact_figures(cram);
        cxl_cram_safety_update(cram);
    }
    /* fails only when the host cannot map the new cache's buffers */
    if (has_cache_size && cache_size != cram->cache_size) {
        cxl_cram_set_cache_size(cram, cache_size, errp);
    }
}

void qmp_cxl_cram_take_media(const char *path, uint64_t size, Error **errp)
{
    CXLCramDev *cram = cxl_cram_at(path, errp);
    CramStats st;

    if (!cram) {
        return;
    }
    if (size % CRAM_PAGE_SIZE || size > cram->media_size) {
        error_setg(errp, "size %" PRIu64 " must be a multiple of 4 KiB of "
                   "at most media-size (%" PRIu64 ")", size,
                   cram->media_size);
        return;
    }
    /* while the host holds media, the store cannot travel */
    if (size && !cram->media_blocker) {
        error_setg(&cram->media_blocker, "cxl-cram '%s': the host holds "
                   "media (cxl-cram-take-media); give it back to migrate",
                   path);
        if (migrate_add_blocker(&cram->media_blocker, errp) < 0) {
            return;
        }
    }
    if (!cram_store_take_media(cram->store, size >> CRAM_PAGE_SHIFT)) {
        cram_store_get_stats(cram->store, &st, NULL, NULL);
        error_setg(errp, "cannot hold %" PRIu64 " bytes of media: the host "
                   "holds %" PRIu64 " and %" PRIu64 " more are free",
                   size, st.media_taken, st.media_free);
        size = st.media_taken;
    } else {
        trace_cxl_cram_qmp_take_media(size);
        cxl_cram_exact_figures(cram);
        cxl_cram_safety_update(cram);
    }
    if (!size && cram->media_blocker) {
        migrate_del_blocker(&cram->media_blocker);
    }
}

/* The device goes: so does its migration blocker */
void cxl_cram_qmp_fini(CXLCramDev *cram)
{
    if (cram->media_blocker) {
        migrate_del_blocker(&cram->media_blocker);
    }
}

void qmp_cxl_cram_worker(const char *path, bool paused, Error **errp)
{
    CXLCramDev *cram = cxl_cram_at(path, errp);

    if (!cram) {
        return;
    }
    if (!cram->has_worker) {
        error_setg(errp, "cxl-cram '%s' has no worker (cache-size=0)", path);
        return;
    }
    trace_cxl_cram_qmp_worker(paused);
    cram_store_worker_pause(cram->store, paused);
}

/*
 * The pages [*@from, *@end) of a command's optional @dpa (default 0) and
 * @length (default: to the capacity); false with @errp set when they are
 * not whole pages, empty, or past the capacity.
 */
static bool cxl_cram_qmp_pages(CXLCramDev *cram, bool has_dpa, uint64_t dpa,
                               bool has_length, uint64_t length,
                               uint64_t *from, uint64_t *end, Error **errp)
{
    if (!has_dpa) {
        dpa = 0;
    }
    if (!has_length) {
        length = dpa < cram->capacity ? cram->capacity - dpa : 0;
    }
    if ((dpa | length) % CRAM_PAGE_SIZE || !length ||
        dpa >= cram->capacity || length > cram->capacity - dpa) {
        error_setg(errp, "dpa 0x%" PRIx64 " and length 0x%" PRIx64 " must be "
                   "multiples of 4 KiB, length not 0, within the capacity "
                   "(0x%" PRIx64 ")", dpa, length, cram->capacity);
        return false;
    }
    *from = dpa >> CRAM_PAGE_SHIFT;
    *end = (dpa + length) >> CRAM_PAGE_SHIFT;
    return true;
}

void qmp_cxl_cram_store_as(const char *path, bool enable,
                           bool has_dpa, uint64_t dpa,
                           bool has_length, uint64_t length,
                           bool has_size, uint64_t size, Error **errp)
{
    CXLCramDev *cram = cxl_cram_at(path, errp);
    uint64_t from = 0, end = 0;

    if (!cram) {
        return;
    }
    if (!enable) {
        cxl_cram_store_as(cram, 0, 0, CRAM_PAGE_SIZE);
        return;
    }
    if (!has_size) {
        size = CRAM_PAGE_SIZE;
    }
    if (size > CRAM_PAGE_SIZE || !cram_engine_store_as_valid(size)) {
        error_setg(errp, "size %" PRIu64 " must be 4096 (raw) or a multiple "
                   "of 16 from 16 to 4080", size);
        return;
    }
    if (cxl_cram_qmp_pages(cram, has_dpa, dpa, has_length, length,
                           &from, &end, errp)) {
        cxl_cram_store_as(cram, from, end, size);
    }
}

CxlCramPageBucketList *qmp_cxl_cram_query_pages(const char *path,
                                                bool has_dpa, uint64_t dpa,
                                                bool has_length,
                                                uint64_t length,
                                                bool has_buckets,
                                                uint32_t buckets,
                                                Error **errp)
{
    CXLCramDev *cram = cxl_cram_at(path, errp);
    CxlCramPageBucketList *list = NULL, **tail = &list;
    g_autofree CramCensus *c = NULL;
    uint64_t from, end, pages, per;
    uint32_t i, n;

    if (!cram || !cxl_cram_qmp_pages(cram, has_dpa, dpa, has_length, length,
                                     &from, &end, errp)) {
        return NULL;
    }
    pages = end - from;
    n = has_buckets ? buckets : MIN(64, pages);
    if (!n || n > 4096 || n > pages) {
        error_setg(errp, "buckets %" PRIu32 " must be 1 to 4096 and at most "
                   "one per page (%" PRIu64 ")", n, pages);
        return NULL;
    }
    per = DIV_ROUND_UP(pages, n);
    n = DIV_ROUND_UP(pages, per);
    c = g_new(CramCensus, n);
    cram_store_census(cram->store, from, end, per, c);
    for (i = 0; i < n; i++) {
        CxlCramPageBucket *b = g_new0(CxlCramPageBucket, 1);
        uint64_t first = i * per;

        b->dpa = (from + first) << CRAM_PAGE_SHIFT;
        b->pages = MIN(per, pages - first);
        b->empty = c[i].pages[CRAM_KIND_EMPTY];
        b->zero = c[i].pages[CRAM_KIND_ZERO];
        b->same = c[i].pages[CRAM_KIND_SAME];
        b->compressed = c[i].pages[CRAM_KIND_COMPRESSED];
        b->raw = c[i].pages[CRAM_KIND_RAW];
        b->poisoned = c[i].poisoned;
        b->stored_bytes = c[i].stored_bytes;
        QAPI_LIST_APPEND(tail, b);
    }
    return list;
}

void qmp_cxl_cram_flush(const char *path, Error **errp)
{
    CXLCramDev *cram = cxl_cram_at(path, errp);

    if (cram) {
        cxl_cram_flush(cram);
    }
}

/*
 * poison-mce set by cxl-cram-set travels with the device: the
 * destination's property would otherwise win.  Sent only then, so that
 * a stream without it still loads where the subsection is unknown.
 */
static bool cxl_cram_settings_needed(void *opaque)
{
    CXLCramDev *cram = opaque;

    return cram->poison_mce_set;
}

/* So does failure-policy, in a subsection of its own (same reason) */
static bool cxl_cram_failure_policy_needed(void *opaque)
{
    CXLCramDev *cram = opaque;

    return cram->failure_policy_set;
}

static int cxl_cram_failure_policy_post_load(void *opaque, int version_id)
{
    CXLCramDev *cram = opaque;

    if (cram->failure_policy < 0 ||
        cram->failure_policy >= CXL_CRAM_FAILURE_POLICY__MAX) {
        error_report("cxl-cram: unknown failure policy %" PRId32,
                     cram->failure_policy);
        return -EINVAL;
    }
    cxl_cram_failure_policy(cram, cram->failure_policy);
    return 0;
}

const VMStateDescription vmstate_cxl_cram_failure_policy = {
    .name = "cxl-cram/failure-policy",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = cxl_cram_failure_policy_needed,
    .post_load = cxl_cram_failure_policy_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_INT32(failure_policy, CXLCramDev),
        VMSTATE_BOOL(failure_policy_set, CXLCramDev),
        VMSTATE_END_OF_LIST()
    },
};

const VMStateDescription vmstate_cxl_cram_settings = {
    .name = "cxl-cram/settings",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = cxl_cram_settings_needed,
    .fields = (const VMStateField[]) {
        VMSTATE_BOOL(poison_mce, CXLCramDev),
        VMSTATE_BOOL(poison_mce_set, CXLCramDev),
        VMSTATE_END_OF_LIST()
    },
};
