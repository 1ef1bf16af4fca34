/*
 * cxl-cram machine checks: a guest load of a poisoned page raises an SRAR
 * machine check in the guest at the host physical address read, as a real
 * CXL expander's poisoned read would on x86.  cxl-type3 gives that
 * address with the access, so it is exact however the decoders
 * interleave.
 *
 * Only a load that a vCPU executes takes a check.  Anything else that
 * reads poison (device DMA, HMP xp and pmemsave, QMP, the gdbstub, a
 * device model running on a vCPU thread) gets a failed transaction,
 * MEMTX_ERROR with all-ones data; the read is counted either way.
 *
 * The check is not raised inside the MMIO handler: it is queued to the
 * vCPU that made the load, and the load is abandoned so that the vCPU
 * leaves the translated code at once with its state restored to the
 * faulting instruction.  The check is then delivered before that
 * instruction runs again: RIP points at it, as on hardware, and the
 * kernel's MC-safe copies can recover.  It is broadcast to every vCPU
 * that can take one, as Intel CPUs do.  One is in flight at a time: until
 * every share has been delivered and no vCPU is in its handler (MCIP set,
 * or still on its machine-check stack after clearing it), a poisoned
 * load is abandoned and run again (a late share nested on the guest's
 * machine-check stack and crashed it), but for a bounded time only: a
 * load still held back after CXL_CRAM_MCE_WAIT_MS completes as a failed
 * transaction (all-ones, counted in machine-checks-abandoned), so that a
 * guest whose handler never finishes cannot livelock the vCPU.
 *
 * x86 only (Kconfig): the check, its bank and its broadcast are x86's.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/timer.h"
#include "qemu/units.h"
#include "system/tcg.h"
#include "exec/cpu-common.h"
#include "hw/core/cpu.h"
#include "hw/cxl/cxl.h"
#include "cxl-cram.h"
#include "trace.h"
#include "cpu.h"

/* Bank 9; VAL UC EN MISCV ADDRV S AR, MCACOD 0x134 (data read). */
#define CXL_CRAM_MCE_BANK       9
#define CXL_CRAM_MCE_STATUS     0xbd80000000000134ULL
#define CXL_CRAM_MCG_STATUS     (MCG_STATUS_MCIP | MCG_STATUS_RIPV | \
                                 MCG_STATUS_EIPV)
#define CXL_CRAM_MCE_MISC       0x8c    /* physical address, 4 KiB LSB */

/* How long a poisoned load may be held back behind another check */
#define CXL_CRAM_MCE_WAIT_MS    2000

typedef struct CXLCramMce {
    CXLCramDev *cram;
    uint64_t dpa;
    uint64_t hpa;
} CXLCramMce;

/*
 * The most of its machine-check stack a handler uses: Linux's exception
 * stacks are 8 KiB, 16 KiB with KASAN.
 */
#define CXL_CRAM_MCE_STACK_MAX  (16 * KiB)

/*
 * Whether @cs runs on the stack its IDT gives machine checks (an IST
 * stack, as in Linux).  A handler clears MCIP some instructions before
 * its IRET; a check delivered in between reuses the stack under it, and
 * the guest then loops on its IRET or dies of a nested machine check.
 */
static bool cxl_cram_on_mce_stack(CPUState *cs)
{
    CPUX86State *env = &X86_CPU(cs)->env;
    uint64_t rsp = env->regs[R_ESP];
    uint32_t gate[2];
    uint64_t top;
    int ist;

    if (!(env->hflags & HF_LMA_MASK) ||
        env->idt.limit < EXCP12_MCHK * 16 + 15 ||
        cpu_memory_rw_debug(cs, env->idt.base + EXCP12_MCHK * 16, gate,
                            sizeof(gate), false)) {
        return false;
    }
    ist = le32_to_cpu(gate[1]) & 7;
    /* The 64-bit TSS holds IST1 to IST7 from offset 0x24 */
    if (!ist || env->tr.limit < 0x24 + 8 * ist - 1 ||
        cpu_memory_rw_debug(cs, env->tr.base + 0x24 + 8 * (ist - 1), &top,
                            sizeof(top), false)) {
        return false;
    }
    top = le64_to_cpu(top);
    if (rsp >= top || top - rsp > CXL_CRAM_MCE_STACK_MAX) {
        return false;
    }
    trace_cxl_cram_mce_on_stack(cs->cpu_index, rsp, top);
    return true;
}

/* Whether @cs is in a machine-check handler: MCIP, or still on its stack */
static bool cxl_cram_in_handler(CPUState *cs)
{
    return (X86_CPU(cs)->env.mcg_status & MCG_STATUS_MCIP) ||
           cxl_cram_on_mce_stack(cs);
}

/*
 * The other vCPUs' share of a broadcast machine check, raised by each
 * vCPU on its own thread: a vCPU waiting for another in run_on_cpu() made
 * the rendezvous of a Linux guest time out under multi-threaded TCG.  As
 * on Intel hardware, the other cores see MCIP and RIPV and no valid bank
 * of their own.  (cpu_x86_inject_mce(MCE_INJECT_BROADCAST) writes
 * VAL|UC into their bank 1 instead, without EN: Linux's handler ignores
 * it and leaves it there, the next share sets OVER on it, and the guest's
 * poller later logs "Machine Check: 0 Bank 1: e000000000000000".)
 * A vCPU that has not enabled machine checks (one that never started,
 * with maxcpus or nosmp) does not take its share: on hardware it is still
 * waiting for its startup IPI, and QEMU would reset the machine; nor does
 * one still in its handler.
 */
static void cxl_cram_do_mce_peer(CPUState *cs, run_on_cpu_data data)
{
    CXLCramDev *cram = data.host_ptr;
    CPUX86State *env = &X86_CPU(cs)->env;

    if ((env->cr[4] & CR4_MCE_MASK) && !cxl_cram_in_handler(cs)) {
        env->mcg_status = MCG_STATUS_MCIP | MCG_STATUS_RIPV;
        cpu_interrupt(cs, CPU_INTERRUPT_MCE);
    }
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
    cxl_cram_notify_mce(m->cram, m->dpa, cs->cpu_index, true);
    m->cram->mce_queued--;
    object_unref(OBJECT(m->cram));
    g_free(m);
}

/* The index of a vCPU other than @self still in its handler, or -1. */
static int cxl_cram_handler_elsewhere(CPUState *self)
{
    CPUState *cs;

    CPU_FOREACH(cs) {
        if (cs != self && cxl_cram_in_handler(cs)) {
            return cs->cpu_index;
        }
    }
    return -1;
}

/* Queue the check to @self and its broadcast shares to the others. */
static void cxl_cram_queue_mce(CXLCramDev *cram, CPUState *self,
                               uint64_t dpa, uint64_t hpa)
{
    CXLCramMce *m = g_new(CXLCramMce, 1);
    CPUState *other;

    m->cram = CXL_CRAM(object_ref(OBJECT(cram)));
    m->dpa = dpa;
    m->hpa = hpa;
    cram->mce_queued++;
    trace_cxl_cram_mce(dpa, hpa, self->cpu_index);
    async_run_on_cpu(self, cxl_cram_do_mce, RUN_ON_CPU_HOST_PTR(m));
    if (!cpu_x86_support_mca_broadcast(&X86_CPU(self)->env)) {
        return;
    }
    CPU_FOREACH(other) {
        if (other != self) {
            cram->mce_queued++;
            object_ref(OBJECT(cram));
            async_run_on_cpu(other, cxl_cram_do_mce_peer,
                             RUN_ON_CPU_HOST_PTR(cram));
        }
    }
}

/* The load @self is held back for, if any. */
static CXLCramMceWait *cxl_cram_mce_wait(CXLCramDev *cram, CPUState *self)
{
    unsigned i = self->cpu_index;

    if (i >= cram->mce_wait_n) {
        cram->mce_wait = g_renew(CXLCramMceWait, cram->mce_wait, i + 1);
        memset(cram->mce_wait + cram->mce_wait_n, 0,
               (i + 1 - cram->mce_wait_n) * sizeof(*cram->mce_wait));
        cram->mce_wait_n = i + 1;
    }
    return &cram->mce_wait[i];
}

/*
 * Abandon the load and run the faulting instruction again later, when
 * this vCPU has run its queued work (the check, or a previous check's
 * share).
 */
static G_NORETURN void cxl_cram_restart_load(CPUState *self)
{
    cpu_loop_exit_restore(self, self->mem_io_pc);
}

static bool cxl_cram_vcpu_load(CXLCramDev *cram, CPUState *self,
                               uint64_t dpa, uint64_t hpa)
{
    CXLCramMceWait *w = cxl_cram_mce_wait(cram, self);
    int64_t now = qemu_clock_get_ms(QEMU_CLOCK_REALTIME);
    bool again = w->held && w->dpa == dpa;
    bool restartable = tcg_enabled();
    int mcip;

    if (!again) {
        /* A new load: one count, however often it is restarted */
        cxl_cram_poisoned_read(cram, dpa);
        w->since = now;
    }
    w->held = false;
    if (!cram->poison_mce) {
        return false;
    }
    if (X86_CPU(self)->env.mcg_status & MCG_STATUS_MCIP) {
        /* Poison read inside the handler: hardware would shut down. */
        trace_cxl_cram_mce_skipped(dpa, "inside a machine check handler");
        return false;
    }
    mcip = cxl_cram_handler_elsewhere(self);
    if (cram->mce_queued || mcip >= 0) {
        /* A second one while a handler runs would be recursive. */
        trace_cxl_cram_mce_wait(dpa, self->cpu_index, cram->mce_queued, mcip,
                                now - w->since);
        if (restartable && now - w->since < CXL_CRAM_MCE_WAIT_MS) {
            w->held = true;
            w->dpa = dpa;
            cxl_cram_restart_load(self);
        }
        trace_cxl_cram_mce_skipped(dpa, "abandoned: another in flight");
        cram->safety.mce_abandoned++;
        cxl_cram_notify_mce(cram, dpa, self->cpu_index, false);
        return false;
    }
    cxl_cram_queue_mce(cram, self, dpa, hpa);
    if (restartable) {
        cxl_cram_restart_load(self);
    }
    return true;
}

/*
 * A guest load is an access by the vCPU running on this thread, with the
 * attributes a CPU gives its accesses: DMA, qtest, the monitor and the
 * gdbstub leave them unspecified, mark them debug or name a requester.
 */
static bool cxl_cram_is_vcpu_load(MemTxAttrs attrs)
{
    return current_cpu && !attrs.unspecified && !attrs.debug &&
           !attrs.requester_id;
}

MemTxResult cxl_cram_poisoned_load(CXLCramDev *cram, uint64_t dpa,
                                   hwaddr hpa, MemTxAttrs attrs)
{
    if (!cxl_cram_is_vcpu_load(attrs)) {
        cxl_cram_poisoned_read(cram, dpa);
        trace_cxl_cram_mce_skipped(dpa, "not a vCPU load: failed transaction");
        return MEMTX_ERROR;
    }
    cxl_cram_vcpu_load(cram, current_cpu, dpa, hpa);
    return MEMTX_OK;
}
