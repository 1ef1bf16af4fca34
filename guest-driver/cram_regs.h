/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cxl-cram vendor register block and the standard CXL registers the
 * driver reads.  The vendor map mirrors hw/mem/cxl-cram/cxl-cram-regs.h
 * (the authoritative copy, shared with the qtests); check.sh compares
 * the offsets of both files.
 */
#ifndef __CXL_CRAM_REGS_H__
#define __CXL_CRAM_REGS_H__

#include <linux/bits.h>

#define CRAM_PCI_VENDOR_ID		0x1b36
#define CRAM_PCI_DEVICE_ID		0x00cc
#define CRAM_REGS_SIZE			0x1000
#define CRAM_REGLOC_BLOCK_ID		0xff

#define CRAM_MAGIC			0x4d415243 /* "CRAM" */
#define CRAM_VERSION			1

/* Identification and geometry (read-only) */
#define CRAM_REG_ID			0x000
#define   CRAM_ID_MAGIC_MASK		GENMASK_ULL(31, 0)
#define   CRAM_ID_VERSION_MASK		GENMASK_ULL(47, 32)
#define CRAM_REG_CONFIG			0x008
#define   CRAM_CONFIG_PAGE_SHIFT_MASK	GENMASK_ULL(7, 0)
#define   CRAM_CONFIG_CODEC_MASK	GENMASK_ULL(15, 8)
#define   CRAM_CONFIG_LEVEL_MASK	GENMASK_ULL(47, 16)
#define CRAM_REG_CAPACITY		0x010
#define CRAM_REG_MEDIA_SIZE		0x018

/* Usage (read-only, exact at the time of the read) */
#define CRAM_REG_MEDIA_USED		0x020
#define CRAM_REG_MEDIA_FREE		0x028
#define CRAM_REG_LOGICAL_HELD		0x030
#define CRAM_REG_STORED_BYTES		0x038
#define CRAM_REG_RATIO			0x040 /* 16.16 fixed point */
#define   CRAM_RATIO_INFINITE		0xffffffffULL
#define CRAM_REG_MEDIA_RESERVED		0x048 /* of MEDIA_USED: cached dirty pages */

/* Page counts by class (read-only) */
#define CRAM_REG_PAGES_ZERO		0x050
#define CRAM_REG_PAGES_SAME		0x058
#define CRAM_REG_PAGES_COMP		0x060
#define CRAM_REG_PAGES_RAW		0x068

/* Event counters (read-only) */
#define CRAM_REG_STORES			0x070
#define CRAM_REG_LOADS			0x078
#define CRAM_REG_DROPPED_WRITES		0x080
#define CRAM_REG_DISCARDS		0x088
#define CRAM_REG_METADATA_BYTES		0x090

/* Ratio-safety counters (read-only) */
#define CRAM_REG_POISONED_PAGES		0x098
#define CRAM_REG_POISONED_READS		0x0a0
#define CRAM_REG_MCE_RAISED		0x0a8
#define CRAM_REG_IRQ_COUNT(c)		(0x0b0 + 8 * (c))
#define CRAM_REG_IRQ_DANGER		0x0d8
#define CRAM_REG_IRQ_SAFE		0x0e0

/* The device's page cache (read-only) */
#define CRAM_REG_CACHE_HITS		0x0e8
#define CRAM_REG_CACHE_MISSES		0x0f0
#define CRAM_REG_CACHE_DIRTY		0x0f8

/* Control and status */
#define CRAM_REG_WM_LOW			0x100
#define CRAM_REG_WM_HIGH		0x108
#define CRAM_REG_STATUS			0x110
#define CRAM_REG_HEADROOM_PAGES		0x118
#define CRAM_REG_IRQ_ENABLE		0x120
#define CRAM_REG_IRQ_STATUS		0x128 /* write 1 to clear */
#define CRAM_REG_DISCARD_DPA		0x130
#define CRAM_REG_DISCARD_PAGES		0x138 /* doorbell */
#define CRAM_REG_DISCARD_RESULT		0x140
#define CRAM_REG_CACHE_FLUSH		0x148 /* doorbell: store dirty pages */

#define CRAM_STATUS_ABOVE_LOW		BIT(0)
#define CRAM_STATUS_ABOVE_HIGH		BIT(1)
#define CRAM_STATUS_NO_ALLOC		BIT(2)
#define CRAM_STATUS_EXHAUSTED		BIT(3)
#define CRAM_STATUS_POISON		BIT(4)
#define CRAM_STATUS_NR			5

/* Interrupt causes: bit numbers of IRQ_ENABLE and IRQ_STATUS */
#define CRAM_IRQ_LOW_RISE		0
#define CRAM_IRQ_HIGH_RISE		1
#define CRAM_IRQ_HIGH_FALL		2
#define CRAM_IRQ_LOW_FALL		3
#define CRAM_IRQ_DROPPED		4
#define CRAM_IRQ_NR			5
#define CRAM_IRQ_MASK			GENMASK(CRAM_IRQ_NR - 1, 0)

#define CRAM_DISCARD_OK			0
#define CRAM_DISCARD_UNALIGNED		1
#define CRAM_DISCARD_RANGE		2
#define CRAM_DISCARD_EMPTY		3

/* MSI-X vectors: cxl-type3 uses 0-7 */
#define CRAM_MSIX_VECTOR		8
#define CRAM_MSIX_DANGER		12
#define CRAM_MSIX_SAFE			13

#define CRAM_CODEC_NONE			0
#define CRAM_CODEC_LZ4			1
#define CRAM_CODEC_ZSTD			2

/*
 * Standard CXL registers (CXL r3.1): the Register Locator DVSEC and the
 * HDM decoder capability of the component registers.  drivers/cxl keeps
 * its copies in private headers that linux-headers does not ship.
 */
#define CRAM_DVSEC_VENDOR_CXL		0x1e98
#define CRAM_DVSEC_REG_LOCATOR		8
#define   CRAM_REGLOC_BLOCK1		0xc
#define   CRAM_REGLOC_BIR_MASK		GENMASK(2, 0)
#define   CRAM_REGLOC_BLOCK_ID_MASK	GENMASK(15, 8)
#define   CRAM_REGLOC_OFF_LOW_MASK	GENMASK(31, 16)
#define   CRAM_REGLOC_RBI_COMPONENT	0x01

#define CRAM_CM_OFFSET			0x1000 /* CXL.cachemem registers */
#define CRAM_CM_SIZE			0x1000
#define   CRAM_CM_CAP_HDR_ID_MASK	GENMASK(15, 0)
#define   CRAM_CM_CAP_HDR_ARRAY_MASK	GENMASK(31, 24)
#define   CRAM_CM_CAP_PTR_MASK		GENMASK(31, 20)
#define   CRAM_CM_CAP_ID_HDR		0x1
#define   CRAM_CM_CAP_ID_HDM		0x5

#define CRAM_HDM_CAP			0x0
#define   CRAM_HDM_COUNT_MASK		GENMASK(3, 0)
#define CRAM_HDM_BASE_LO(i)		(0x20 * (i) + 0x10)
#define CRAM_HDM_BASE_HI(i)		(0x20 * (i) + 0x14)
#define CRAM_HDM_SIZE_LO(i)		(0x20 * (i) + 0x18)
#define CRAM_HDM_SIZE_HI(i)		(0x20 * (i) + 0x1c)
#define CRAM_HDM_CTRL(i)		(0x20 * (i) + 0x20)
#define   CRAM_HDM_CTRL_IG_MASK		GENMASK(3, 0)
#define   CRAM_HDM_CTRL_IW_MASK		GENMASK(7, 4)
#define   CRAM_HDM_CTRL_COMMITTED	BIT(10)
#define CRAM_HDM_SKIP_LO(i)		(0x20 * (i) + 0x24)
#define CRAM_HDM_SKIP_HI(i)		(0x20 * (i) + 0x28)
/* in a host bridge's or a switch's decoder: one port number per way */
#define CRAM_HDM_TARGET_LO(i)		CRAM_HDM_SKIP_LO(i)
#define CRAM_HDM_TARGET_HI(i)		CRAM_HDM_SKIP_HI(i)
#define   CRAM_HDM_ADDR_LO_MASK		GENMASK(31, 28)
#define   CRAM_HDM_ADDR_MASK		GENMASK_ULL(63, 28)
#define CRAM_HDM_MAX			32 /* decoders per device, CXL r3.1 */

#endif /* __CXL_CRAM_REGS_H__ */
