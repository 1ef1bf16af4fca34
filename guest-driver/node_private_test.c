// SPDX-License-Identifier: GPL-2.0-only
/*
 * node_private_test: checks the private-node API of guest-driver/kernel/
 * against its contract, from a module, on a running kernel.
 *
 *   insmod node_private_test.ko nid=N
 *
 * N is a private node set up by cxl_cram.ko private_node=1 (memtype
 * ZSWAP).  Each check logs "node_private_test: ok - ..." or "not ok - ...";
 * loading fails with -EINVAL when one did not hold.  Unload it afterwards.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/node_private.h>
#include <linux/nodemask.h>

static int nid = NUMA_NO_NODE;
module_param(nid, int, 0444);
MODULE_PARM_DESC(nid, "A private node (memtype ZSWAP) to check against");

static int npt_failed;

static void npt_check(bool ok, const char *what, long got)
{
	if (!ok)
		npt_failed++;
	pr_info("%sok - %s (got %ld)\n", ok ? "" : "not ", what, got);
}

static int npt_accept(struct page *page, void *data)
{
	return 0;
}

/* Registration: bad arguments, ordinary memory, conflicts. */
static void npt_register(int priv)
{
	struct private_node_ops ops = {
		.res_start = 0, .res_end = PAGE_SIZE - 1,
		.memtype = PRIVATE_MEMTYPE_ZSWAP,
		.page_allocated = npt_accept,
	};
	struct page *page;
	int rc;

	rc = node_register_private(-1, &ops);
	npt_check(rc == -EINVAL, "node -1 is refused with -EINVAL", rc);
	rc = node_register_private(MAX_NUMNODES, &ops);
	npt_check(rc == -EINVAL, "node MAX_NUMNODES is refused with -EINVAL", rc);
	rc = node_register_private(priv, NULL);
	npt_check(rc == -EINVAL, "NULL ops are refused with -EINVAL", rc);

	ops.res_start = 2 * PAGE_SIZE;
	rc = node_register_private(priv, &ops);
	npt_check(rc == -EINVAL, "an empty range is refused with -EINVAL", rc);
	ops.res_start = 0;

	ops.memtype = PRIVATE_MEMTYPE_NONE;
	rc = node_register_private(priv, &ops);
	npt_check(rc == -EINVAL, "memtype NONE is refused with -EINVAL", rc);

	ops.memtype = PRIVATE_MEMTYPE_COMPRESSED;
	rc = node_register_private(priv, &ops);
	npt_check(rc == -EINVAL,
		  "a memtype other than the node's is refused with -EINVAL", rc);
	ops.memtype = PRIVATE_MEMTYPE_ZSWAP;

	rc = node_register_private(first_memory_node, &ops);
	npt_check(rc == -EBUSY,
		  "a node with ordinary memory is refused with -EBUSY", rc);

	/* A range that overlaps the driver's: any page of the node */
	page = alloc_pages_node(priv, GFP_KERNEL | __GFP_THISNODE, 0);
	if (!page) {
		npt_check(false, "a page of the private node for the overlap check", 0);
		return;
	}
	ops.res_start = page_to_phys(page);
	ops.res_end = ops.res_start + PAGE_SIZE - 1;
	rc = node_register_private(priv, &ops);
	npt_check(rc == -EINVAL, "an overlapping range is refused with -EINVAL", rc);
	__free_page(page);

	/* Below the node's memory: no overlap, same memtype: accepted */
	ops.res_start = 0;
	ops.res_end = PAGE_SIZE - 1;
	rc = node_register_private(priv, &ops);
	npt_check(rc == 0, "a second range of the same memtype is accepted", rc);
	if (!rc)
		node_unregister_private(priv, &ops);
}

/* Allocation: only __GFP_THISNODE requests reach the node. */
static void npt_alloc(int priv)
{
	struct page *page;
	int rc;

	page = alloc_pages_node(priv, GFP_KERNEL, 0);
	npt_check(page && page_to_nid(page) != priv,
		  "an allocation preferring the node without __GFP_THISNODE lands elsewhere",
		  page ? page_to_nid(page) : -1);
	if (page) {
		rc = node_private_allocated(page);
		npt_check(rc == -ENXIO,
			  "node_private_allocated() of an ordinary page is -ENXIO", rc);
		__free_page(page);
	}

	page = alloc_pages_node(priv, GFP_KERNEL | __GFP_THISNODE, 0);
	npt_check(page && page_to_nid(page) == priv,
		  "a __GFP_THISNODE allocation on the node gets one of its pages",
		  page ? page_to_nid(page) : -1);
	if (!page)
		return;
	rc = node_private_allocated(page);
	npt_check(rc == 0 || rc == -ENOSPC,
		  "node_private_allocated() asks the driver (0 or -ENOSPC)", rc);
	if (!rc)
		node_private_freed(page);
	__free_page(page);
}

static int __init npt_init(void)
{
	if (nid < 0 || nid >= MAX_NUMNODES || !node_state(nid, N_PRIVATE)) {
		pr_err("nid=%d is not a private node\n", nid);
		return -EINVAL;
	}
	npt_register(nid);
	npt_alloc(nid);
	pr_info("%d failed\n", npt_failed);
	return npt_failed ? -EINVAL : 0;
}
module_init(npt_init);

static void __exit npt_exit(void)
{
}
module_exit(npt_exit);

MODULE_DESCRIPTION("Contract checks of the private-node API");
MODULE_LICENSE("GPL");
