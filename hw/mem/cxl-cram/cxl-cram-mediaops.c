/*
 * cxl-cram Media Operations (4402h, CXL r3.2 8.2.10.9.5.3)
 *
 * The compressed-CXL driver zeroes freed pages in batches with the
 * Sanitize class, Zero subclass, and probes support with a request that
 * carries no range.  Zeroing a whole page discards it: it reads as zero,
 * uses no media, and its poison is gone.  Partial pages are written with
 * zeros.  The whole list is validated before anything changes.
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

#define MEDIA_OP_HDR                    8       /* class, subclass, count */
#define MEDIA_OP_RANGE                  16      /* start, length (bytes) */
#define MEDIA_OP_GRANULARITY            64

static const uint8_t cxl_cram_media_ops[][2] = {
    { MEDIA_OP_CLASS_GENERAL, MEDIA_OP_GENERAL_DISCOVERY },
    { MEDIA_OP_CLASS_SANITIZE, MEDIA_OP_SANITIZE_ZERO },
};

static CXLRetCode cxl_cram_media_discovery(uint8_t *in, size_t len_in,
                                           uint8_t *out, size_t *len_out)
{
    uint16_t start, num, i;

    if (len_in != MEDIA_OP_HDR + 4) {
        return CXL_MBOX_INVALID_PAYLOAD_LENGTH;
    }
    if (ldl_le_p(in + 4)) {
        return CXL_MBOX_INVALID_INPUT;      /* no ranges with discovery */
    }
    start = lduw_le_p(in + 8);
    num = lduw_le_p(in + 10);
    if (start > ARRAY_SIZE(cxl_cram_media_ops) ||
        num > ARRAY_SIZE(cxl_cram_media_ops) - start) {
        return CXL_MBOX_INVALID_INPUT;
    }
    stq_le_p(out, MEDIA_OP_GRANULARITY);
    stw_le_p(out + 8, ARRAY_SIZE(cxl_cram_media_ops));
    stw_le_p(out + 10, num);
    for (i = 0; i < num; i++) {
        out[12 + 2 * i] = cxl_cram_media_ops[start + i][0];
        out[13 + 2 * i] = cxl_cram_media_ops[start + i][1];
    }
    *len_out = 12 + 2 * num;
    return CXL_MBOX_SUCCESS;
}

/* Range @i's whole pages: [first, last) of its bytes, page-aligned. */
static void cxl_cram_zero_whole(uint64_t start, uint64_t len, uint64_t *first,
                                uint64_t *last)
{
    *first = ROUND_UP(start, CRAM_PAGE_SIZE);
    *last = ROUND_DOWN(start + len, CRAM_PAGE_SIZE);
    if (*first >= *last) {
        *first = *last = start + len;   /* no whole page: all lines */
    }
}

/* Does a range after @i discard @page whole? */
static bool cxl_cram_zeroed_later(const CramRange *whole, uint32_t i,
                                  uint32_t count, uint64_t page)
{
    for (i++; i < count; i++) {
        if (page - whole[i].first < whole[i].n) {
            return true;
        }
    }
    return false;
}

/* Write zeros over the lines [a, end) of range @i. */
static void cxl_cram_zero_lines(CXLCramDev *cram, const CramRange *whole,
                                uint32_t i, uint32_t count, uint64_t a,
                                uint64_t end)
{
    static const uint8_t zero[MEDIA_OP_GRANULARITY];
    uint64_t page = UINT64_MAX;
    bool skip = false;

    for (; a < end; a += MEDIA_OP_GRANULARITY) {
        if (a >> CRAM_PAGE_SHIFT != page) {
            page = a >> CRAM_PAGE_SHIFT;
            skip = cxl_cram_zeroed_later(whole, i, count, page);
        }
        if (!skip) {
            cxl_cram_write_bytes(cram, a, zero, MEDIA_OP_GRANULARITY);
        }
    }
}

static CXLRetCode cxl_cram_media_zero(CXLCramDev *cram, uint8_t *in,
                                      size_t len_in)
{
    uint32_t count = ldl_le_p(in + 4), i;
    g_autofree CramRange *whole = NULL;

    if (len_in != MEDIA_OP_HDR + (uint64_t)count * MEDIA_OP_RANGE) {
        return CXL_MBOX_INVALID_PAYLOAD_LENGTH;
    }
    for (i = 0; i < count; i++) {
        uint64_t start = ldq_le_p(in + MEDIA_OP_HDR + MEDIA_OP_RANGE * i);
        uint64_t len = ldq_le_p(in + MEDIA_OP_HDR + MEDIA_OP_RANGE * i + 8);

        if (start % MEDIA_OP_GRANULARITY || len % MEDIA_OP_GRANULARITY ||
            !len || start >= cram->capacity ||
            len > cram->capacity - start) {
            trace_cxl_cram_media_zero_invalid(i, start, len);
            return CXL_MBOX_INVALID_INPUT;
        }
    }
    /*
     * The whole pages of every range are discarded at once: one walk of
     * what the device holds, however large the ranges.  Then the partial
     * lines, range by range, as if each range had been zeroed in turn: a
     * line whose page a later range discards whole is not written, since
     * that discard would have come after it.
     */
    whole = g_new0(CramRange, MAX(count, 1));
    for (i = 0; i < count; i++) {
        uint64_t start = ldq_le_p(in + MEDIA_OP_HDR + MEDIA_OP_RANGE * i);
        uint64_t len = ldq_le_p(in + MEDIA_OP_HDR + MEDIA_OP_RANGE * i + 8);
        uint64_t first, last;

        cxl_cram_zero_whole(start, len, &first, &last);
        whole[i].first = first >> CRAM_PAGE_SHIFT;
        whole[i].n = (last - first) >> CRAM_PAGE_SHIFT;
    }
    cxl_cram_discard_ranges(cram, whole, count);
    for (i = 0; i < count; i++) {
        uint64_t start = ldq_le_p(in + MEDIA_OP_HDR + MEDIA_OP_RANGE * i);
        uint64_t len = ldq_le_p(in + MEDIA_OP_HDR + MEDIA_OP_RANGE * i + 8);
        uint64_t first, last;

        cxl_cram_zero_whole(start, len, &first, &last);
        cxl_cram_zero_lines(cram, whole, i, count, start, first);
        cxl_cram_zero_lines(cram, whole, i, count, last, start + len);
    }
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
    CXLCramDev *cram = CXL_CRAM(cci->d);

    *len_out = 0;
    if (len_in < MEDIA_OP_HDR) {
        return CXL_MBOX_INVALID_PAYLOAD_LENGTH;
    }
    if (in[0] == MEDIA_OP_CLASS_GENERAL &&
        in[1] == MEDIA_OP_GENERAL_DISCOVERY) {
        return cxl_cram_media_discovery(in, len_in, out, len_out);
    }
    if (in[0] == MEDIA_OP_CLASS_SANITIZE && in[1] == MEDIA_OP_SANITIZE_ZERO) {
        return cxl_cram_media_zero(cram, in, len_in);
    }
    return CXL_MBOX_UNSUPPORTED;
}

void cxl_cram_media_ops_cmds(struct cxl_cmd (*set)[256])
{
    set[0x44][0x02] = (struct cxl_cmd) {
        "MEDIA_OPERATIONS", cxl_cram_cmd_media_ops, ~0,
        CXL_MBOX_IMMEDIATE_DATA_CHANGE,
    };
}
