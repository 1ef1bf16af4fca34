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
                                          /* 23:16 codec level */
#define CXL_CRAM_REG_CAPACITY       0x010 /* advertised bytes */
#define CXL_CRAM_REG_MEDIA_SIZE     0x018 /* media bytes */

/* Usage (read-only, exact at the time of the read) */
#define CXL_CRAM_REG_MEDIA_USED     0x020
#define CXL_CRAM_REG_MEDIA_FREE     0x028
#define CXL_CRAM_REG_LOGICAL_HELD   0x030 /* non-zero pages * 4 KiB */
#define CXL_CRAM_REG_STORED_BYTES   0x038 /* sum of object sizes */
#define CXL_CRAM_REG_RATIO          0x040 /* held / used, 16.16 fixed */

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

#define CXL_CRAM_REG_STATS_END      0x100
/* 0x100-0x1ff: reserved for control (watermarks, interrupts, discard) */

#define CXL_CRAM_CODEC_NONE         0
#define CXL_CRAM_CODEC_LZ4          1
#define CXL_CRAM_CODEC_ZSTD         2

#endif
