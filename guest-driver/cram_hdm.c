// SPDX-License-Identifier: GPL-2.0-only
/*
 * Host physical to device physical address translation, read from the
 * device's own HDM decoders (CXL r3.1 8.2.4.20) in its component
 * registers.  cxl_core owns and programs those decoders; this file only
 * reads them, so it needs no interface of cxl_core (whose headers
 * linux-headers does not ship) and works on the stock kernel.
 *
 * An interleaved decoder translates once the device's position in the
 * region is known (cram_place.c): the device holds every ways-th granule
 * of the range, and only the position says which.  The decoders are read
 * at each translation, so a region created or destroyed after the module
 * loaded is seen at once.
 */
#include <linux/bitfield.h>
#include <linux/io.h>
#include <linux/log2.h>
#include <linux/memory.h>
#include <linux/memory_hotplug.h>
#include <linux/mm.h>
#include <linux/sizes.h>

#include "cram.h"

/**
 * cram_cm_hdm - find the HDM decoder capability in CXL.cachemem registers
 * @cm: the mapped CXL.cachemem block (CRAM_CM_SIZE bytes)
 *
 * Used for the device's own block and for its host bridge's.
 *
 * Return: the capability, or NULL when @cm has none.
 */
void __iomem *cram_cm_hdm(void __iomem *cm)
{
	u32 hdr = readl(cm), cap, ptr;
	int n, i;

	if (FIELD_GET(CRAM_CM_CAP_HDR_ID_MASK, hdr) != CRAM_CM_CAP_ID_HDR)
		return NULL;
	n = FIELD_GET(CRAM_CM_CAP_HDR_ARRAY_MASK, hdr);
	for (i = 1; i <= n; i++) {
		cap = readl(cm + i * 4);
		if (FIELD_GET(CRAM_CM_CAP_HDR_ID_MASK, cap) != CRAM_CM_CAP_ID_HDM)
			continue;
		ptr = FIELD_GET(CRAM_CM_CAP_PTR_MASK, cap);
		return ptr + CRAM_HDM_CTRL(0) < CRAM_CM_SIZE ? cm + ptr : NULL;
	}
	return NULL;
}

/**
 * cram_cm_hdm_count - how many decoders of @hdm can be read
 * @cm: the mapped CXL.cachemem block
 * @hdm: its HDM decoder capability
 *
 * Return: the decoders the capability announces that fit in @cm.
 */
int cram_cm_hdm_count(void __iomem *cm, void __iomem *hdm)
{
	u32 n = FIELD_GET(CRAM_HDM_COUNT_MASK, readl(hdm + CRAM_HDM_CAP));
	int count = n ? n * 2 : 1;
	long room = (CRAM_CM_SIZE - (hdm - cm) - CRAM_HDM_BASE_LO(0)) / 0x20;

	return min3(count, CRAM_HDM_MAX, (int)room);
}

/* Map the device's CXL.cachemem registers and find its HDM decoders. */
int cram_hdm_map(struct cram_dev *cd, u64 component_phys)
{
	cd->cm = ioremap(component_phys + CRAM_CM_OFFSET, CRAM_CM_SIZE);
	if (!cd->cm)
		return -ENOMEM;
	cd->hdm = cram_cm_hdm(cd->cm);
	if (cd->hdm)
		return 0;
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

/* A decoder's base or size: the low register holds bits 31:28 only */
u64 cram_cm_hdm_addr(void __iomem *hdm, unsigned int lo, unsigned int hi)
{
	return ((u64)readl(hdm + hi) << 32) |
	       (readl(hdm + lo) & CRAM_HDM_ADDR_LO_MASK);
}

/* Decoded interleave ways: 0-4 are 1-16 ways, 8-10 are 3, 6 and 12 ways */
unsigned int cram_decode_ways(unsigned int eniw)
{
	if (eniw <= 4)
		return 1U << eniw;
	if (eniw >= 8 && eniw <= 10)
		return 3U << (eniw - 8);
	return 0;
}

/* Read decoder @i; @dpa carries the DPA cursor from one to the next. */
static bool cram_hdm_read(struct cram_dev *cd, int i, struct cram_decoder *dec,
			  u64 *dpa)
{
	u32 ctrl = readl(cd->hdm + CRAM_HDM_CTRL(i));
	u64 place = READ_ONCE(cd->place);

	if (!(ctrl & CRAM_HDM_CTRL_COMMITTED))
		return false;
	dec->hpa_base = cram_cm_hdm_addr(cd->hdm, CRAM_HDM_BASE_LO(i),
					 CRAM_HDM_BASE_HI(i));
	dec->hpa_size = cram_cm_hdm_addr(cd->hdm, CRAM_HDM_SIZE_LO(i),
					 CRAM_HDM_SIZE_HI(i));
	dec->ways = cram_decode_ways(FIELD_GET(CRAM_HDM_CTRL_IW_MASK, ctrl));
	dec->gran = 256U << FIELD_GET(CRAM_HDM_CTRL_IG_MASK, ctrl);
	if (dec->ways == 1)
		dec->pos = 0;
	else if (place && (place & CRAM_HDM_ADDR_MASK) == dec->hpa_base)
		dec->pos = (place & ~CRAM_HDM_ADDR_MASK) - 1;
	else
		dec->pos = -1;
	*dpa += cram_cm_hdm_addr(cd->hdm, CRAM_HDM_SKIP_LO(i),
				 CRAM_HDM_SKIP_HI(i));
	dec->dpa_base = *dpa;
	if (dec->ways)
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
	n = min(cram_cm_hdm_count(cd->cm, cd->hdm), max);
	for (i = 0; i < n; i++)
		if (!cram_hdm_read(cd, i, &dec[i], &dpa))
			break;
	return i;
}

/*
 * The committed decoder that maps @pa; with @pa == CRAM_HPA_ANY, the
 * first one that translates.
 */
static int cram_hdm_find(struct cram_dev *cd, u64 pa, struct cram_decoder *dec)
{
	u64 cursor = 0;
	int n, i;

	if (!cd->hdm)
		return -ENODEV;
	n = cram_cm_hdm_count(cd->cm, cd->hdm);
	for (i = 0; i < n && cram_hdm_read(cd, i, dec, &cursor); i++) {
		if (pa == CRAM_HPA_ANY) {
			if (!cram_decoder_translates(dec))
				return 0;
		} else if (pa - dec->hpa_base < dec->hpa_size) {
			return cram_decoder_translates(dec);
		}
	}
	return -ENXIO;
}

/**
 * cram_decoder_translates - can the driver translate through @dec?
 * @dec: a committed decoder
 *
 * Interleaved decoders need power-of-two ways, granules of at least a
 * page (a page must live on one device to be given a verdict and be
 * discarded) and the device's position (cram_place_learn()).
 *
 * Return: 0, or -EOPNOTSUPP.
 */
int cram_decoder_translates(const struct cram_decoder *dec)
{
	if (dec->ways == 1)
		return 0;
	if (!is_power_of_2(dec->ways) || dec->gran < PAGE_SIZE || dec->pos < 0)
		return -EOPNOTSUPP;
	return 0;
}

/**
 * cram_hpa_to_dpa - translate a host physical address to a DPA
 * @cd: the device
 * @pa: host physical address
 * @dpa: the device physical address
 *
 * With @ways devices interleaved at @gran bytes, the device holds the
 * granules whose index modulo @ways is its position, packed one after
 * another in its DPA range (CXL r3.1 8.2.4.20.13).
 *
 * Return: 0, -ENODEV without decoders, -ENXIO if no committed decoder
 * maps @pa to this device, -EOPNOTSUPP if the decoder does not translate
 * (cram_decoder_translates()).
 */
int cram_hpa_to_dpa(struct cram_dev *cd, phys_addr_t pa, u64 *dpa)
{
	struct cram_decoder dec;
	unsigned int gs, ws;
	u64 off;
	int rc;

	rc = cram_hdm_find(cd, pa, &dec);
	if (rc)
		return rc;
	off = pa - dec.hpa_base;
	gs = ilog2(dec.gran);
	ws = ilog2(dec.ways);
	if (((off >> gs) & (dec.ways - 1)) != dec.pos)
		return -ENXIO;
	*dpa = dec.dpa_base + (((off >> (gs + ws)) << gs) | (off & (dec.gran - 1)));
	return 0;
}

/**
 * cram_hpa_range - the host physical range of the first decoder that
 * translates (see cram_decoder_translates())
 * @cd: the device
 * @dec: that decoder; an interleaved one spans the whole region
 *
 * Return: 0, or -ENXIO when no such decoder is committed.
 */
int cram_hpa_range(struct cram_dev *cd, struct cram_decoder *dec)
{
	return cram_hdm_find(cd, CRAM_HPA_ANY, dec) ? -ENXIO : 0;
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
	struct cram_decoder dec;
	struct page *page;
	u64 off;

	if (cram_hpa_range(cd, &dec))
		return NUMA_NO_NODE;
	for (off = 0; off < dec.hpa_size; off += step) {
		page = pfn_to_online_page(PHYS_PFN(dec.hpa_base + off));
		if (page)
			return page_to_nid(page);
	}
	return NUMA_NO_NODE;
}
