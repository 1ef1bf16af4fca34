/*
 * cxl-cram QMP commands for a QEMU built without the device (its targets
 * are x86 only, the schema is common to all)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qapi-commands-cxl-cram.h"

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
    error_setg(errp, "cxl-cram is not built into this QEMU");
}

void qmp_cxl_cram_take_media(const char *path, uint64_t size, Error **errp)
{
    error_setg(errp, "cxl-cram is not built into this QEMU");
}

void qmp_cxl_cram_worker(const char *path, bool paused, Error **errp)
{
    error_setg(errp, "cxl-cram is not built into this QEMU");
}

void qmp_cxl_cram_flush(const char *path, Error **errp)
{
    error_setg(errp, "cxl-cram is not built into this QEMU");
}

void qmp_cxl_cram_store_as(const char *path, bool enable,
                           bool has_dpa, uint64_t dpa,
                           bool has_length, uint64_t length,
                           bool has_size, uint64_t size, Error **errp)
{
    error_setg(errp, "cxl-cram is not built into this QEMU");
}

CxlCramPageBucketList *qmp_cxl_cram_query_pages(const char *path,
                                                bool has_dpa, uint64_t dpa,
                                                bool has_length,
                                                uint64_t length,
                                                bool has_buckets,
                                                uint32_t buckets,
                                                Error **errp)
{
    error_setg(errp, "cxl-cram is not built into this QEMU");
    return NULL;
}
