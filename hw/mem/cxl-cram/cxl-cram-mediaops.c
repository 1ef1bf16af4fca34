/*
 * cxl-cram Media Operations (4402h, CXL r3.2 8.2.10.9.5.3)
 *
 * The compressed-CXL driver zeroes freed pages in batches with the
 * Sanitize class, Zero subclass, and probes support with a request that
 * carries no range.  Zeroing a whole page discards it: it reads as zero,
 * uses no media, and its poison is gone.  Partial pages are written with
 * zeros (cram_store_zero_ranges()).  The whole list is validated before
 * anything changes.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "hw/cxl/cxl.h"
#include "hw/cxl/cxl_mailbox.h"
#include "cxl-cram.h"
#include "trace.h"

#define MEDIA_OP_CLASS_GENERAL          0x00
#define MEDIA_OP_GENERAL_DISCOVERY      0x00
#define MEDIA_OP_CLASS_SANITIZE         0x01
#define MEDIA_OP_SANITIZE_ZERO          0x01

/* CXL r3.2 Table 8-331: Media Operations input payload */
typedef struct CXLCramMediaOpsIn {
    uint8_t class;
    uint8_t subclass;
    uint8_t rsvd[2];
    uint32_t dpa_range_count;
    union {
        struct {
            uint64_t start;
            uint64_t length;
        } QEMU_PACKED ranges[0];
        struct {
            uint16_t start_index;
            uint16_t num_ops;
        } QEMU_PACKED discovery;
    };
} QEMU_PACKED CXLCramMediaOpsIn;

/* Table 8-332: the Discovery output payload */
typedef struct CXLCramMediaOpsOut {
    uint64_t granularity;
    uint16_t total_ops;
    uint16_t num_ops;
    uint8_t ops[][2];           /* class, subclass */
} QEMU_PACKED CXLCramMediaOpsOut;

static const uint8_t cxl_cram_media_ops[][2] = {
    { MEDIA_OP_CLASS_GENERAL, MEDIA_OP_GENERAL_DISCOVERY },
    { MEDIA_OP_CLASS_SANITIZE, MEDIA_OP_SANITIZE_ZERO },
};

static CXLRetCode cxl_cram_media_discovery(CXLCramMediaOpsIn *in,
                                           size_t len_in,
                                           CXLCramMediaOpsOut *out,
                                           size_t *len_out)
{
    uint16_t start = le16_to_cpu(in->discovery.start_index);
    uint16_t num = le16_to_cpu(in->discovery.num_ops);

    if (len_in != offsetof(CXLCramMediaOpsIn, discovery) +
                  sizeof(in->discovery)) {
        return CXL_MBOX_INVALID_PAYLOAD_LENGTH;
    }
    if (in->dpa_range_count) {
        return CXL_MBOX_INVALID_INPUT;      /* no ranges with discovery */
    }
    if (start > ARRAY_SIZE(cxl_cram_media_ops) ||
        num > ARRAY_SIZE(cxl_cram_media_ops) - start) {
        return CXL_MBOX_INVALID_INPUT;
    }
    out->granularity = cpu_to_le64(CXL_CACHE_LINE_SIZE);
    out->total_ops = cpu_to_le16(ARRAY_SIZE(cxl_cram_media_ops));
    out->num_ops = cpu_to_le16(num);
    memcpy(out->ops, cxl_cram_media_ops[start], 2 * num);
    *len_out = sizeof(*out) + 2 * num;
    return CXL_MBOX_SUCCESS;
}

/*
 * Zero: the whole list is checked first; then the store zeroes the
 * ranges (pages covered whole are discarded, in one walk of what is
 * held, however large the ranges).
 */
static CXLRetCode cxl_cram_media_zero(CXLCramDev *cram, CXLCramMediaOpsIn *in,
                                      size_t len_in)
{
    uint32_t count = le32_to_cpu(in->dpa_range_count), i;
    g_autofree CramByteRange *r = NULL;

    if (len_in != offsetof(CXLCramMediaOpsIn, ranges) +
                  (uint64_t)count * sizeof(in->ranges[0])) {
        return CXL_MBOX_INVALID_PAYLOAD_LENGTH;
    }
    r = g_new(CramByteRange, MAX(count, 1));
    for (i = 0; i < count; i++) {
        r[i].start = le64_to_cpu(in->ranges[i].start);
        r[i].len = le64_to_cpu(in->ranges[i].length);
        if (r[i].start % CXL_CACHE_LINE_SIZE ||
            r[i].len % CXL_CACHE_LINE_SIZE || !r[i].len ||
            r[i].start >= cram->capacity ||
            r[i].len > cram->capacity - r[i].start) {
            trace_cxl_cram_media_zero_invalid(i, r[i].start, r[i].len);
            return CXL_MBOX_INVALID_INPUT;
        }
    }
    cram_store_zero_ranges(cram->store, r, count);
    /*
     * The operation is complete when it returns: partial lines written to
     * a poisoned page must not linger in the cache and merge with later
     * writes into a whole page.
     */
    cxl_cram_flush(cram);
    trace_cxl_cram_media_zero(count);
    return CXL_MBOX_SUCCESS;
}

static CXLRetCode cxl_cram_cmd_media_ops(const struct cxl_cmd *cmd,
                                         uint8_t *in, size_t len_in,
                                         uint8_t *out, size_t *len_out,
                                         CXLCCI *cci)
{
    CXLCramMediaOpsIn *op = (void *)in;

    *len_out = 0;
    if (len_in < offsetof(CXLCramMediaOpsIn, ranges)) {
        return CXL_MBOX_INVALID_PAYLOAD_LENGTH;
    }
    if (op->class == MEDIA_OP_CLASS_GENERAL &&
        op->subclass == MEDIA_OP_GENERAL_DISCOVERY) {
        return cxl_cram_media_discovery(op, len_in, (void *)out, len_out);
    }
    if (op->class == MEDIA_OP_CLASS_SANITIZE &&
        op->subclass == MEDIA_OP_SANITIZE_ZERO) {
        return cxl_cram_media_zero(CXL_CRAM(cci->d), op, len_in);
    }
    return CXL_MBOX_UNSUPPORTED;
}

void cxl_cram_media_ops_cmds(struct cxl_cmd (*set)[256])
{
    set[CXL_CRAM_OP_SANITIZE][CXL_CRAM_OP_MEDIA_OPS] = (struct cxl_cmd) {
        "MEDIA_OPERATIONS", cxl_cram_cmd_media_ops, ~0,
        CXL_MBOX_IMMEDIATE_DATA_CHANGE,
    };
}
