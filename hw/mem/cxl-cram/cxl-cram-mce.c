/*
 * cxl-cram machine checks: a read of a poisoned page raises an SRAR
 * machine check in the guest at the host physical address read, as a real
 * CXL expander's poisoned read would on x86.
 *
 * The check is not raised inside the MMIO handler: it is queued to the
 * vCPU that made the access (the first vCPU under qtest) and raised when
 * that vCPU leaves the translated code.  One is in flight at a time.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "hw/core/cpu.h"
#include "hw/cxl/cxl.h"
#include "cxl-cram.h"
#include "trace.h"
#ifdef TARGET_I386
#include "cpu.h"
#endif

/*
 * Reverse of cxl-type3's HPA to DPA decode, for non-interleaved decoders:
 * an interleaved decoder's position in its set is not known here.
 */
static bool cxl_cram_dpa_to_hpa(CXLType3Dev *ct3d, uint64_t dpa,
                                uint64_t *hpa)
{
    uint32_t *cm = ct3d->cxl_cstate.crb.cache_mem_registers;
    int inc = R_CXL_HDM_DECODER1_BASE_LO - R_CXL_HDM_DECODER0_BASE_LO;
    uint32_t cap = ldl_le_p(cm + R_CXL_HDM_DECODER_CAPABILITY);
    int n = cxl_decoder_count_dec(FIELD_EX32(cap, CXL_HDM_DECODER_CAPABILITY,
                                             DECODER_COUNT));
    uint64_t dpa_base = 0;
    int i;

    for (i = 0; i < n; i++) {
        uint32_t ctrl = ldl_le_p(cm + R_CXL_HDM_DECODER0_CTRL + i * inc);
        uint64_t base, size, skip;

        if (!FIELD_EX32(ctrl, CXL_HDM_DECODER0_CTRL, COMMITTED)) {
            return false;
        }
        base = ((uint64_t)ldl_le_p(cm + R_CXL_HDM_DECODER0_BASE_HI +
                                   i * inc) << 32) |
               (ldl_le_p(cm + R_CXL_HDM_DECODER0_BASE_LO + i * inc) &
                0xf0000000);
        size = ((uint64_t)ldl_le_p(cm + R_CXL_HDM_DECODER0_SIZE_HI +
                                   i * inc) << 32) |
               (ldl_le_p(cm + R_CXL_HDM_DECODER0_SIZE_LO + i * inc) &
                0xf0000000);
        skip = ((uint64_t)ldl_le_p(cm + R_CXL_HDM_DECODER0_DPA_SKIP_HI +
                                   i * inc) << 32) |
               (ldl_le_p(cm + R_CXL_HDM_DECODER0_DPA_SKIP_LO + i * inc) &
                0xf0000000);
        dpa_base += skip;
        if (FIELD_EX32(ctrl, CXL_HDM_DECODER0_CTRL, IW)) {
            return false;
        }
        if (dpa >= dpa_base && dpa - dpa_base < size) {
            *hpa = base + (dpa - dpa_base);
            return true;
        }
        dpa_base += size;
    }
    return false;
}

#ifdef TARGET_I386

/* Bank 9; VAL UC EN MISCV ADDRV S AR, MCACOD 0x134 (data read). */
#define CXL_CRAM_MCE_BANK       9
#define CXL_CRAM_MCE_STATUS     0xbd80000000000134ULL
#define CXL_CRAM_MCG_STATUS     (MCG_STATUS_MCIP | MCG_STATUS_RIPV | \
                                 MCG_STATUS_EIPV)
#define CXL_CRAM_MCE_MISC       0x8c    /* physical address, 4 KiB LSB */

typedef struct CXLCramMce {
    CXLCramDev *cram;
    uint64_t hpa;
} CXLCramMce;

static void cxl_cram_do_mce(CPUState *cs, run_on_cpu_data data)
{
    CXLCramMce *m = data.host_ptr;

    cpu_x86_inject_mce(NULL, X86_CPU(cs), CXL_CRAM_MCE_BANK,
                       CXL_CRAM_MCE_STATUS, CXL_CRAM_MCG_STATUS, m->hpa,
                       CXL_CRAM_MCE_MISC, 0);
    m->cram->safety.mce_raised++;
    m->cram->mce_pending = false;
    object_unref(OBJECT(m->cram));
    g_free(m);
}

bool cxl_cram_raise_mce(CXLCramDev *cram, uint64_t dpa)
{
    CPUState *cs = current_cpu ? current_cpu : first_cpu;
    CXLCramMce *m;
    uint64_t hpa;

    if (cram->mce_pending) {
        trace_cxl_cram_mce_skipped(dpa, "one already in flight");
        return false;
    }
    if (!cs || !cxl_cram_dpa_to_hpa(CXL_TYPE3(cram), dpa, &hpa)) {
        trace_cxl_cram_mce_skipped(dpa, "no vCPU or no HPA");
        return false;
    }
    m = g_new(CXLCramMce, 1);
    m->cram = CXL_CRAM(object_ref(OBJECT(cram)));
    m->hpa = hpa;
    cram->mce_pending = true;
    trace_cxl_cram_mce(dpa, hpa, cs->cpu_index);
    async_run_on_cpu(cs, cxl_cram_do_mce, RUN_ON_CPU_HOST_PTR(m));
    return true;
}

#else

bool cxl_cram_raise_mce(CXLCramDev *cram, uint64_t dpa)
{
    uint64_t hpa;

    /* Still decode, so that the helper is built and checked everywhere */
    if (cxl_cram_dpa_to_hpa(CXL_TYPE3(cram), dpa, &hpa)) {
        trace_cxl_cram_mce_skipped(dpa, "no machine checks on this target");
    }
    return false;
}

#endif
