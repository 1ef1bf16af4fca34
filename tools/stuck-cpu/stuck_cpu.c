// SPDX-License-Identifier: GPL-2.0-only
/*
 * stuck_cpu: a test module that hangs one CPU of the test guest, so that
 * tools/stuck-cpu/test.sh can check that scripts/run-guest fails such a
 * run early and keeps QEMU's view of the vCPUs.  Never load it anywhere
 * else.
 *
 *   insmod stuck_cpu.ko cpu=1 irqs_off=1
 *
 * irqs_off=1: spin with interrupts disabled (no CPU can report it by
 * itself; the guest's heartbeat makes RCU report it); irqs_off=0: spin
 * with preemption disabled (a soft lockup).
 */
#include <linux/cpumask.h>
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/irqflags.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/preempt.h>

static unsigned int cpu = 1;
module_param(cpu, uint, 0444);
MODULE_PARM_DESC(cpu, "the CPU to hang (default 1)");

static bool irqs_off = true;
module_param(irqs_off, bool, 0444);
MODULE_PARM_DESC(irqs_off, "spin with interrupts disabled (default), or only with preemption disabled");

static int stuck_cpu_fn(void *unused)
{
	/* Let insmod return first: it would wait for this CPU otherwise */
	msleep(1000);
	pr_info("stuck_cpu: CPU %u spins with %s disabled\n", cpu,
		irqs_off ? "interrupts" : "preemption");
	if (irqs_off)
		local_irq_disable();
	else
		preempt_disable();
	for (;;)
		cpu_relax();
	return 0;
}

static int __init stuck_cpu_init(void)
{
	struct task_struct *t;

	if (cpu >= nr_cpu_ids || !cpu_online(cpu))
		return -EINVAL;
	t = kthread_create(stuck_cpu_fn, NULL, "stuck_cpu/%u", cpu);
	if (IS_ERR(t))
		return PTR_ERR(t);
	kthread_bind(t, cpu);
	wake_up_process(t);
	return 0;
}
module_init(stuck_cpu_init);

/* No exit: the spinning thread never stops, so the module cannot go. */

MODULE_DESCRIPTION("Hang a CPU of the cxl-cram test guest (run-guest's stuck-CPU checks)");
MODULE_LICENSE("GPL");
