/*
 * cxl-cram poison: the CXL poison list, event records, and the mailbox
 * commands that read and change poison
 *
 * Poison granularity is the page: a dropped write, or an injection,
 * poisons a whole 4 KiB page.  The device's poison list (the one that
 * Get Poison List reports) holds one record per run of poisoned pages.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "qemu/range.h"
#include "qemu/uuid.h"
#include "hw/cxl/cxl.h"
#include "hw/cxl/cxl_mailbox.h"
#include "hw/cxl/cxl_events.h"
#include "cxl-cram.h"
#include "trace.h"

#define CXL_CRAM_LINE           64      /* poison list unit (CXL) */

/* Add [start, start + len) of @type, merged with touching records. */
static void cxl_cram_poison_list_add(CXLType3Dev *ct3d, uint64_t start,
                                     uint64_t len, uint8_t type)
{
    CXLPoison *p, *next;

    QLIST_FOREACH_SAFE(p, &ct3d->poison_list, node, next) {
        if (p->type == type && p->start <= start + len &&
            start <= p->start + p->length) {
            uint64_t end = MAX(start + len, p->start + p->length);

            start = MIN(start, p->start);
            len = end - start;
            QLIST_REMOVE(p, node);
            g_free(p);
            ct3d->poison_list_cnt--;
        }
    }
    p = g_new0(CXLPoison, 1);
    p->start = start;
    p->length = len;
    p->type = type;
    QLIST_INSERT_HEAD(&ct3d->poison_list, p, node);
    ct3d->poison_list_cnt++;
}

/* Remove [start, start + len) from every record, splitting as needed. */
static void cxl_cram_poison_list_remove(CXLType3Dev *ct3d, uint64_t start,
                                        uint64_t len)
{
    uint64_t end = start + len;
    CXLPoison *p, *next;

    QLIST_FOREACH_SAFE(p, &ct3d->poison_list, node, next) {
        uint64_t p_end = p->start + p->length;

        if (!ranges_overlap(p->start, p->length, start, len)) {
            continue;
        }
        if (p->start < start && p_end > end) {
            CXLPoison *tail = g_new0(CXLPoison, 1);

            tail->start = end;
            tail->length = p_end - end;
            tail->type = p->type;
            QLIST_INSERT_AFTER(p, tail, node);
            ct3d->poison_list_cnt++;
            p->length = start - p->start;
        } else if (p->start < start) {
            p->length = start - p->start;
        } else if (p_end > end) {
            p->start = end;
            p->length = p_end - end;
        } else {
            QLIST_REMOVE(p, node);
            g_free(p);
            ct3d->poison_list_cnt--;
        }
    }
}

/* CXL r3.1 Table 8-45: General Media Event Record */
static const QemuUUID cxl_cram_gen_media_uuid = {
    .data = UUID(0xfbcd0a77, 0xc260, 0x417f,
                 0x85, 0xa9, 0x08, 0x8b, 0x16, 0x21, 0xeb, 0xa6),
};

#define CXL_CRAM_GEM_SEVERITY_FAILURE   2
#define CXL_CRAM_GEM_DPA_VOLATILE       0x1
#define CXL_CRAM_GEM_UNCORRECTABLE      0x1
#define CXL_CRAM_GEM_DATA_PATH_ERROR    0x2
#define CXL_CRAM_GEM_HOST_WRITE         0x2

/* Failure log: a write to @page was dropped and the page is poisoned. */
static void cxl_cram_event_dropped(CXLCramDev *cram, uint64_t page)
{
    CXLType3Dev *ct3d = CXL_TYPE3(cram);
    CXLEventGenMedia gem = { 0 };

    st24_le_p(&gem.hdr.flags, CXL_CRAM_GEM_SEVERITY_FAILURE);
    gem.hdr.length = sizeof(gem);
    memcpy(&gem.hdr.id, &cxl_cram_gen_media_uuid, sizeof(gem.hdr.id));
    stq_le_p(&gem.hdr.timestamp,
             cxl_device_get_timestamp(&ct3d->cxl_dstate));
    stq_le_p(&gem.phys_addr,
             (page << CRAM_PAGE_SHIFT) | CXL_CRAM_GEM_DPA_VOLATILE);
    gem.descriptor = CXL_CRAM_GEM_UNCORRECTABLE;
    gem.type = CXL_CRAM_GEM_DATA_PATH_ERROR;
    gem.transaction_type = CXL_CRAM_GEM_HOST_WRITE;
    if (cxl_event_insert(&ct3d->cxl_dstate, CXL_EVENT_TYPE_FAIL,
                         (CXLEventRecordRaw *)&gem)) {
        cxl_event_irq_assert(ct3d);
    }
}

/* Poison @page: content gone, recorded, reads take poison from now on. */
void cxl_cram_poison_page(CXLCramDev *cram, uint64_t page, uint8_t type)
{
    cxl_cram_lock(cram);
    cxl_cram_invalidate(cram, page, 1);
    cram_engine_poison(cram->engine, page);
    cxl_cram_unlock(cram);
    cxl_cram_poison_list_add(CXL_TYPE3(cram), page << CRAM_PAGE_SHIFT,
                             CRAM_PAGE_SIZE, type);
    if (type == CXL_POISON_TYPE_INTERNAL) {
        cxl_cram_event_dropped(cram, page);
    }
}

/* Pages [first, first + n) were healed (stored, discarded, cleared). */
void cxl_cram_poison_healed(CXLCramDev *cram, uint64_t first, uint64_t n)
{
    cxl_cram_poison_list_remove(CXL_TYPE3(cram), first << CRAM_PAGE_SHIFT,
                                n << CRAM_PAGE_SHIFT);
}

void cxl_cram_poison_clear_all(CXLCramDev *cram)
{
    CXLType3Dev *ct3d = CXL_TYPE3(cram);

    cxl_cram_poison_list_remove(ct3d, 0, cram->capacity);
}

/*
 * Get Poison List (4300h).  cxl-type3 asserts when the answer does not
 * fit one payload; this one returns what fits, sets More Media Error
 * Records, and resumes there when the host asks the same range again.
 */
static CXLRetCode cxl_cram_cmd_get_poison(const struct cxl_cmd *cmd,
                                          uint8_t *in, size_t len_in,
                                          uint8_t *out, size_t *len_out,
                                          CXLCCI *cci)
{
    CXLCramDev *cram = CXL_CRAM(cci->d);
    CXLType3Dev *ct3d = CXL_TYPE3(cram);
    uint64_t q_start = ldq_le_p(in), q_len = ldq_le_p(in + 8) * 64;
    size_t max = (cci->payload_max - 0x20) / 16, n = 0;
    uint64_t from, next = UINT64_MAX;
    CXLPoison *p;

    if (q_start % CXL_CRAM_LINE || ldq_le_p(in + 8) > cram->capacity / 64) {
        return CXL_MBOX_INVALID_INPUT;
    }
    if (q_start >= cram->capacity) {
        return CXL_MBOX_INVALID_PA;     /* Linux probes the end this way */
    }
    q_len = MIN(q_len, cram->capacity - q_start);
    if (cram->poison_query_start != q_start ||
        cram->poison_query_len != q_len) {
        cram->poison_resume = q_start;
    }
    from = MAX(cram->poison_resume, q_start);
    memset(out, 0, 0x20);

    /* Emit records in address order, from @from, until the payload is full */
    while (n < max && from < q_start + q_len) {
        CXLPoison *best = NULL;
        uint64_t s, e;

        QLIST_FOREACH(p, &ct3d->poison_list, node) {
            if (p->start + p->length > from &&
                ranges_overlap(p->start, p->length, q_start, q_len) &&
                (!best || p->start < best->start)) {
                best = p;
            }
        }
        if (!best) {
            break;
        }
        s = MAX(MAX(best->start, q_start), from);
        e = MIN(best->start + best->length, q_start + q_len);
        /* the length field counts 64-byte lines in 32 bits */
        e = MIN(e, s + (uint64_t)UINT32_MAX * CXL_CRAM_LINE);
        stq_le_p(out + 0x20 + 16 * n, s | (best->type & 0x7));
        stl_le_p(out + 0x28 + 16 * n, (e - s) / CXL_CRAM_LINE);
        n++;
        from = e;
    }
    if (n == max && from < q_start + q_len) {
        QLIST_FOREACH(p, &ct3d->poison_list, node) {
            if (p->start + p->length > from &&
                ranges_overlap(p->start, p->length, q_start, q_len)) {
                next = from;
                out[0] |= 1;        /* More Media Error Records */
                break;
            }
        }
    }
    cram->poison_query_start = q_start;
    cram->poison_query_len = q_len;
    cram->poison_resume = next == UINT64_MAX ? q_start : next;
    stw_le_p(out + 0xa, n);
    *len_out = 0x20 + 16 * n;
    trace_cxl_cram_get_poison(q_start, q_len, n, out[0] & 1);
    return CXL_MBOX_SUCCESS;
}

static bool cxl_cram_dpa_valid(CXLCramDev *cram, uint64_t dpa)
{
    return !(dpa % CXL_CRAM_LINE) && dpa < cram->capacity;
}

/* Inject Poison (4301h): poisons the whole page holding @dpa. */
static CXLRetCode cxl_cram_cmd_inject_poison(const struct cxl_cmd *cmd,
                                             uint8_t *in, size_t len_in,
                                             uint8_t *out, size_t *len_out,
                                             CXLCCI *cci)
{
    CXLCramDev *cram = CXL_CRAM(cci->d);
    uint64_t dpa = ldq_le_p(in);

    if (!cxl_cram_dpa_valid(cram, dpa)) {
        return CXL_MBOX_INVALID_INPUT;
    }
    cxl_cram_poison_page(cram, dpa >> CRAM_PAGE_SHIFT,
                         CXL_POISON_TYPE_INJECTED);
    cxl_cram_safety_update(cram);
    *len_out = 0;
    return CXL_MBOX_SUCCESS;
}

/*
 * Clear Poison (4302h): writes the 64 bytes given at @dpa.  The page's
 * other bytes were lost with the poison: they read as zero afterwards.
 */
static CXLRetCode cxl_cram_cmd_clear_poison(const struct cxl_cmd *cmd,
                                            uint8_t *in, size_t len_in,
                                            uint8_t *out, size_t *len_out,
                                            CXLCCI *cci)
{
    CXLCramDev *cram = CXL_CRAM(cci->d);
    uint64_t dpa = ldq_le_p(in), page = dpa >> CRAM_PAGE_SHIFT;

    if (!cxl_cram_dpa_valid(cram, dpa)) {
        return CXL_MBOX_INVALID_INPUT;
    }
    cxl_cram_lock(cram);
    if (cram_engine_page_poisoned(cram->engine, page)) {
        cxl_cram_invalidate(cram, page, 1);
        cram_engine_discard(cram->engine, page);
        cxl_cram_poison_healed(cram, page, 1);
    }
    cxl_cram_unlock(cram);
    cxl_cram_poison_list_remove(CXL_TYPE3(cram), dpa, CXL_CRAM_LINE);
    cxl_cram_write_bytes(cram, dpa, in + 8, CXL_CRAM_LINE);
    cxl_cram_flush(cram);       /* complete when the command returns */
    *len_out = 0;
    return CXL_MBOX_SUCCESS;
}

void cxl_cram_poison_cmds(struct cxl_cmd (*set)[256])
{
    set[0x43][0x00] = (struct cxl_cmd) {
        "MEDIA_AND_POISON_GET_POISON_LIST", cxl_cram_cmd_get_poison, 16, 0,
    };
    set[0x43][0x01] = (struct cxl_cmd) {
        "MEDIA_AND_POISON_INJECT_POISON", cxl_cram_cmd_inject_poison, 8,
        CXL_MBOX_IMMEDIATE_DATA_CHANGE,
    };
    set[0x43][0x02] = (struct cxl_cmd) {
        "MEDIA_AND_POISON_CLEAR_POISON", cxl_cram_cmd_clear_poison, 72,
        CXL_MBOX_IMMEDIATE_DATA_CHANGE,
    };
}
