/*
 * cxl-cram mailbox commands that differ from cxl-type3's
 *
 * Sanitize: cxl-type3 memsets its backend after a delay that grows with
 * the capacity.  cxl-cram discards every page of the engine instead, which
 * costs time in proportion to what is stored, and completes at once.
 *
 * Get Poison List, Inject Poison, Clear Poison: poison is the engine's
 * page state (cxl-cram-poison.c); records are derived from it.  Media
 * Operations are in cxl-cram-mediaops.c.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "hw/cxl/cxl.h"
#include "hw/cxl/cxl_mailbox.h"
#include "cxl-cram.h"
#include "trace.h"

static CXLRetCode cxl_cram_cmd_sanitize(const struct cxl_cmd *cmd,
                                        uint8_t *payload_in, size_t len_in,
                                        uint8_t *payload_out, size_t *len_out,
                                        CXLCCI *cci)
{
    CXLCramDev *cram = CXL_CRAM(cci->d);

    cram_store_discard_all(cram->store);
    cxl_discard_all_event_records(&CXL_TYPE3(cram)->cxl_dstate);
    cxl_cram_safety_update(cram);
    trace_cxl_cram_sanitize();
    *len_out = 0;
    return CXL_MBOX_SUCCESS;
}

/* CXL r3.2 Table 8-140: Get Poison List input payload */
typedef struct CXLCramPoisonQuery {
    uint64_t start;
    uint64_t lines;             /* of CXL_CACHE_LINE_SIZE bytes */
} QEMU_PACKED CXLCramPoisonQuery;

/* Table 8-141: its output payload */
#define CXL_CRAM_POISON_MORE    0x1     /* More Media Error Records */
typedef struct CXLCramPoisonList {
    uint8_t flags;
    uint8_t rsvd1;
    uint64_t overflow_timestamp;
    uint16_t count;
    uint8_t rsvd2[0x14];
    struct {
        uint64_t addr;          /* bits 2:0: the source */
        uint32_t lines;
        uint8_t rsvd[4];
    } QEMU_PACKED records[];
} QEMU_PACKED CXLCramPoisonList;

/*
 * Get Poison List (4300h).  cxl-type3 asserts when the answer does not
 * fit one payload; this one returns what fits, sets More Media Error
 * Records, and resumes there when the host asks the same range again.
 * Each record costs a lookup or two, whatever lies between records.
 */
static CXLRetCode cxl_cram_cmd_get_poison(const struct cxl_cmd *cmd,
                                          uint8_t *in, size_t len_in,
                                          uint8_t *pl_out, size_t *len_out,
                                          CXLCCI *cci)
{
    CXLCramDev *cram = CXL_CRAM(cci->d);
    CXLCramPoisonQuery *q = (void *)in;
    CXLCramPoisonList *out = (void *)pl_out;
    uint64_t q_start = le64_to_cpu(q->start), lines = le64_to_cpu(q->lines);
    size_t max = (cci->payload_max - sizeof(*out)) / sizeof(out->records[0]);
    uint64_t from, q_len, q_end, next = UINT64_MAX, s, e;
    size_t n = 0;
    uint8_t type;

    if (q_start % CXL_CACHE_LINE_SIZE ||
        lines > cram->capacity / CXL_CACHE_LINE_SIZE) {
        return CXL_MBOX_INVALID_INPUT;
    }
    if (q_start >= cram->capacity) {
        return CXL_MBOX_INVALID_PA;     /* Linux probes the end this way */
    }
    q_len = MIN(lines * CXL_CACHE_LINE_SIZE, cram->capacity - q_start);
    q_end = q_start + q_len;
    if (cram->poison_query_start != q_start ||
        cram->poison_query_len != q_len) {
        cram->poison_resume = q_start;
    }
    from = MAX(cram->poison_resume, q_start);
    memset(out, 0, sizeof(*out));

    /* Emit records in address order, from @from, until the payload is full */
    while (n < max && from < q_end &&
           cxl_cram_poison_next(cram, from, q_end, &s, &e, &type)) {
        /* the length field counts lines in 32 bits */
        e = MIN(e, s + (uint64_t)UINT32_MAX * CXL_CACHE_LINE_SIZE);
        out->records[n].addr = cpu_to_le64(s | (type & 0x7));
        out->records[n].lines = cpu_to_le32((e - s) / CXL_CACHE_LINE_SIZE);
        n++;
        from = e;
    }
    if (n == max && from < q_end &&
        cxl_cram_poison_next(cram, from, q_end, &s, &e, &type)) {
        next = from;
        out->flags |= CXL_CRAM_POISON_MORE;
    }
    cram->poison_query_start = q_start;
    cram->poison_query_len = q_len;
    cram->poison_resume = next == UINT64_MAX ? q_start : next;
    out->count = cpu_to_le16(n);
    *len_out = sizeof(*out) + n * sizeof(out->records[0]);
    trace_cxl_cram_get_poison(q_start, q_len, n, next != UINT64_MAX);
    return CXL_MBOX_SUCCESS;
}

static bool cxl_cram_dpa_valid(CXLCramDev *cram, uint64_t dpa)
{
    return !(dpa % CXL_CACHE_LINE_SIZE) && dpa < cram->capacity;
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
    uint64_t dpa = ldq_le_p(in);

    if (!cxl_cram_dpa_valid(cram, dpa)) {
        return CXL_MBOX_INVALID_INPUT;
    }
    cram_store_unpoison(cram->store, dpa >> CRAM_PAGE_SHIFT);
    cram_store_access(cram->store, dpa, in + 8, CXL_CACHE_LINE_SIZE, true,
                      NULL);
    cxl_cram_flush(cram);       /* complete when the command returns */
    *len_out = 0;
    return CXL_MBOX_SUCCESS;
}

static void cxl_cram_poison_cmds(struct cxl_cmd (*set)[256])
{
    set[CXL_CRAM_OP_POISON][CXL_CRAM_OP_GET_POISON] = (struct cxl_cmd) {
        "MEDIA_AND_POISON_GET_POISON_LIST", cxl_cram_cmd_get_poison, 16, 0,
    };
    set[CXL_CRAM_OP_POISON][CXL_CRAM_OP_INJECT_POISON] = (struct cxl_cmd) {
        "MEDIA_AND_POISON_INJECT_POISON", cxl_cram_cmd_inject_poison, 8,
        CXL_MBOX_IMMEDIATE_DATA_CHANGE,
    };
    set[CXL_CRAM_OP_POISON][CXL_CRAM_OP_CLEAR_POISON] = (struct cxl_cmd) {
        "MEDIA_AND_POISON_CLEAR_POISON", cxl_cram_cmd_clear_poison, 72,
        CXL_MBOX_IMMEDIATE_DATA_CHANGE,
    };
}

/* Built once: cxl_add_cci_commands() takes a whole 256x256 table. */
struct cxl_cmd (*cxl_cram_mailbox_cmd_set(void))[256]
{
    struct cxl_cmd (*set)[256] = g_malloc0(sizeof(struct cxl_cmd[256][256]));

    set[CXL_CRAM_OP_SANITIZE][CXL_CRAM_OP_OVERWRITE] = (struct cxl_cmd) {
        "SANITIZE_OVERWRITE", cxl_cram_cmd_sanitize, 0,
        CXL_MBOX_IMMEDIATE_DATA_CHANGE | CXL_MBOX_SECURITY_STATE_CHANGE,
    };
    cxl_cram_poison_cmds(set);
    cxl_cram_media_ops_cmds(set);
    return set;
}

/* Called after cxl-type3's reset, which reinstalls its own tables. */
void cxl_cram_mailbox_init(CXLCramDev *cram)
{
    CXLCramClass *cc = CXL_CRAM_GET_CLASS(cram);
    CXLType3Dev *ct3d = CXL_TYPE3(cram);

    cxl_add_cci_commands(&ct3d->cci, (const struct cxl_cmd (*)[256])cc->cmd_set,
                         ct3d->cci.payload_max);
}
