// SPDX-License-Identifier: GPL-2.0-only
/*
 * The device's position in an interleaved region.  Its own HDM decoder
 * does not hold it: an endpoint decodes every ways-th granule of the
 * range whatever its position (CXL r3.1 8.2.4.20.13), and the decoders
 * above it choose which granules reach it.  The position is read from
 * them as cxl_core computes it (calc_interleave_pos()):
 *
 *	position = root port's index in the host bridge's decoder targets
 *		   * ways of the window + host bridge's index in the window
 *
 * The window and the host bridge's registers come from the ACPI CEDT
 * (CFMWS and CHBS), the root port's number from its Link Capabilities.
 * Like cram_hdm.c this only reads what cxl_acpi and cxl_core programmed,
 * so it needs none of their interfaces.  Not handled: switches between
 * the root port and the device, CXL 1.1 host bridges (RCRB).
 *
 * The lookup maps registers and so may sleep; what it learns is kept in
 * cram_dev.place for the translations made under RCU (verdicts, discards).
 */
#include <linux/acpi.h>
#include <linux/bitfield.h>
#include <linux/io.h>
#include <linux/pci.h>
#include <linux/slab.h>

#include "cram.h"

/* What the CEDT says about one host bridge and the window over @hpa */
struct cram_cedt {
	u64 hpa;
	u64 uid;
	u64 chbs_base;		/* 0 until the host bridge's CHBS is found */
	unsigned int ways;	/* 0 until the window is found */
	int index;		/* of the host bridge in the window, or -1 */
};

static void cram_cedt_entry(struct cram_cedt *c, struct acpi_cedt_header *h)
{
	struct acpi_cedt_cfmws *w = (void *)h;
	struct acpi_cedt_chbs *b = (void *)h;
	unsigned int i;

	if (h->type == ACPI_CEDT_TYPE_CHBS && h->length >= sizeof(*b) &&
	    b->uid == c->uid && b->cxl_version == ACPI_CEDT_CHBS_VERSION_CXL20)
		c->chbs_base = b->base;
	if (h->type != ACPI_CEDT_TYPE_CFMWS || h->length < sizeof(*w) ||
	    c->hpa - w->base_hpa >= w->window_size)
		return;
	c->ways = cram_decode_ways(w->interleave_ways);
	if (h->length < struct_size(w, interleave_targets, c->ways))
		c->ways = 0;
	for (i = 0; i < c->ways; i++)
		if (w->interleave_targets[i] == c->uid)
			c->index = i;
}

static int cram_cedt_read(struct cram_cedt *c)
{
	struct acpi_table_header *tbl;
	struct acpi_cedt_header *h;
	u32 off;

	if (ACPI_FAILURE(acpi_get_table(ACPI_SIG_CEDT, 0, &tbl)))
		return -ENODEV;
	for (off = sizeof(struct acpi_table_cedt);
	     off + sizeof(*h) <= tbl->length; off += h->length) {
		h = (void *)tbl + off;
		if (h->length < sizeof(*h) || off + h->length > tbl->length)
			break;
		cram_cedt_entry(c, h);
	}
	acpi_put_table(tbl);
	return 0;
}

/*
 * The index of root port number @port in the targets of the host bridge
 * decoder that decodes @hpa, and that decoder's ways; without decoders
 * (a passthrough host bridge), index 0 of 1.
 */
static int cram_hb_index(u64 chbs_base, u64 hpa, unsigned int port,
			 unsigned int *ways, unsigned int *index)
{
	void __iomem *cm, *hdm;
	int n, i, rc = -ENXIO;
	unsigned int w;
	u64 targets;
	u32 ctrl;

	cm = ioremap(chbs_base + CRAM_CM_OFFSET, CRAM_CM_SIZE);
	if (!cm)
		return -ENOMEM;
	hdm = cram_cm_hdm(cm);
	if (!hdm) {
		/* a host bridge of one root port may decode nothing itself */
		*ways = 1;
		*index = 0;
		rc = 0;
	}
	n = hdm ? cram_cm_hdm_count(cm, hdm) : 0;
	for (i = 0; i < n; i++) {
		ctrl = readl(hdm + CRAM_HDM_CTRL(i));
		if (!(ctrl & CRAM_HDM_CTRL_COMMITTED))
			break;
		if (hpa - cram_cm_hdm_addr(hdm, CRAM_HDM_BASE_LO(i),
					   CRAM_HDM_BASE_HI(i)) >=
		    cram_cm_hdm_addr(hdm, CRAM_HDM_SIZE_LO(i),
				     CRAM_HDM_SIZE_HI(i)))
			continue;
		targets = (u64)readl(hdm + CRAM_HDM_TARGET_HI(i)) << 32 |
			  readl(hdm + CRAM_HDM_TARGET_LO(i));
		*ways = cram_decode_ways(FIELD_GET(CRAM_HDM_CTRL_IW_MASK, ctrl));
		rc = -ENOENT;
		for (w = 0; w < *ways && w < 8; w++)
			if (((targets >> (8 * w)) & 0xff) == port) {
				*index = w;
				rc = 0;
				break;
			}
		break;
	}
	iounmap(cm);
	return rc;
}

/* The position of @cd in the region that @dec decodes */
static int cram_place_find(struct cram_dev *cd, const struct cram_decoder *dec,
			   unsigned int *pos)
{
	struct pci_dev *rp = pcie_find_root_port(cd->pdev);
	struct cram_cedt c = { .hpa = dec->hpa_base, .index = -1 };
	struct pci_host_bridge *hb;
	unsigned int hb_ways, rp_index;
	unsigned long long uid;
	u32 lnkcap;
	int rc;

	if (!rp || pci_upstream_bridge(cd->pdev) != rp)
		return -EOPNOTSUPP;	/* behind a switch */
	hb = pci_find_host_bridge(cd->pdev->bus);
	if (!ACPI_HANDLE(&hb->dev) ||
	    ACPI_FAILURE(acpi_evaluate_integer(ACPI_HANDLE(&hb->dev),
					       METHOD_NAME__UID, NULL, &uid)))
		return -ENODEV;
	c.uid = uid;
	rc = cram_cedt_read(&c);
	if (rc)
		return rc;
	if (!c.chbs_base || !c.ways || c.index < 0)
		return -ENOENT;
	pcie_capability_read_dword(rp, PCI_EXP_LNKCAP, &lnkcap);
	rc = cram_hb_index(c.chbs_base, dec->hpa_base,
			   FIELD_GET(PCI_EXP_LNKCAP_PN, lnkcap), &hb_ways,
			   &rp_index);
	if (rc)
		return rc;
	if (c.ways * hb_ways != dec->ways)
		return -EINVAL;
	*pos = rp_index * c.ways + c.index;
	return 0;
}

/**
 * cram_place_learn - learn the device's position in its interleaved region
 * @cd: the device
 *
 * Looks at the first committed interleaved decoder, if any, again at
 * each call: a region may have been destroyed and created again with the
 * device elsewhere.  May sleep.
 *
 * Return: 0 when there is none or its position is known; otherwise why
 * it cannot be known: -EOPNOTSUPP (a switch, a CXL 1.1 host bridge),
 * -ENOENT (the device is not among the decoders' targets), -ENXIO (no
 * host bridge decoder decodes the region), -EINVAL (their ways do not
 * multiply to the device's), -ENODEV (no ACPI CEDT or host bridge _UID).
 */
int cram_place_learn(struct cram_dev *cd)
{
	struct cram_decoder *dec;
	unsigned int pos;
	u64 place = 0;
	int n, i, rc = 0;

	dec = kcalloc(CRAM_HDM_MAX, sizeof(*dec), GFP_KERNEL);
	if (!dec)
		return -ENOMEM;
	n = cram_hdm_decoders(cd, dec, CRAM_HDM_MAX);
	for (i = 0; i < n && dec[i].ways == 1; i++)
		;
	if (i < n) {
		rc = cram_place_find(cd, &dec[i], &pos);
		if (!rc)
			place = dec[i].hpa_base | (pos + 1);
	}
	WRITE_ONCE(cd->place, place);
	kfree(dec);
	return rc;
}
