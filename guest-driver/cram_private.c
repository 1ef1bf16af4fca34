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
 * An interleaved region becomes one private node once every device of it
 * has attached: each page's verdict and discard go to the device that
 * holds the page's granule (granules are at least a page, see
 * cram_decoder_translates()).  Detaching any of them takes the node down;
 * the others wait for it to attach again.
 *
 * Every page the verdict accepts holds a reference to this module until
 * zswap frees it, so the module can't be unloaded while zswap keeps pages
 * on the device (swapoff releases them).  If cxl_pci unbinds meanwhile,
 * the range stays online and registered, inert, until the module goes.
 */
#include <linux/log2.h>
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
#define CRAM_MAX_WAYS		16	/* CXL r3.1 8.2.4.20.7 */

/**
 * struct cram_private - a region's range as a private node
 * @list: entry in cram_regions, or in cram_orphans once it went down busy
 * @ops: the registered range and callbacks
 * @cd: the device at each interleave position, or NULL (readers: RCU)
 * @ways: devices interleaved in the region
 * @gran: interleave granule in bytes
 * @members: devices attached
 * @region: first byte of the region (the decoders' HPA base)
 * @region_size: its size
 * @online: registered and onlined
 * @nid: the node
 * @base: first byte of the onlined range
 * @size: its size
 * @pages: pages accepted and not yet freed
 */
struct cram_private {
	struct list_head list;
	struct private_node_ops ops;
	struct cram_dev __rcu *cd[CRAM_MAX_WAYS];
	unsigned int ways;
	unsigned int gran;
	unsigned int members;
	u64 region;
	u64 region_size;
	bool online;
	int nid;
	u64 base;
	u64 size;
	atomic_long_t pages;
};

/*
 * Regions being formed or online, and those whose devices went while
 * zswap still held pages on them; cram_private_lock also guards each
 * device's priv, and nests inside the PCI function's device lock.
 */
static LIST_HEAD(cram_regions);
static LIST_HEAD(cram_orphans);
static DEFINE_MUTEX(cram_private_lock);

/* The device that holds @page's granule, or NULL.  Under RCU. */
static struct cram_dev *cram_private_owner(struct cram_private *cp,
					   struct page *page)
{
	u64 off = page_to_phys(page) - cp->region;

	return rcu_dereference(cp->cd[(off >> ilog2(cp->gran)) &
				      (cp->ways - 1)]);
}

/* page_allocated callback: called under RCU, must not sleep */
static int cram_private_allocated(struct page *page, void *data)
{
	struct cram_private *cp = data;
	struct cram_dev *cd = cram_private_owner(cp, page);
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
	struct cram_dev *cd = cram_private_owner(cp, page);

	if (cd) {
		/* A dirty line written back after the discard would store it again */
		clflush_cache_range(page_address(page), PAGE_SIZE);
		cram_page_freed(cd, page_to_phys(page));
	}
	atomic_long_dec(&cp->pages);
	module_put(THIS_MODULE);
}

/* The range to online: the region, memory-block aligned, capped. */
static int cram_private_range(struct cram_private *cp)
{
	u64 block = memory_block_size_bytes();
	u64 start, end;

	start = ALIGN(cp->region, block);
	end = ALIGN_DOWN(cp->region + cp->region_size, block);
	if (private_max_mb && end - start > ((u64)private_max_mb << 20))
		end = start + ALIGN_DOWN((u64)private_max_mb << 20, block);
	if (end <= start)
		return -ERANGE;
	cp->base = start;
	cp->size = end - start;
	return 0;
}

static int cram_private_nid(u64 base)
{
	int nid = phys_to_target_node(base);

	return nid != NUMA_NO_NODE ? nid : memory_add_physaddr_to_nid(base);
}

/* The device at position @i, under cram_private_lock */
static struct cram_dev *cram_private_member(struct cram_private *cp,
					    unsigned int i)
{
	return rcu_dereference_protected(cp->cd[i],
					 lockdep_is_held(&cram_private_lock));
}

/* The first attached device, to report on: there is one while forming */
static struct device *cram_private_dev(struct cram_private *cp)
{
	struct cram_dev *cd;
	unsigned int i;

	for (i = 0; i < cp->ways; i++) {
		cd = cram_private_member(cp, i);
		if (cd)
			return cd->dev;
	}
	return NULL;
}

/* Register, online and hand to zswap a region that has all its devices. */
static void cram_private_online(struct cram_private *cp)
{
	struct device *dev = cram_private_dev(cp);
	struct cram_dev *cd;
	unsigned int i;
	int rc;

	rc = cram_private_range(cp);
	if (rc) {
		dev_warn(dev, "private node: the region at %#llx holds no whole memory block\n",
			 cp->region);
		return;
	}
	cp->nid = cram_private_nid(cp->base);
	cp->ops.res_start = cp->base;
	cp->ops.res_end = cp->base + cp->size - 1;
	cp->ops.memtype = PRIVATE_MEMTYPE_ZSWAP;
	cp->ops.page_allocated = cram_private_allocated;
	cp->ops.page_freed = cram_private_freed;
	cp->ops.data = cp;

	rc = node_register_private(cp->nid, &cp->ops);
	if (rc == -EBUSY)
		dev_err(dev, "private node: node %d holds ordinary memory (was the region onlined as System RAM?)\n",
			cp->nid);
	else if (rc)
		dev_err(dev, "private node: node %d refused: %d\n", cp->nid, rc);
	if (rc)
		return;
	rc = node_private_add_memory(cp->nid, cp->base, cp->size,
				     CRAM_PRIVATE_RES_NAME);
	if (rc == -EBUSY)
		dev_err(dev, "private node: %#llx-%#llx is claimed or would not online (a dax device? daxctl disable-device)\n",
			cp->base, cp->base + cp->size - 1);
	else if (rc)
		dev_err(dev, "private node: onlining %#llx-%#llx failed: %d\n",
			cp->base, cp->base + cp->size - 1, rc);
	if (rc) {
		node_unregister_private(cp->nid, &cp->ops);
		return;
	}
	zswap_add_direct_node(cp->nid);
	cp->online = true;
	for (i = 0; i < cp->ways; i++) {
		cd = cram_private_member(cp, i);
		rcu_assign_pointer(cd->priv, cp);
	}
	dev_info(dev, "private node %d: %llu MiB at %#llx over %u device%s, zswap direct node\n",
		 cp->nid, cp->size >> 20, cp->base, cp->ways,
		 cp->ways > 1 ? "s" : "");
}

/* Join the region @dec decodes, as the device at position @dec->pos. */
static struct cram_private *cram_private_join(struct cram_dev *cd,
					      const struct cram_decoder *dec)
{
	struct cram_private *cp;

	if (dec->ways > CRAM_MAX_WAYS)
		return NULL;
	list_for_each_entry(cp, &cram_regions, list)
		if (cp->region == dec->hpa_base)
			goto found;
	cp = kzalloc(sizeof(*cp), GFP_KERNEL);
	if (!cp)
		return NULL;
	cp->region = dec->hpa_base;
	cp->region_size = dec->hpa_size;
	cp->ways = dec->ways;
	cp->gran = dec->gran;
	list_add_tail(&cp->list, &cram_regions);
found:
	if (cp->online || cp->ways != dec->ways || cp->gran != dec->gran ||
	    rcu_access_pointer(cp->cd[dec->pos])) {
		dev_err(cd->dev, "private node: cannot join the region at %#llx as position %d of %u (taken, or the devices disagree on its ways or granularity)\n",
			cp->region, dec->pos, dec->ways);
		return NULL;
	}
	rcu_assign_pointer(cp->cd[dec->pos], cd);
	cp->members++;
	if (cp->members < cp->ways)
		dev_info(cd->dev, "private node: position %d of the %u-way region at %#llx: waiting for %u more device%s\n",
			 dec->pos, cp->ways, cp->region, cp->ways - cp->members,
			 cp->ways - cp->members > 1 ? "s" : "");
	return cp;
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
	struct cram_decoder dec;
	int rc;

	if (!private_node)
		return;
	rc = cram_place_learn(cd);
	if (cram_hpa_range(cd, &dec)) {
		dev_warn(cd->dev, "private node: no committed region the driver translates (interleave position: %d): create the region, then load the driver\n",
			 rc);
		return;
	}
	mutex_lock(&cram_private_lock);
	cp = cram_private_join(cd, &dec);
	if (cp && cp->members == cp->ways)
		cram_private_online(cp);
	mutex_unlock(&cram_private_lock);
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

/*
 * Take an online region down because @leaving detaches.  Its other
 * devices form it again, to come back when @leaving attaches again.
 */
static void cram_private_offline(struct cram_private *cp,
				 struct cram_dev *leaving)
{
	struct cram_dev *cd[CRAM_MAX_WAYS];
	struct cram_decoder dec = {
		.hpa_base = cp->region, .hpa_size = cp->region_size,
		.ways = cp->ways, .gran = cp->gran,
	};
	int nid = cp->nid, rc;
	unsigned int i;
	long held;

	list_del(&cp->list);
	for (i = 0; i < cp->ways; i++) {
		cd[i] = cram_private_member(cp, i);
		/* sysfs readers (cram_private_node/pages) are done after this */
		RCU_INIT_POINTER(cd[i]->priv, NULL);
	}
	synchronize_rcu();
	zswap_remove_direct_node(nid);
	held = atomic_long_read(&cp->pages);
	rc = cram_private_release(cp, false);
	if (!rc) {
		/* cp is freed: log the saved node number */
		dev_info(leaving->dev, "private node %d: offline and unregistered\n",
			 nid);
	} else {
		/* zswap still holds pages: keep the range, inert, until they go */
		for (i = 0; i < cp->ways; i++)
			RCU_INIT_POINTER(cp->cd[i], NULL);
		synchronize_rcu();
		dev_warn(leaving->dev, "private node %d: %ld pages still stored by zswap (%d): the range stays online until they are freed and the module is unloaded\n",
			 nid, held, rc);
		list_add_tail(&cp->list, &cram_orphans);
	}
	for (i = 0; i < dec.ways; i++) {
		if (cd[i] == leaving)
			continue;
		dec.pos = i;
		cram_private_join(cd[i], &dec);
	}
}

/**
 * cram_private_detach - undo cram_private_attach()
 * @cd: the device
 *
 * Called with the PCI function's device lock held, as attach is.
 */
void cram_private_detach(struct cram_dev *cd)
{
	struct cram_private *cp, *next;
	unsigned int i;

	mutex_lock(&cram_private_lock);
	list_for_each_entry_safe(cp, next, &cram_regions, list) {
		for (i = 0; i < cp->ways; i++)
			if (rcu_access_pointer(cp->cd[i]) == cd)
				break;
		if (i == cp->ways)
			continue;
		if (cp->online) {
			cram_private_offline(cp, cd);
			break;
		}
		RCU_INIT_POINTER(cp->cd[i], NULL);
		if (!--cp->members) {
			list_del(&cp->list);
			kfree(cp);
		}
		break;
	}
	mutex_unlock(&cram_private_lock);
}

/* Module exit: no page is held any more (each holds a module reference). */
void cram_private_exit(void)
{
	struct cram_private *cp, *next;

	mutex_lock(&cram_private_lock);
	list_for_each_entry_safe(cp, next, &cram_orphans, list) {
		list_del(&cp->list);
		if (cram_private_release(cp, true))
			pr_err("cxl_cram: a private node's range could not be removed: it stays online, unused\n");
	}
	mutex_unlock(&cram_private_lock);
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
