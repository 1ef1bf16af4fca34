/*
 * cxl-cram machine checks: a read of a poisoned page raises an SRAR
 * machine check in the guest at the host physical address read, as a real
 * CXL expander's poisoned read would on x86.
 *
 * The check is not raised inside the MMIO handler: it is queued to the
 * vCPU that made the access (the first vCPU under qtest), and the access
 * is abandoned so that the vCPU leaves the translated code at once with
 * its state restored to the faulting instruction.  The check is then
 * delivered before that instruction runs again: RIP points at it, as on
 * hardware, and the kernel's MC-safe copies can recover.  It is broadcast
 * to every vCPU, as Intel CPUs do.  One is in flight at a time: until
 * every vCPU has been given its share and none is in its handler, a
 * poisoned load on a vCPU is abandoned and run again, so that a check
 * never lands on a vCPU still leaving the previous one (a late share
 * nested on the guest's machine-check stack and crashed it).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/rcu.h"
#include "system/tcg.h"
#include "exec/cpu-common.h"
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

/*
 * The other vCPUs' share of a broadcast machine check, as
 * cpu_x86_inject_mce(MCE_INJECT_BROADCAST) would give it, but raised by
 * each vCPU on its own thread: a vCPU waiting for another in run_on_cpu()
 * made the rendezvous of a Linux guest time out under multi-threaded TCG.
 */
static void cxl_cram_do_mce_peer(CPUState *cs, run_on_cpu_data data)
{
    CXLCramDev *cram = data.host_ptr;

    cpu_x86_inject_mce(NULL, X86_CPU(cs), 1, MCI_STATUS_VAL | MCI_STATUS_UC,
                       MCG_STATUS_MCIP | MCG_STATUS_RIPV, 0, 0, 0);
    cram->mce_queued--;
    object_unref(OBJECT(cram));
}

static void cxl_cram_do_mce(CPUState *cs, run_on_cpu_data data)
{
    CXLCramMce *m = data.host_ptr;

    cpu_x86_inject_mce(NULL, X86_CPU(cs), CXL_CRAM_MCE_BANK,
                       CXL_CRAM_MCE_STATUS, CXL_CRAM_MCG_STATUS, m->hpa,
                       CXL_CRAM_MCE_MISC, 0);
    m->cram->safety.mce_raised++;
    m->cram->mce_queued--;
    object_unref(OBJECT(m->cram));
    g_free(m);
}

/* A vCPU other than @self is still in a machine check handler. */
static bool cxl_cram_mcip_elsewhere(CPUState *self)
{
    CPUState *cs;

    CPU_FOREACH(cs) {
        if (cs != self && (X86_CPU(cs)->env.mcg_status & MCG_STATUS_MCIP)) {
            return true;
        }
    }
    return false;
}

/*
 * Abandon the load and run the faulting instruction again later.  A load
 * that came through address_space_read() holds its RCU read lock, which
 * the jump would skip; the vmem_read hook takes none.
 */
static G_NORETURN void cxl_cram_restart_load(CPUState *self, bool rcu_held)
{
    if (rcu_held) {
        rcu_read_unlock();
    }
    cpu_loop_exit_restore(self, self->mem_io_pc);
}

bool cxl_cram_raise_mce(CXLCramDev *cram, uint64_t dpa, bool rcu_held)
{
    CPUState *self = current_cpu;
    CPUState *cs = self ? self : first_cpu;
    bool vcpu = self && tcg_enabled();
    CXLCramMce *m;
    uint64_t hpa;

    if (!cs || !cxl_cram_dpa_to_hpa(CXL_TYPE3(cram), dpa, &hpa)) {
        trace_cxl_cram_mce_skipped(dpa, "no vCPU or no HPA");
        return false;
    }
    if (self && (X86_CPU(self)->env.mcg_status & MCG_STATUS_MCIP)) {
        /* Poison read inside the handler: hardware would shut down. */
        trace_cxl_cram_mce_skipped(dpa, "inside a machine check handler");
        return false;
    }
    if (cram->mce_queued || cxl_cram_mcip_elsewhere(self)) {
        /* A second one while a handler runs would be recursive. */
        if (vcpu) {
            /* Wait for it: the load runs again after this vCPU's work. */
            trace_cxl_cram_mce_skipped(dpa, "deferred: another in flight");
            cxl_cram_restart_load(self, rcu_held);
        }
        trace_cxl_cram_mce_skipped(dpa, "another one in flight");
        return false;
    }
    m = g_new(CXLCramMce, 1);
    m->cram = CXL_CRAM(object_ref(OBJECT(cram)));
    m->hpa = hpa;
    cram->mce_queued++;
    trace_cxl_cram_mce(dpa, hpa, cs->cpu_index);
    async_run_on_cpu(cs, cxl_cram_do_mce, RUN_ON_CPU_HOST_PTR(m));
    if (cpu_x86_support_mca_broadcast(&X86_CPU(cs)->env)) {
        CPUState *other;

        CPU_FOREACH(other) {
            if (other != cs) {
                cram->mce_queued++;
                object_ref(OBJECT(cram));
                async_run_on_cpu(other, cxl_cram_do_mce_peer,
                                 RUN_ON_CPU_HOST_PTR(cram));
            }
        }
    }
    if (vcpu) {
        cxl_cram_restart_load(self, rcu_held);
    }
    return true;
}

#else

bool cxl_cram_raise_mce(CXLCramDev *cram, uint64_t dpa, bool rcu_held)
{
    uint64_t hpa;

    /* Still decode, so that the helper is built and checked everywhere */
    if (cxl_cram_dpa_to_hpa(CXL_TYPE3(cram), dpa, &hpa)) {
        trace_cxl_cram_mce_skipped(dpa, "no machine checks on this target");
    }
    return false;
}

#endif
