/*
 * cxl-cram: CXL type-3 compressed-memory expander
 *
 * A cxl-type3 subclass that advertises @capacity bytes of volatile memory
 * but holds every page compressed in @media-size bytes of host memory.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_CXL_CRAM_H
#define HW_CXL_CRAM_H

#include "hw/cxl/cxl.h"
#include "engine/cram-engine.h"

#define TYPE_CXL_CRAM "cxl-cram"
OBJECT_DECLARE_TYPE(CXLCramDev, CXLCramClass, CXL_CRAM)

/* The memory backend that stands for the advertised capacity. */
#define TYPE_CXL_CRAM_MEMORY "cxl-cram-memory"

/*
 * The page the guest touched last, kept uncompressed: the guest reaches
 * CXL memory 1 to 8 bytes at a time, so without it every access would
 * decompress and recompress a whole page.
 */
typedef struct CXLCramStage {
    uint64_t page;          /* page index, valid only if @valid */
    bool valid;
    bool dirty;             /* differs from what the engine holds */
    uint8_t *buf;           /* CRAM_PAGE_SIZE bytes */
} CXLCramStage;

struct CXLCramDev {
    CXLType3Dev parent_obj;

    /* Properties */
    uint64_t capacity;
    uint64_t media_size;
    char *compress;
    uint8_t compress_level;

    CramEngine *engine;
    HostMemoryBackend *memory;  /* I/O region over the capacity */
    MemoryRegion regs;          /* vendor register block, BAR 5 */
    CXLCramStage stage;
};

struct CXLCramClass {
    CXLType3Class parent_class;

    void (*parent_realize)(PCIDevice *pci_dev, Error **errp);
    void (*parent_exit)(PCIDevice *pci_dev);
    DeviceReset parent_reset;
    struct cxl_cmd (*cmd_set)[256];     /* mailbox overrides */
};

/* cxl-cram-datapath.c */
bool cxl_cram_memory_init(CXLCramDev *cram, Error **errp);
void cxl_cram_memory_fini(CXLCramDev *cram);
void cxl_cram_stage_flush(CXLCramDev *cram);
void cxl_cram_stage_drop(CXLCramDev *cram);

/* cxl-cram-regs.c */
void cxl_cram_regs_init(CXLCramDev *cram);

/* cxl-cram-stats.c */
void cxl_cram_get_stats(CXLCramDev *cram, CramStats *st);
void cxl_cram_stats_class_init(ObjectClass *oc);

/* cxl-cram-mailbox.c */
struct cxl_cmd (*cxl_cram_mailbox_cmd_set(void))[256];
void cxl_cram_mailbox_init(CXLCramDev *cram);

#endif
