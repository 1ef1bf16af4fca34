/*
 * cxl-cram mailbox commands that differ from cxl-type3's
 *
 * Sanitize: cxl-type3 memsets its backend after a delay that grows with
 * the capacity.  cxl-cram discards every page of the engine instead, which
 * costs time in proportion to what is stored, and completes at once.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "hw/cxl/cxl.h"
#include "hw/cxl/cxl_mailbox.h"
#include "cxl-cram.h"
#include "trace.h"

#define CXL_CRAM_MBOX_SANITIZE      0x44
#define CXL_CRAM_MBOX_OVERWRITE     0x00

static CXLRetCode cxl_cram_cmd_sanitize(const struct cxl_cmd *cmd,
                                        uint8_t *payload_in, size_t len_in,
                                        uint8_t *payload_out, size_t *len_out,
                                        CXLCCI *cci)
{
    CXLCramDev *cram = CXL_CRAM(cci->d);

    cram_store_discard_all(cram->store);
    cxl_cram_poison_clear_all(cram);
    cxl_discard_all_event_records(&CXL_TYPE3(cram)->cxl_dstate);
    cxl_cram_safety_update(cram);
    trace_cxl_cram_sanitize();
    *len_out = 0;
    return CXL_MBOX_SUCCESS;
}

/* Built once: cxl_add_cci_commands() takes a whole 256x256 table. */
struct cxl_cmd (*cxl_cram_mailbox_cmd_set(void))[256]
{
    struct cxl_cmd (*set)[256] = g_malloc0(sizeof(struct cxl_cmd[256][256]));

    set[CXL_CRAM_MBOX_SANITIZE][CXL_CRAM_MBOX_OVERWRITE] = (struct cxl_cmd) {
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
