// SPDX-License-Identifier: GPL-2.0-only
/*
 * The device's memory as a private node that zswap stores pages on
 * directly (guest-driver/kernel/ patch series: CONFIG_NODE_PRIVATE).
 *
 * With private_node=1, attaching to a device whose region is committed:
 *  1. registers the decoded range with node_register_private() (memtype
 *     ZSWAP) on the range's NUMA node, with this driver's verdicts;
 *  2. onlines the range on that node with node_private_add_memory();
 *  3. makes the node a zswap direct node.
 * Detaching undoes it in reverse order.
 *
 * Every page the verdict accepts holds a reference to this module until
 * zswap frees it, so the module can't be unloaded while zswap keeps pages
 * on the device (swapoff releases them).  If cxl_pci unbinds meanwhile,
 * the range stays online and registered, inert, until the module goes.
 */
#include <linux/memory.h>
#include <linux/memory_hotplug.h>
#include <linux/module.h>
#include <linux/node_private.h>
#include <linux/numa.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/zswap.h>
#include <asm/cacheflush.h>

#include "cram.h"

static bool private_node;
module_param(private_node, bool, 0444);
MODULE_PARM_DESC(private_node,
		 "Online the device's region as a private node for zswap direct stores (default off)");

static ulong private_max_mb;
module_param(private_max_mb, ulong, 0444);
MODULE_PARM_DESC(private_max_mb,
		 "Online at most this many MiB of the region as a private node (default 0: all of it)");

static bool force_accept;
module_param(force_accept, bool, 0644);
MODULE_PARM_DESC(force_accept,
		 "Debug: accept every page whatever the device's headroom; the device then drops writes and poisons pages (default off)");

#define CRAM_PRIVATE_RES_NAME	"System RAM (cxl_cram)"

/**
 * struct cram_private - a device's range as a private node
 * @list: entry in cram_orphans once its device detached while busy
 * @ops: the registered range and callbacks
 * @cd: the device, or NULL once it detached (readers: RCU)
 * @nid: the node
 * @base: first byte of the onlined range
 * @size: its size
 * @pages: pages accepted and not yet freed
 */
struct cram_private {
	struct list_head list;
	struct private_node_ops ops;
	struct cram_dev __rcu *cd;
	int nid;
	u64 base;
	u64 size;
	atomic_long_t pages;
};

/* Ranges whose device detached while zswap still held pages on them */
static LIST_HEAD(cram_orphans);
static DEFINE_MUTEX(cram_orphans_lock);

/* page_allocated callback: called under RCU, must not sleep */
static int cram_private_allocated(struct page *page, void *data)
{
	struct cram_private *cp = data;
	struct cram_dev *cd = rcu_dereference(cp->cd);
	int rc;

	if (!cd || !try_module_get(THIS_MODULE))
		return -ENODEV;
	rc = cram_page_allocated(cd, page_to_phys(page));
	if (rc == -ENOSPC && READ_ONCE(force_accept))
		rc = 0;
	if (rc) {
		module_put(THIS_MODULE);
		return rc;
	}
	atomic_long_inc(&cp->pages);
	return 0;
}

/* page_freed callback: called under RCU, must not sleep */
static void cram_private_freed(struct page *page, void *data)
{
	struct cram_private *cp = data;
	struct cram_dev *cd = rcu_dereference(cp->cd);

	if (cd) {
		/* A dirty line written back after the discard would store it again */
		clflush_cache_range(page_address(page), PAGE_SIZE);
		cram_page_freed(cd, page_to_phys(page));
	}
	atomic_long_dec(&cp->pages);
	module_put(THIS_MODULE);
}

/* The range to online: the decoded one, memory-block aligned, capped. */
static int cram_private_range(struct cram_dev *cd, u64 *base, u64 *size)
{
	u64 block = memory_block_size_bytes();
	u64 start, end;
	int rc;

	rc = cram_hpa_range(cd, base, size);
	if (rc)
		return rc;
	start = ALIGN(*base, block);
	end = ALIGN_DOWN(*base + *size, block);
	if (private_max_mb && end - start > ((u64)private_max_mb << 20))
		end = start + ALIGN_DOWN((u64)private_max_mb << 20, block);
	if (end <= start)
		return -ERANGE;
	*base = start;
	*size = end - start;
	return 0;
}

static int cram_private_nid(u64 base)
{
	int nid = phys_to_target_node(base);

	return nid != NUMA_NO_NODE ? nid : memory_add_physaddr_to_nid(base);
}

/**
 * cram_private_attach - set up the private node, if asked for
 * @cd: the device
 *
 * Failure is reported and leaves the device working without a private
 * node: verdicts, interrupts and the self-test don't need one.
 */
void cram_private_attach(struct cram_dev *cd)
{
	struct cram_private *cp;
	u64 base, size;
	int nid, rc;

	if (!private_node)
		return;
	rc = cram_private_range(cd, &base, &size);
	if (rc) {
		dev_warn(cd->dev, "private node: no committed region (%d): create the region, then load the driver\n",
			 rc);
		return;
	}
	nid = cram_private_nid(base);
	cp = kzalloc(sizeof(*cp), GFP_KERNEL);
	if (!cp)
		return;
	cp->nid = nid;
	cp->base = base;
	cp->size = size;
	cp->ops.res_start = base;
	cp->ops.res_end = base + size - 1;
	cp->ops.memtype = PRIVATE_MEMTYPE_ZSWAP;
	cp->ops.page_allocated = cram_private_allocated;
	cp->ops.page_freed = cram_private_freed;
	cp->ops.data = cp;
	RCU_INIT_POINTER(cp->cd, cd);

	rc = node_register_private(nid, &cp->ops);
	if (rc == -EBUSY)
		dev_err(cd->dev, "private node: node %d holds ordinary memory (was the region onlined as System RAM?)\n",
			nid);
	else if (rc)
		dev_err(cd->dev, "private node: node %d refused: %d\n", nid, rc);
	if (rc)
		goto err_free;
	rc = node_private_add_memory(nid, base, size, CRAM_PRIVATE_RES_NAME);
	if (rc == -EBUSY)
		dev_err(cd->dev, "private node: %#llx-%#llx is claimed or would not online (a dax device? daxctl disable-device)\n",
			base, base + size - 1);
	else if (rc)
		dev_err(cd->dev, "private node: onlining %#llx-%#llx failed: %d\n",
			base, base + size - 1, rc);
	if (rc)
		goto err_unregister;
	zswap_add_direct_node(nid);
	rcu_assign_pointer(cd->priv, cp);
	dev_info(cd->dev, "private node %d: %llu MiB at %#llx, zswap direct node\n",
		 nid, size >> 20, base);
	return;

err_unregister:
	node_unregister_private(nid, &cp->ops);
err_free:
	kfree(cp);
}

/*
 * Takes the range offline and forgets it.  It fails with -EBUSY while
 * pages are held; @force then unregisters the callbacks all the same
 * (the memory stays online, fenced off as a private node).  @cp is freed
 * unless it fails without @force: the caller must not use it afterwards.
 */
static int cram_private_release(struct cram_private *cp, bool force)
{
	int rc;

	rc = node_private_remove_memory(cp->nid, cp->base, cp->size);
	if (rc && !force)
		return rc;
	node_unregister_private(cp->nid, &cp->ops);
	kfree(cp);
	return rc;
}

/**
 * cram_private_detach - undo cram_private_attach()
 * @cd: the device
 *
 * Called with the PCI function's device lock held, as attach is.
 */
void cram_private_detach(struct cram_dev *cd)
{
	struct cram_private *cp;
	long held;
	int nid, rc;

	cp = rcu_dereference_protected(cd->priv,
				       lockdep_is_held(&cd->pdev->dev.mutex));
	if (!cp)
		return;
	/* sysfs readers (cram_private_node/pages) are done with it after this */
	RCU_INIT_POINTER(cd->priv, NULL);
	synchronize_rcu();
	nid = cp->nid;
	zswap_remove_direct_node(nid);
	rc = cram_private_release(cp, false);
	if (!rc) {
		/* cp is freed: log the saved node number */
		dev_info(cd->dev, "private node %d: offline and unregistered\n",
			 nid);
		return;
	}
	/* zswap still holds pages: keep the range, inert, until they go */
	held = atomic_long_read(&cp->pages);
	rcu_assign_pointer(cp->cd, NULL);
	synchronize_rcu();
	dev_warn(cd->dev, "private node %d: %ld pages still stored by zswap (%d): the range stays online until they are freed and the module is unloaded\n",
		 nid, held, rc);
	mutex_lock(&cram_orphans_lock);
	list_add_tail(&cp->list, &cram_orphans);
	mutex_unlock(&cram_orphans_lock);
}

/* Module exit: no page is held any more (each holds a module reference). */
void cram_private_exit(void)
{
	struct cram_private *cp, *next;

	mutex_lock(&cram_orphans_lock);
	list_for_each_entry_safe(cp, next, &cram_orphans, list) {
		list_del(&cp->list);
		if (cram_private_release(cp, true))
			pr_err("cxl_cram: a private node's range could not be removed: it stays online, unused\n");
	}
	mutex_unlock(&cram_orphans_lock);
}

/**
 * cram_private_node - the device's private node
 * @cd: the device
 *
 * Return: the node, or NUMA_NO_NODE when it has none.
 */
int cram_private_node(struct cram_dev *cd)
{
	struct cram_private *cp;
	int nid = NUMA_NO_NODE;

	rcu_read_lock();
	cp = rcu_dereference(cd->priv);
	if (cp)
		nid = cp->nid;
	rcu_read_unlock();
	return nid;
}

/**
 * cram_private_pages - pages that zswap stores on the device
 * @cd: the device
 *
 * Return: the pages accepted and not yet freed.
 */
long cram_private_pages(struct cram_dev *cd)
{
	struct cram_private *cp;
	long pages = 0;

	rcu_read_lock();
	cp = rcu_dereference(cd->priv);
	if (cp)
		pages = atomic_long_read(&cp->pages);
	rcu_read_unlock();
	return pages;
}
