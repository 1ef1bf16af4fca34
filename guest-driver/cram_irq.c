// SPDX-License-Identifier: GPL-2.0-only
/*
 * Watermark interrupts and machine checks.
 *
 * cxl_pci allocates the function's MSI-X vectors (up to 16) and requests
 * only those its capabilities name (mailbox, event logs).  The device
 * signals its own causes on vector 8 and the compressed-CXL ABI's danger
 * and safe events on vectors 12 and 13: this file requests the Linux IRQs
 * of those vectors.  If cxl_pci allocated fewer vectors (or uses MSI),
 * the causes are polled from IRQ_STATUS instead.
 */
#include <linux/interrupt.h>
#include <linux/module.h>
#include <linux/notifier.h>
#include <asm/mce.h>

#include "cram.h"

static unsigned int poll_ms = 200;
module_param(poll_ms, uint, 0444);
MODULE_PARM_DESC(poll_ms, "IRQ_STATUS polling period without MSI-X vectors, ms (default 200)");

static bool no_msix;
module_param(no_msix, bool, 0444);
MODULE_PARM_DESC(no_msix, "Poll IRQ_STATUS instead of requesting MSI-X vectors (default off)");

#define CRAM_IRQ_ENABLED	(BIT(CRAM_IRQ_HIGH_RISE) | BIT(CRAM_IRQ_LOW_FALL) | \
				 BIT(CRAM_IRQ_DROPPED))

/*
 * Read, clear and log the latched causes.  Returns true if there were any.
 *
 * The log follows NO_ALLOC, not the raw causes: media use may cross the
 * high watermark many times while NO_ALLOC stays set (a refused page that
 * the allocator zeroed is charged, then discarded), and only the first
 * crossing and the final fall below the low watermark are transitions.
 */
static bool cram_handle_causes(struct cram_dev *cd)
{
	u64 causes, status, used, size;
	bool was, now;

	causes = cram_read(cd, CRAM_REG_IRQ_STATUS) & CRAM_IRQ_MASK;
	if (!causes)
		return false;
	cram_write(cd, CRAM_REG_IRQ_STATUS, causes);
	status = cram_read(cd, CRAM_REG_STATUS);
	used = cram_read(cd, CRAM_REG_MEDIA_USED);
	size = cram_read(cd, CRAM_REG_MEDIA_SIZE);
	was = cd->no_alloc;
	now = status & CRAM_STATUS_NO_ALLOC;

	dev_dbg(cd->dev, "causes %#llx, status %#llx, media use %llu of %llu bytes\n",
		causes, status, used, size);
	if ((causes & BIT(CRAM_IRQ_HIGH_RISE)) && !was) {
		dev_warn(cd->dev, "danger: media use reached the high watermark, NO_ALLOC set: refusing new pages (%llu of %llu bytes used)\n",
			 used, size);
		was = true;
	}
	if (causes & BIT(CRAM_IRQ_DROPPED))
		dev_err(cd->dev, "media exhausted: a write was dropped and its page poisoned (%llu dropped writes, %llu pages poisoned)\n",
			cram_read(cd, CRAM_REG_DROPPED_WRITES),
			cram_read(cd, CRAM_REG_POISONED_PAGES));
	if ((causes & BIT(CRAM_IRQ_LOW_FALL)) && was) {
		dev_info(cd->dev, "safe: media use fell below the low watermark, NO_ALLOC cleared: accepting pages again (%llu of %llu bytes used)\n",
			 used, size);
		was = false;
	}
	/* both edges latched since the last look, or a missed edge */
	if (was != now)
		dev_info(cd->dev, "NO_ALLOC is now %s (%llu of %llu bytes used)\n",
			 now ? "set" : "clear", used, size);
	cd->no_alloc = now;
	WRITE_ONCE(cd->last_status, status);
	sysfs_notify(&cd->dev->kobj, NULL, "status");
	return true;
}

static irqreturn_t cram_irq_thread(int irq, void *data)
{
	struct cram_dev *cd = data;

	cram_count(cd, CRAM_CNT_IRQ_VECTOR);
	return cram_handle_causes(cd) ? IRQ_HANDLED : IRQ_NONE;
}

static irqreturn_t cram_irq_danger(int irq, void *data)
{
	struct cram_dev *cd = data;

	cram_count(cd, CRAM_CNT_IRQ_DANGER);
	dev_dbg(cd->dev, "vector %d: danger (NO_ALLOC set)\n", CRAM_MSIX_DANGER);
	return IRQ_HANDLED;
}

static irqreturn_t cram_irq_safe(int irq, void *data)
{
	struct cram_dev *cd = data;

	cram_count(cd, CRAM_CNT_IRQ_SAFE);
	dev_dbg(cd->dev, "vector %d: safe (NO_ALLOC clear)\n", CRAM_MSIX_SAFE);
	return IRQ_HANDLED;
}

static void cram_poll(struct work_struct *work)
{
	struct cram_dev *cd = container_of(to_delayed_work(work),
					   struct cram_dev, poll_work);

	if (cram_handle_causes(cd))
		cram_count(cd, CRAM_CNT_IRQ_VECTOR);
	schedule_delayed_work(&cd->poll_work, msecs_to_jiffies(poll_ms));
}

static void cram_free_irqs(struct cram_dev *cd)
{
	int i;

	for (i = 0; i < CRAM_IRQ_SLOTS; i++) {
		if (cd->irq[i] > 0)
			free_irq(cd->irq[i], cd);
		cd->irq[i] = 0;
	}
}

static int cram_request_irqs(struct cram_dev *cd)
{
	static const struct {
		int vector;
		const char *what;
		irq_handler_t handler;
		irq_handler_t thread;
	} want[CRAM_IRQ_SLOTS] = {
		[CRAM_IRQ_SLOT_VECTOR] = { CRAM_MSIX_VECTOR, "wm", NULL, cram_irq_thread },
		[CRAM_IRQ_SLOT_DANGER] = { CRAM_MSIX_DANGER, "danger", cram_irq_danger, NULL },
		[CRAM_IRQ_SLOT_SAFE] = { CRAM_MSIX_SAFE, "safe", cram_irq_safe, NULL },
	};
	struct pci_dev *pdev = cd->pdev;
	int i, irq, rc;

	if (no_msix)
		return -EPERM;
	if (!pdev->msix_enabled) {
		dev_info(cd->dev, "MSI-X is not enabled on %s\n", pci_name(pdev));
		return -ENXIO;
	}
	for (i = 0; i < CRAM_IRQ_SLOTS; i++) {
		irq = pci_irq_vector(pdev, want[i].vector);
		if (irq < 0) {
			dev_info(cd->dev, "MSI-X vector %d not allocated by the host driver: %d\n",
				 want[i].vector, irq);
			rc = irq;
			goto err;
		}
		snprintf(cd->irq_name[i], sizeof(cd->irq_name[i]), "cxl_cram%d-%s",
			 cd->id, want[i].what);
		rc = request_threaded_irq(irq, want[i].handler, want[i].thread,
					  want[i].thread ? IRQF_ONESHOT : 0,
					  cd->irq_name[i], cd);
		if (rc) {
			dev_info(cd->dev, "cannot request IRQ %d (vector %d): %d\n",
				 irq, want[i].vector, rc);
			goto err;
		}
		cd->irq[i] = irq;
	}
	return 0;
err:
	cram_free_irqs(cd);
	return rc;
}

int cram_irq_init(struct cram_dev *cd)
{
	u64 stale;
	char buf[96];

	INIT_DELAYED_WORK(&cd->poll_work, cram_poll);
	cram_write(cd, CRAM_REG_IRQ_ENABLE, 0);
	stale = cram_read(cd, CRAM_REG_IRQ_STATUS) & CRAM_IRQ_MASK;
	if (stale)
		cram_write(cd, CRAM_REG_IRQ_STATUS, stale);
	cd->last_status = cram_read(cd, CRAM_REG_STATUS);
	cd->no_alloc = cd->last_status & CRAM_STATUS_NO_ALLOC;
	cram_status_string(cd->last_status, buf, sizeof(buf));
	dev_info(cd->dev, "status %s, earlier causes %#llx cleared\n", buf, stale);

	if (cram_request_irqs(cd)) {
		cd->polling = true;
		schedule_delayed_work(&cd->poll_work, msecs_to_jiffies(poll_ms));
	}
	cram_write(cd, CRAM_REG_IRQ_ENABLE, CRAM_IRQ_ENABLED);
	return 0;
}

void cram_irq_exit(struct cram_dev *cd)
{
	cram_write(cd, CRAM_REG_IRQ_ENABLE, 0);
	if (cd->polling)
		cancel_delayed_work_sync(&cd->poll_work);
	cram_free_irqs(cd);
}

/*
 * Machine checks at a cxl-cram host physical address: count and log
 * them.  The x86 MCE code calls the decode chain from a work item, after
 * the check itself was handled (a kernel MC-safe copy was fixed up, a
 * user process got SIGBUS).
 */
static int cram_mce_notify(struct notifier_block *nb, unsigned long val,
			   void *data)
{
	struct mce *m = data;
	struct cram_dev *cd;
	u64 pa, dpa;

	if (!m || !(m->status & MCI_STATUS_ADDRV))
		return NOTIFY_DONE;
	pa = m->addr & MCI_ADDR_PHYSADDR;
	mutex_lock(&cram_list_lock);
	list_for_each_entry(cd, &cram_list, list) {
		/* a region may have been created since: which granules are ours */
		cram_place_learn(cd);
		if (cram_hpa_to_dpa(cd, pa, &dpa))
			continue;
		cram_count(cd, CRAM_CNT_MCE);
		dev_err_ratelimited(cd->dev, "machine check: poisoned read at HPA %#llx (DPA %#llx)%s\n",
				    pa, dpa,
				    m->kflags & MCE_IN_KERNEL_RECOV ?
				    ", recovered by an MC-safe kernel copy" :
				    (m->cs & 3) == 3 ? ", in user space" : "");
	}
	mutex_unlock(&cram_list_lock);
	return NOTIFY_DONE;
}

static struct notifier_block cram_mce_nb = {
	.notifier_call = cram_mce_notify,
	.priority = MCE_PRIO_EDAC,
};

int cram_mce_init(void)
{
	mce_register_decode_chain(&cram_mce_nb);
	return 0;
}

void cram_mce_exit(void)
{
	mce_unregister_decode_chain(&cram_mce_nb);
}
