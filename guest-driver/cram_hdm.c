// SPDX-License-Identifier: GPL-2.0-only
/*
 * Host physical to device physical address translation, read from the
 * device's own HDM decoders (CXL r3.1 8.2.4.20) in its component
 * registers.  cxl_core owns and programs those decoders; this file only
 * reads them, so it needs no interface of cxl_core (whose headers
 * linux-headers does not ship) and works on the stock kernel.
 *
 * Only non-interleaved (1-way) decoders translate: with interleaving the
 * device holds every n-th granule of the range and the driver would need
 * the region's position of this device.  The decoders are read at each
 * translation, so a region created or destroyed after the module loaded
 * is seen at once.
 */
#include <linux/bitfield.h>
#include <linux/io.h>
#include <linux/memory.h>
#include <linux/memory_hotplug.h>
#include <linux/mm.h>
#include <linux/sizes.h>

#include "cram.h"

/* Find the HDM decoder capability in the CXL.cachemem registers. */
int cram_hdm_map(struct cram_dev *cd, u64 component_phys)
{
	u32 hdr, cap;
	int n, i;

	cd->cm = ioremap(component_phys + CRAM_CM_OFFSET, CRAM_CM_SIZE);
	if (!cd->cm)
		return -ENOMEM;
	hdr = readl(cd->cm);
	if (FIELD_GET(CRAM_CM_CAP_HDR_ID_MASK, hdr) != CRAM_CM_CAP_ID_HDR)
		goto none;
	n = FIELD_GET(CRAM_CM_CAP_HDR_ARRAY_MASK, hdr);
	for (i = 1; i <= n; i++) {
		u32 ptr;

		cap = readl(cd->cm + i * 4);
		if (FIELD_GET(CRAM_CM_CAP_HDR_ID_MASK, cap) != CRAM_CM_CAP_ID_HDM)
			continue;
		ptr = FIELD_GET(CRAM_CM_CAP_PTR_MASK, cap);
		if (ptr + CRAM_HDM_CTRL(0) >= CRAM_CM_SIZE)
			goto none;
		cd->hdm = cd->cm + ptr;
		return 0;
	}
none:
	iounmap(cd->cm);
	cd->cm = NULL;
	return -ENODEV;
}

void cram_hdm_unmap(struct cram_dev *cd)
{
	if (cd->cm)
		iounmap(cd->cm);
	cd->cm = NULL;
	cd->hdm = NULL;
}

static int cram_hdm_count(struct cram_dev *cd)
{
	u32 n = FIELD_GET(CRAM_HDM_COUNT_MASK, readl(cd->hdm + CRAM_HDM_CAP));
	int count = n ? n * 2 : 1;
	long room = (CRAM_CM_SIZE - (cd->hdm - cd->cm) - CRAM_HDM_BASE_LO(0)) / 0x20;

	return min3(count, CRAM_HDM_MAX, (int)room);
}

static u64 cram_hdm_read64(struct cram_dev *cd, unsigned int lo,
			   unsigned int hi)
{
	return ((u64)readl(cd->hdm + hi) << 32) |
	       (readl(cd->hdm + lo) & CRAM_HDM_ADDR_LO_MASK);
}

/* Read decoder @i; @dpa carries the DPA cursor from one to the next. */
static bool cram_hdm_read(struct cram_dev *cd, int i, struct cram_decoder *dec,
			  u64 *dpa)
{
	u32 ctrl = readl(cd->hdm + CRAM_HDM_CTRL(i));
	unsigned int iw = FIELD_GET(CRAM_HDM_CTRL_IW_MASK, ctrl);

	if (!(ctrl & CRAM_HDM_CTRL_COMMITTED))
		return false;
	dec->hpa_base = cram_hdm_read64(cd, CRAM_HDM_BASE_LO(i),
					CRAM_HDM_BASE_HI(i));
	dec->hpa_size = cram_hdm_read64(cd, CRAM_HDM_SIZE_LO(i),
					CRAM_HDM_SIZE_HI(i));
	/* encoded ways: 0-4 are 1-16 ways, 8-10 are 3, 6 and 12 ways */
	dec->ways = iw < 8 ? 1U << iw : 3U << (iw - 8);
	*dpa += cram_hdm_read64(cd, CRAM_HDM_SKIP_LO(i), CRAM_HDM_SKIP_HI(i));
	dec->dpa_base = *dpa;
	*dpa += div_u64(dec->hpa_size, dec->ways);
	return true;
}

/**
 * cram_hdm_decoders - read the committed decoders of the device
 * @cd: the device
 * @dec: filled with up to @max decoders, in decoder order
 * @max: room in @dec
 *
 * Decoders commit in order; the first uncommitted one ends the list.
 * Each decoder's DPA range follows the previous one's, after its skip.
 *
 * Return: the number of committed decoders, or -ENODEV without decoders.
 */
int cram_hdm_decoders(struct cram_dev *cd, struct cram_decoder *dec, int max)
{
	u64 dpa = 0;
	int n, i;

	if (!cd->hdm)
		return -ENODEV;
	n = min(cram_hdm_count(cd), max);
	for (i = 0; i < n; i++)
		if (!cram_hdm_read(cd, i, &dec[i], &dpa))
			break;
	return i;
}

/**
 * cram_hpa_to_dpa - translate a host physical address to a DPA
 * @cd: the device
 * @pa: host physical address
 * @dpa: the device physical address
 *
 * Return: 0, -ENODEV without decoders, -ENXIO if no committed
 * decoder maps @pa, -EOPNOTSUPP if the decoder interleaves.
 */
int cram_hpa_to_dpa(struct cram_dev *cd, phys_addr_t pa, u64 *dpa)
{
	struct cram_decoder dec;
	u64 cursor = 0;
	int n, i;

	if (!cd->hdm)
		return -ENODEV;
	n = cram_hdm_count(cd);
	for (i = 0; i < n && cram_hdm_read(cd, i, &dec, &cursor); i++) {
		if (pa < dec.hpa_base || pa - dec.hpa_base >= dec.hpa_size)
			continue;
		if (dec.ways != 1)
			return -EOPNOTSUPP;
		*dpa = dec.dpa_base + (pa - dec.hpa_base);
		return 0;
	}
	return -ENXIO;
}

/**
 * cram_hpa_range - the host physical range of the first 1-way decoder
 * @cd: the device
 * @base: its base
 * @size: its size
 *
 * Return: 0, or -ENXIO when no non-interleaved decoder is committed.
 */
int cram_hpa_range(struct cram_dev *cd, u64 *base, u64 *size)
{
	struct cram_decoder dec;
	u64 cursor = 0;
	int n, i;

	if (!cd->hdm)
		return -ENXIO;
	n = cram_hdm_count(cd);
	for (i = 0; i < n && cram_hdm_read(cd, i, &dec, &cursor); i++) {
		if (dec.ways != 1)
			continue;
		*base = dec.hpa_base;
		*size = dec.hpa_size;
		return 0;
	}
	return -ENXIO;
}

/**
 * cram_memory_node - the NUMA node the device's memory was onlined to
 * @cd: the device
 *
 * Looks for the first online memory block in the decoded range (the
 * region is onlined by kmem in memory blocks).
 *
 * Return: the node, or NUMA_NO_NODE when none of it is online memory.
 */
int cram_memory_node(struct cram_dev *cd)
{
	unsigned long step = memory_block_size_bytes();
	u64 base, size, off;
	struct page *page;

	if (cram_hpa_range(cd, &base, &size))
		return NUMA_NO_NODE;
	for (off = 0; off < size; off += step) {
		page = pfn_to_online_page(PHYS_PFN(base + off));
		if (page)
			return page_to_nid(page);
	}
	return NUMA_NO_NODE;
}
