// SPDX-License-Identifier: GPL-2.0-only
/*
 * sysfs_race.ko: test only (tools/sysfs-race/test.sh).  Holds a reader of
 * cxl_cram's private_node and private_pages attributes between its load of
 * cd->priv and its use of the loaded pointer, so that a detach of the
 * private node (cxl_pci unbind) certainly happens in between.  The window
 * is a few instructions long: stress alone never hits it.
 *
 * Our guest kernels have no kprobes (CONFIG_KPROBES is off, and the test
 * must not rebuild them), and without kprobes x86 refuses execute
 * breakpoints in the kernel (arch_build_bp_info(): within_kprobe_blacklist()
 * is then true for every address).  Data breakpoints are allowed: the
 * hook is a hardware read/write watchpoint on cd->priv of one device
 * (register_wide_hw_breakpoint(), on every CPU).  A data breakpoint is a
 * trap: its handler runs after the access, with regs->ip on the next
 * instruction and the loaded pointer in its register, as a kprobe
 * post_handler on the load would.  Only the hits whose regs->ip is one of
 * the given probe points (the instruction after the load of cd->priv in
 * cram_private_node and cram_private_pages) are readers: the detach's own
 * accesses, and ours, pass.
 *
 * The handler runs in the debug exception, where it can neither sleep nor
 * spin for long without stalling the detach it waits for: memory offline
 * drains per-CPU lists with work on every CPU, and RCU needs every CPU to
 * pass a quiescent state.  So it sends the reader, in its own context,
 * through a detour: sysfs_race_detour() saves the registers that C code
 * may clobber, calls sysfs_race_window(), and returns to the instruction
 * after the load.  The window:
 *  - when the reader may sleep (the driver before 3d6fac4: no lock held),
 *    it sleeps, as a preempted reader would, until the test says the
 *    detach is over (parameter released), or max_ms;
 *  - when it may not (3d6fac4 and later: inside rcu_read_lock()), it
 *    spins until linger_ms after it saw cd->priv cleared (the detach has
 *    begun, and must now wait for it), or spin_max_ms.
 * It counts the windows in which it saw cd->priv cleared: readers that held
 * the pointer while the detach took it away.
 *
 * The test gives the PCI function (pci=), whose cxl_cram class device
 * holds cd, and the probe points: func= (the functions' addresses in
 * /proc/kallsyms) and offset= (found in the disassembly of cxl_cram.ko).
 * Before it arms the watchpoint, the module checks that func is the start
 * of the named function of cxl_cram, and that the instruction which ends
 * at func + offset is a 64-bit load "mov disp(%base),%reg" with
 * disp = offsetof(struct cram_dev, priv), taken from the driver's cram.h.
 * The register it loads is the one read as the pointer: a NULL pointer
 * gets no window.  The watchpoint stays on cd->priv until unload, after cd
 * is freed: hits at other addresses than the probe points are ignored.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/delay.h>
#include <linux/hw_breakpoint.h>
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/pci.h>
#include <linux/perf_event.h>
#include <linux/preempt.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include <linux/uaccess.h>
#include <linux/unaligned.h>
#include <asm/ptrace.h>

#include "cram.h"

#define SR_PROBES	2
#define SR_PRIV_OFFSET	offsetof(struct cram_dev, priv)

static char *pci;
module_param(pci, charp, 0444);
MODULE_PARM_DESC(pci, "The PCI function of the cxl_cram device (e.g. 0000:35:00.0)");

static char *symbol[SR_PROBES];
static int nsymbol;
module_param_array(symbol, charp, &nsymbol, 0444);
MODULE_PARM_DESC(symbol, "Functions of cxl_cram to probe (cram_private_node,cram_private_pages)");

static unsigned long func[SR_PROBES];
static int nfunc;
module_param_array(func, ulong, &nfunc, 0444);
MODULE_PARM_DESC(func, "Their addresses, as in /proc/kallsyms");

static unsigned int offset[SR_PROBES];
static int noffset;
module_param_array(offset, uint, &noffset, 0444);
MODULE_PARM_DESC(offset, "Offset in each of the instruction after the load of cd->priv");

static unsigned int max_ms = 60000;
module_param(max_ms, uint, 0644);
MODULE_PARM_DESC(max_ms, "Longest window that sleeps, in ms (default 60000)");

static unsigned int spin_max_ms = 5000;
module_param(spin_max_ms, uint, 0644);
MODULE_PARM_DESC(spin_max_ms,
		 "Longest window that spins, in ms (default 5000: far from soft lockups and RCU stalls)");

static unsigned int linger_ms = 400;
module_param(linger_ms, uint, 0644);
MODULE_PARM_DESC(linger_ms,
		 "A window that cannot sleep closes this long after cd->priv is cleared (default 400 ms)");

static bool released;
module_param(released, bool, 0644);
MODULE_PARM_DESC(released, "Set by the test once the detach is over: closes the windows");

/* The probe points: the instructions after the loads, and their registers */
static unsigned long sr_ip[SR_PROBES];
static unsigned int sr_reg[SR_PROBES];	/* offset in struct pt_regs */
static struct cram_private **sr_priv;	/* &cd->priv */
static struct perf_event * __percpu *sr_bp;

static atomic_t sr_hits;	/* watchpoint hits at a probe point */
static atomic_t sr_others;	/* other accesses: the driver's, ours */
static atomic_t sr_windows;	/* windows opened: hits with a non-NULL pointer */
static atomic_t sr_slept;	/* windows that slept */
static atomic_t sr_spun;	/* windows that spun */
static atomic_t sr_overlaps;	/* windows in which cd->priv was cleared */
static atomic_t sr_parked;	/* windows open now */
static atomic_t sr_timeouts;	/* windows closed by max_ms or spin_max_ms */

/* x86 register numbers (ModRM reg with REX.R) to struct pt_regs offsets */
static const unsigned int sr_regs[16] = {
	offsetof(struct pt_regs, ax), offsetof(struct pt_regs, cx),
	offsetof(struct pt_regs, dx), offsetof(struct pt_regs, bx),
	offsetof(struct pt_regs, sp), offsetof(struct pt_regs, bp),
	offsetof(struct pt_regs, si), offsetof(struct pt_regs, di),
	offsetof(struct pt_regs, r8), offsetof(struct pt_regs, r9),
	offsetof(struct pt_regs, r10), offsetof(struct pt_regs, r11),
	offsetof(struct pt_regs, r12), offsetof(struct pt_regs, r13),
	offsetof(struct pt_regs, r14), offsetof(struct pt_regs, r15),
};

/*
 * The window, in the reader's context, with the pointer held.  cd is
 * alive meanwhile: the reader holds the attribute, and the class device
 * goes (kernfs drains its readers) before cd is freed.
 */
static __used noinline void sysfs_race_window(void)
{
	bool can_sleep = preemptible();
	unsigned int ms = can_sleep ? READ_ONCE(max_ms) : READ_ONCE(spin_max_ms);
	ktime_t end = ktime_add_ms(ktime_get(), ms);
	bool seen = false, timeout = false;

	atomic_inc(&sr_windows);
	atomic_inc(can_sleep ? &sr_slept : &sr_spun);
	atomic_inc(&sr_parked);
	while (!READ_ONCE(released)) {
		if (!ktime_before(ktime_get(), end)) {
			timeout = !seen || can_sleep;
			break;
		}
		if (!seen && !READ_ONCE(*sr_priv)) {
			ktime_t linger;

			seen = true;
			atomic_inc(&sr_overlaps);
			linger = ktime_add_ms(ktime_get(), READ_ONCE(linger_ms));
			if (!can_sleep && ktime_before(linger, end))
				end = linger;
		}
		if (can_sleep)
			usleep_range(1000, 2000);
		else
			mdelay(1);
	}
	if (timeout)
		atomic_inc(&sr_timeouts);
	atomic_dec(&sr_parked);
	pr_info("window closed (%s%s): %s\n", can_sleep ? "slept" : "spun",
		timeout ? ", timed out" : "",
		seen ? "cd->priv was cleared in it" : "cd->priv stayed");
}

/*
 * Entered, in the reader's context, at the instruction after the load,
 * whose address the handler pushed as a return address.  Saves the flags
 * and the registers that sysfs_race_window() may clobber (the callee-saved
 * ones it keeps), and returns to the instruction.
 */
asm(".pushsection .text, \"ax\"\n"
	".type sysfs_race_detour, @function\n"
	"sysfs_race_detour:\n"
	"	pushfq\n"
	"	pushq %rax\n"
	"	pushq %rcx\n"
	"	pushq %rdx\n"
	"	pushq %rsi\n"
	"	pushq %rdi\n"
	"	pushq %r8\n"
	"	pushq %r9\n"
	"	pushq %r10\n"
	"	pushq %r11\n"
	"	call sysfs_race_window\n"
	"	popq %r11\n"
	"	popq %r10\n"
	"	popq %r9\n"
	"	popq %r8\n"
	"	popq %rdi\n"
	"	popq %rsi\n"
	"	popq %rdx\n"
	"	popq %rcx\n"
	"	popq %rax\n"
	"	popfq\n"
	"	ret\n"
	".size sysfs_race_detour, . - sysfs_race_detour\n"
	".popsection\n");

/*
 * The watchpoint handler, in the debug exception, after the access.  Not
 * instrumented by KASAN: it writes below the reader's stack pointer, where
 * a previous frame's redzones may still be marked.
 */
static void __no_sanitize_address sr_hit(struct perf_event *bp,
					 struct perf_sample_data *data,
					 struct pt_regs *regs)
{
	unsigned long detour;
	int i;

	for (i = 0; i < SR_PROBES; i++) {
		if (sr_ip[i] && regs->ip == sr_ip[i])
			break;
	}
	if (i == SR_PROBES || user_mode(regs)) {
		atomic_inc(&sr_others);
		return;
	}
	atomic_inc(&sr_hits);
	if (!regs_get_register(regs, sr_reg[i]))
		return;
	/* "call sysfs_race_detour" from the instruction after the load */
	asm("leaq sysfs_race_detour(%%rip), %0" : "=r" (detour));
	regs->sp -= sizeof(unsigned long);
	*(unsigned long *)regs->sp = regs->ip;
	regs->ip = detour;
}

/*
 * The instruction that ends at @addr must load cd->priv: REX.W 8b /r,
 * "mov disp(%base),%reg", with an 8- or 32-bit displacement equal to
 * offsetof(struct cram_dev, priv) and no SIB byte.  Returns the loaded
 * register's pt_regs offset, or -EINVAL.
 */
static int sr_check_load(unsigned long addr)
{
	u8 insn[7];
	u8 *i8 = insn + 3;

	if (copy_from_kernel_nofault(insn, (void *)(addr - sizeof(insn)),
				     sizeof(insn)))
		return -EFAULT;
	if ((insn[0] & 0xf8) == 0x48 && insn[1] == 0x8b &&
	    (insn[2] & 0xc0) == 0x80 && (insn[2] & 7) != 4 &&
	    get_unaligned_le32(insn + 3) == SR_PRIV_OFFSET)
		return sr_regs[((insn[0] & 4) << 1) | ((insn[2] >> 3) & 7)];
	if (SR_PRIV_OFFSET < 128 && (i8[0] & 0xf8) == 0x48 && i8[1] == 0x8b &&
	    (i8[2] & 0xc0) == 0x40 && (i8[2] & 7) != 4 &&
	    i8[3] == SR_PRIV_OFFSET)
		return sr_regs[((i8[0] & 4) << 1) | ((i8[2] >> 3) & 7)];
	pr_err("%pS: the instruction before is no load of cd->priv (offset %#zx): %7ph\n",
	       (void *)addr, SR_PRIV_OFFSET, insn);
	return -EINVAL;
}

/* @fn must be the start of @name in cxl_cram: "name+0x0/0x... [cxl_cram]" */
static int sr_check_func(const char *name, unsigned long fn)
{
	char sym[KSYM_SYMBOL_LEN], want[KSYM_SYMBOL_LEN];

	snprintf(sym, sizeof(sym), "%pS", (void *)fn);
	snprintf(want, sizeof(want), "%s+0x0/", name);
	if (strncmp(sym, want, strlen(want)) || !strstr(sym, " [cxl_cram]")) {
		pr_err("%#lx is %s, not the start of %s in cxl_cram\n",
		       fn, sym, name);
		return -EINVAL;
	}
	return 0;
}

static int sr_match_cram(struct device *dev, void *data)
{
	return dev->class && !strcmp(dev->class->name, "cxl_cram");
}

/* &cd->priv of the cxl_cram device on PCI function @name, or NULL */
static struct cram_private **sr_find_priv(const char *name)
{
	struct cram_private **priv = NULL;
	struct device *pdev, *dev;

	pdev = bus_find_device_by_name(&pci_bus_type, NULL, name);
	if (!pdev)
		return NULL;
	dev = device_find_child(pdev, NULL, sr_match_cram);
	if (dev) {
		struct cram_dev *cd = dev_get_drvdata(dev);

		priv = (struct cram_private **)&cd->priv;
		pr_info("%s: watching cd->priv at %p (cd %p + %#zx)\n",
			dev_name(dev), priv, cd, SR_PRIV_OFFSET);
		put_device(dev);
	}
	put_device(pdev);
	return priv;
}

static int sr_stats_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf,
			  "hits=%d others=%d windows=%d slept=%d spun=%d overlaps=%d timeouts=%d parked=%d\n",
			  atomic_read(&sr_hits), atomic_read(&sr_others),
			  atomic_read(&sr_windows), atomic_read(&sr_slept),
			  atomic_read(&sr_spun), atomic_read(&sr_overlaps),
			  atomic_read(&sr_timeouts), atomic_read(&sr_parked));
}

static const struct kernel_param_ops sr_stats_ops = {
	.get = sr_stats_get,
};

module_param_cb(stats, &sr_stats_ops, NULL, 0444);
MODULE_PARM_DESC(stats, "Counters: hits, windows (slept, spun), overlaps with the detach");

static int __init sr_init(void)
{
	struct perf_event_attr attr;
	int i, reg, rc;

	if (!pci || !nfunc || nfunc != noffset || nfunc != nsymbol) {
		pr_err("give pci=, and symbol=, func= and offset=, as many of each\n");
		return -EINVAL;
	}
	for (i = 0; i < nfunc; i++) {
		rc = sr_check_func(symbol[i], func[i]);
		if (rc)
			return rc;
		reg = sr_check_load(func[i] + offset[i]);
		if (reg < 0)
			return reg;
		sr_reg[i] = reg;
		sr_ip[i] = func[i] + offset[i];
		pr_info("probe point %pS, after the load of cd->priv (offset %#zx)\n",
			(void *)sr_ip[i], SR_PRIV_OFFSET);
	}
	sr_priv = sr_find_priv(pci);
	if (!sr_priv) {
		pr_err("no cxl_cram device on %s\n", pci);
		return -ENODEV;
	}
	hw_breakpoint_init(&attr);
	attr.bp_addr = (unsigned long)sr_priv;
	attr.bp_len = HW_BREAKPOINT_LEN_8;
	attr.bp_type = HW_BREAKPOINT_R | HW_BREAKPOINT_W;
	sr_bp = register_wide_hw_breakpoint(&attr, sr_hit, NULL);
	if (IS_ERR((void __force *)sr_bp)) {
		rc = PTR_ERR((void __force *)sr_bp);
		pr_err("no watchpoint on %p: %d\n", sr_priv, rc);
		return rc;
	}
	return 0;
}

static void __exit sr_exit(void)
{
	unregister_wide_hw_breakpoint(sr_bp);
	WRITE_ONCE(released, true);
	/* the last windows close, and their readers leave the detour */
	while (atomic_read(&sr_parked))
		msleep(20);
	msleep(100);
	pr_info("hits=%d others=%d windows=%d slept=%d spun=%d overlaps=%d\n",
		atomic_read(&sr_hits), atomic_read(&sr_others),
		atomic_read(&sr_windows), atomic_read(&sr_slept),
		atomic_read(&sr_spun), atomic_read(&sr_overlaps));
}

module_init(sr_init);
module_exit(sr_exit);
MODULE_DESCRIPTION("Test only: holds cxl_cram's private-node sysfs readers across a detach");
MODULE_LICENSE("GPL");
