/*
 * cxl-cram vendor register block: the register map
 *
 * The block is found through the Register Locator DVSEC as block
 * identifier 0xFF (vendor specific).  It lives at offset 0 of BAR 5.
 * Every register is 64 bits wide and little-endian.  Reads may be 4 or 8
 * bytes; read 64-bit values with one 8-byte access.  docs/registers.md
 * documents each field.  This header is shared with the qtests.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_CXL_CRAM_REGS_H
#define HW_CXL_CRAM_REGS_H

#define CXL_CRAM_PCI_VENDOR_ID      0x1b36
#define CXL_CRAM_PCI_DEVICE_ID      0x00cc
#define CXL_CRAM_REGS_BAR           5
#define CXL_CRAM_REGS_SIZE          0x1000
#define CXL_CRAM_REGLOC_BLOCK_ID    0xff

#define CXL_CRAM_MAGIC              0x4d415243u /* "CRAM" */
#define CXL_CRAM_VERSION            1

/* Identification and geometry (read-only) */
#define CXL_CRAM_REG_ID             0x000 /* 31:0 magic, 47:32 version */
#define CXL_CRAM_REG_CONFIG         0x008 /* 7:0 page shift, 15:8 codec, */
                                          /* 47:16 codec level */
#define CXL_CRAM_REG_CAPACITY       0x010 /* advertised bytes */
#define CXL_CRAM_REG_MEDIA_SIZE     0x018 /* media bytes */

/* Usage (read-only; with a cache, dirty pages count at their worst case) */
#define CXL_CRAM_REG_MEDIA_USED     0x020
#define CXL_CRAM_REG_MEDIA_FREE     0x028
#define CXL_CRAM_REG_LOGICAL_HELD   0x030 /* non-zero pages * 4 KiB */
#define CXL_CRAM_REG_STORED_BYTES   0x038 /* sum of object sizes */
#define CXL_CRAM_REG_RATIO          0x040 /* held / stored, 16.16 fixed */
#define CXL_CRAM_REG_MEDIA_RESERVED 0x048 /* of MEDIA_USED: cached dirty */

/* Page counts by class (read-only) */
#define CXL_CRAM_REG_PAGES_ZERO     0x050
#define CXL_CRAM_REG_PAGES_SAME     0x058
#define CXL_CRAM_REG_PAGES_COMP     0x060
#define CXL_CRAM_REG_PAGES_RAW      0x068

/* Event counters (read-only) */
#define CXL_CRAM_REG_STORES         0x070
#define CXL_CRAM_REG_LOADS          0x078
#define CXL_CRAM_REG_DROPPED_WRITES 0x080
#define CXL_CRAM_REG_DISCARDS       0x088

/* Host memory of page metadata and allocator bookkeeping (read-only) */
#define CXL_CRAM_REG_METADATA_BYTES 0x090

/* Ratio-safety counters (read-only) */
#define CXL_CRAM_REG_POISONED_PAGES 0x098 /* pages poisoned now */
#define CXL_CRAM_REG_POISONED_READS 0x0a0 /* reads that took poison */
#define CXL_CRAM_REG_MCE_RAISED     0x0a8 /* machine checks raised */
#define CXL_CRAM_REG_IRQ_COUNT(c)   (0x0b0 + 8 * (c)) /* per cause, 0..4 */
#define CXL_CRAM_REG_IRQ_DANGER     0x0d8 /* NO_ALLOC set: vector 12 */
#define CXL_CRAM_REG_IRQ_SAFE       0x0e0 /* NO_ALLOC cleared: vector 13 */
#define CXL_CRAM_REG_CACHE_HITS     0x0e8
#define CXL_CRAM_REG_CACHE_MISSES   0x0f0
#define CXL_CRAM_REG_CACHE_DIRTY    0x0f8 /* dirty pages in the cache */

#define CXL_CRAM_REG_STATS_END      0x100

/* Control and status */
#define CXL_CRAM_REG_WM_LOW         0x100 /* RW: bytes of media used */
#define CXL_CRAM_REG_WM_HIGH        0x108 /* RW: bytes of media used */
#define CXL_CRAM_REG_STATUS         0x110 /* RO: CXL_CRAM_STATUS_* */
#define CXL_CRAM_REG_HEADROOM_PAGES 0x118 /* RO: worst-case pages storable */
#define CXL_CRAM_REG_IRQ_ENABLE     0x120 /* RW: CXL_CRAM_IRQ_* */
#define CXL_CRAM_REG_IRQ_STATUS     0x128 /* RW1C: CXL_CRAM_IRQ_* */
#define CXL_CRAM_REG_DISCARD_DPA    0x130 /* RW: first page to discard */
#define CXL_CRAM_REG_DISCARD_PAGES  0x138 /* WO doorbell: page count */
#define CXL_CRAM_REG_DISCARD_RESULT 0x140 /* RO: CXL_CRAM_DISCARD_* */
#define CXL_CRAM_REG_CACHE_FLUSH    0x148 /* WO doorbell: store dirty pages */
#define CXL_CRAM_REG_CTRL_END       0x150

#define CXL_CRAM_STATUS_ABOVE_LOW   (1u << 0)
#define CXL_CRAM_STATUS_ABOVE_HIGH  (1u << 1)
#define CXL_CRAM_STATUS_NO_ALLOC    (1u << 2)
#define CXL_CRAM_STATUS_EXHAUSTED   (1u << 3)
#define CXL_CRAM_STATUS_POISON      (1u << 4)
#define CXL_CRAM_STATUS_MASK        0x1fu

/* Interrupt causes: bit numbers of IRQ_ENABLE / IRQ_STATUS */
#define CXL_CRAM_IRQ_LOW_RISE       0   /* used rose to >= low */
#define CXL_CRAM_IRQ_HIGH_RISE      1   /* used rose to >= high: NO_ALLOC */
#define CXL_CRAM_IRQ_HIGH_FALL      2   /* used fell below high */
#define CXL_CRAM_IRQ_LOW_FALL       3   /* used fell below low: safe */
#define CXL_CRAM_IRQ_DROPPED        4   /* first dropped write */
#define CXL_CRAM_IRQ_NR             5
#define CXL_CRAM_IRQ_MASK           ((1u << CXL_CRAM_IRQ_NR) - 1)

#define CXL_CRAM_DISCARD_OK         0
#define CXL_CRAM_DISCARD_UNALIGNED  1
#define CXL_CRAM_DISCARD_RANGE      2
#define CXL_CRAM_DISCARD_EMPTY      3

/* MSI-X: cxl-type3 uses 0-7; 12 and 13 are the compressed-CXL ABI. */
#define CXL_CRAM_MSIX_VECTOR        8
#define CXL_CRAM_MSIX_DANGER        12
#define CXL_CRAM_MSIX_SAFE          13
#define CXL_CRAM_MSIX_NR            16
#define CXL_CRAM_MSIX_BAR           4       /* table at 0, PBA at 0x800 */
#define CXL_CRAM_MSIX_PBA           0x800

#define CXL_CRAM_CODEC_NONE         0
#define CXL_CRAM_CODEC_LZ4          1
#define CXL_CRAM_CODEC_ZSTD         2

#endif
