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

#include "qemu/bitmap.h"
#include "hw/cxl/cxl.h"
#include "qemu/thread.h"
#include "qemu/notify.h"
#include "qapi/qapi-types-cxl-cram.h"
#include "engine/cram-store.h"
#include "cxl-cram-regs.h"

#define TYPE_CXL_CRAM "cxl-cram"

/* The largest page cache: cache-size */
#define CXL_CRAM_CACHE_MAX      (1 * GiB)

OBJECT_DECLARE_TYPE(CXLCramDev, CXLCramClass, CXL_CRAM)

/* The memory backend that stands for the advertised capacity. */
#define TYPE_CXL_CRAM_MEMORY "cxl-cram-memory"

/* Ratio safety: watermarks, status, interrupts, poison counters. */
typedef struct CXLCramSafety {
    uint64_t wm_low;            /* bytes of media used */
    uint64_t wm_high;
    uint32_t status;            /* CXL_CRAM_STATUS_* */
    uint32_t irq_enable;        /* 1 << CXL_CRAM_IRQ_* */
    uint32_t irq_status;
    uint64_t irq_count[CXL_CRAM_IRQ_NR];
    uint64_t danger_count;      /* NO_ALLOC set: vector 12 */
    uint64_t safe_count;        /* NO_ALLOC cleared: vector 13 */
    uint64_t poisoned_reads;
    uint64_t mce_raised;
    uint64_t mce_abandoned;     /* loads held back too long */
    uint64_t discard_dpa;
    uint64_t discard_result;
} CXLCramSafety;

/* A vCPU's poisoned load, abandoned and run again until a check is free */
typedef struct CXLCramMceWait {
    bool held;
    uint64_t dpa;
    int64_t since;              /* QEMU_CLOCK_REALTIME ms of its first try */
} CXLCramMceWait;

/* ram-path: the store's mapping aliased into the window (ramalias.c) */
#define CXL_CRAM_RAMALIAS_MAX 4         /* cxl-type3's HDM decoders */
typedef struct CXLCramRamAlias {
    MemoryRegion ram;                   /* over cram_store_map() */
    /*
     * With @tlb_fill, an IOMMU region over the whole capacity whose
     * translation of a page (a vCPU's TLB fill) loads it, then points at
     * its place in @ram, through @ram_as
     */
    IOMMUMemoryRegion iommu;
    AddressSpace ram_as;
    bool tlb_fill;
    /*
     * With @tlb_write (and @tlb_fill), a clean page's dirty bit is
     * cleared when it is translated, so that TCG's first store through
     * the entry tells the device (patches/0011) before it lands
     */
    bool tlb_write;
    /* by HDM decoder, what goes into the window: of @iommu, or of @ram */
    MemoryRegion alias[CXL_CRAM_RAMALIAS_MAX];
    MemoryRegion *in[CXL_CRAM_RAMALIAS_MAX];    /* its window, or NULL */
    QemuThread faults;                  /* cram_store_fault_run() */
    bool has_faults;
    bool ready;
    Notifier decoders;                  /* an HDM decoder (un)committed */
    VMChangeStateEntry *vmstate;
} CXLCramRamAlias;

struct CXLCramDev {
    CXLType3Dev parent_obj;

    /* Properties */
    uint64_t capacity;
    uint64_t media_size;
    CramCodecId codec;          /* compress: the codec of new stores */
    uint32_t compress_level;
    uint8_t low_watermark;      /* percent of media-size */
    uint8_t high_watermark;
    bool poison_mce;            /* reads of poison raise machine checks */
    bool poison_mce_set;        /* changed by QMP cxl-cram-set: migrated */
    int32_t failure_policy;     /* CxlCramFailurePolicy, as qdev's int */
    bool failure_policy_set;    /* changed by QMP cxl-cram-set: migrated */
    Error *media_blocker;       /* the host holds media: no migration */
    uint64_t as_from, as_end;   /* cxl-cram-store-as's pages, */
    uint32_t as_size;           /* and their size: migrated */
    CramCodecId run_codec;      /* the codec and level of new stores: */
    uint32_t run_level;         /* the properties', or cxl-cram-set's */
    bool codec_set;             /* changed by cxl-cram-set: migrated */
    uint32_t codec_wire;        /* run_codec, as it migrates */
    uint64_t cache_size;        /* bytes of uncompressed page cache */
    bool ram_path;              /* map the cache into the window */
    bool ram_path_tlb_fill;     /* TCG: load a page at TLB fill */
    bool ram_path_tlb_write;    /* TCG: charge a first store before it */

    CramStore *store;           /* engine, cache and their lock */
    QemuThread worker;          /* cram_store_worker_run() */
    bool has_worker;
    HostMemoryBackend *memory;  /* I/O region over the capacity */
    MemoryRegion regs;          /* vendor register block, BAR 5 */
    QEMUBH *safety_bh;          /* the worker stored: re-check watermarks */
    unsigned media_gen;         /* cram_store_media_gen() last seen */
    bool tracing;               /* the store lists misses, write-backs */
    CXLCramSafety safety;
    CXLCramRamAlias ra;

    /* Get Poison List resumes here when asked the same range again */
    uint64_t poison_query_start;
    uint64_t poison_query_len;
    uint64_t poison_resume;
    unsigned mce_queued;        /* injections not yet delivered (BQL) */
    CXLCramMceWait *mce_wait;   /* by cpu_index: the load held back */
    unsigned mce_wait_n;
};

struct CXLCramClass {
    CXLType3Class parent_class;

    void (*parent_realize)(PCIDevice *pci_dev, Error **errp);
    void (*parent_exit)(PCIDevice *pci_dev);
    DeviceReset parent_reset;
    struct cxl_cmd (*cmd_set)[256];     /* mailbox overrides */
};

/*
 * The files' functions, in layers: each file calls only those of the
 * layers below its own (scripts/check-layers.sh checks it; the graph is
 * in docs/design.md).  Under all of them, the store (engine/cram-store.h).
 */

/* 0. cxl-cram-ramalias.c: ram-path, the store's mapping in the window */
void cxl_cram_ramalias_config(CXLCramDev *cram, CramStoreConfig *scfg);
void cxl_cram_ramalias_init(CXLCramDev *cram);
void cxl_cram_ramalias_update(CXLCramDev *cram);
void cxl_cram_ramalias_fini(CXLCramDev *cram);
/* 0. cxl-cram-events.c: QMP events (qapi/cxl-cram.json) */
void cxl_cram_notify_status(CXLCramDev *cram, uint32_t old, uint32_t now,
                            const CramStats *st);
void cxl_cram_notify_dropped(CXLCramDev *cram, uint64_t page, bool poisoned);
void cxl_cram_notify_mce(CXLCramDev *cram, uint64_t dpa, int cpu_index,
                         bool delivered);

/* 1. cxl-cram-safety.c: the status media use implies, interrupts */
uint32_t cxl_cram_status_next(uint32_t old, const CramStats *st,
                              uint64_t wm_low, uint64_t wm_high);
void cxl_cram_safety_update(CXLCramDev *cram);
void cxl_cram_irq(CXLCramDev *cram, int cause);

/* 2. cxl-cram-poison.c: poisoned pages, dropped writes, their records */
#define CXL_CRAM_POISON_TYPE_MAX 7      /* a poison source is 3 bits */
void cxl_cram_write_dropped(CXLCramDev *cram, uint64_t page, bool poisoned);
void cxl_cram_failure_policy(CXLCramDev *cram, CxlCramFailurePolicy policy);
void cxl_cram_poisoned_read(CXLCramDev *cram, uint64_t dpa);
void cxl_cram_poison_page(CXLCramDev *cram, uint64_t page, uint8_t type);
void cxl_cram_qmp_poison(CXLType3Dev *ct3d, uint64_t start, uint64_t length,
                         Error **errp);
bool cxl_cram_poison_next(CXLCramDev *cram, uint64_t from, uint64_t end,
                          uint64_t *s, uint64_t *e, uint8_t *type);

/*
 * 3. cxl-cram-mce.c: what a read of poison at @dpa, host address @hpa,
 * gets; a vCPU's load may not return (it is restarted to take its machine
 * check).
 */
MemTxResult cxl_cram_poisoned_load(CXLCramDev *cram, uint64_t dpa,
                                   hwaddr hpa, MemTxAttrs attrs);

/* 4. cxl-cram-datapath.c: accesses, discards, the memory backend */
bool cxl_cram_memory_init(CXLCramDev *cram, const CramConfig *cfg,
                          Error **errp);
void cxl_cram_memory_fini(CXLCramDev *cram);
void cxl_cram_datapath_class_init(ObjectClass *oc);
void cxl_cram_exact_figures(CXLCramDev *cram);
void cxl_cram_flush(CXLCramDev *cram);
void cxl_cram_discard_pages(CXLCramDev *cram, uint64_t first,
                            uint64_t n);

/* 5. cxl-cram-stats.c: every figure of cxl-cram-figures.h, at one time */
typedef struct CXLCramFigures {
    CramStats st;               /* the engine's */
    CramCacheStats cs;          /* the cache's */
    uint64_t ratio_fp16;
    uint64_t metadata_bytes;
    uint64_t headroom_pages;
    uint64_t status;            /* s.status, 64 bits wide */
    CXLCramSafety s;            /* the device's own */
} CXLCramFigures;

void cxl_cram_figures(CXLCramDev *cram, CXLCramFigures *f);
/*
 * The figure held in register @reg, or in slot @slot (>= 0) of the
 * migration stream's store header; NULL when none is.
 */
#define CXL_CRAM_REG_NONE       UINT64_MAX
uint64_t *cxl_cram_figure_find(CXLCramFigures *f, hwaddr reg, int slot);
void cxl_cram_stats_class_init(ObjectClass *oc);

/* Mailbox command sets and commands cxl-cram implements (CXL r3.2 8.2.10) */
#define CXL_CRAM_OP_POISON          0x43    /* Media and Poison Management */
#define CXL_CRAM_OP_GET_POISON      0x00
#define CXL_CRAM_OP_INJECT_POISON   0x01
#define CXL_CRAM_OP_CLEAR_POISON    0x02
#define CXL_CRAM_OP_SANITIZE        0x44    /* Sanitize and Media Operations */
#define CXL_CRAM_OP_OVERWRITE       0x00
#define CXL_CRAM_OP_MEDIA_OPS       0x02

/*
 * 5. cxl-cram-scenario.c: what the host sets of how pages are stored
 * (cxl-cram-store-as, cxl-cram-set's codec), and its vmstate
 */
extern const VMStateDescription vmstate_cxl_cram_store_as;
extern const VMStateDescription vmstate_cxl_cram_codec;
void cxl_cram_store_as(CXLCramDev *cram, uint64_t from, uint64_t end,
                       uint32_t size);
bool cxl_cram_set_codec(CXLCramDev *cram, const char *codec, bool has_level,
                        uint32_t level, Error **errp);
/* False, @errp set, when the page cache cannot take @size bytes */
bool cxl_cram_cache_size_check(CXLCramDev *cram, uint64_t size,
                               Error **errp);
bool cxl_cram_set_cache_size(CXLCramDev *cram, uint64_t size, Error **errp);

/* 6. The interfaces, side by side: cxl-cram-regs.c (BAR 5) */
void cxl_cram_regs_init(CXLCramDev *cram);
/* cxl-cram-migration.c */
extern const VMStateDescription vmstate_cxl_cram;
/* cxl-cram-qmp.c: QMP commands (qapi/cxl-cram.json); their vmstate */
extern const VMStateDescription vmstate_cxl_cram_settings;
extern const VMStateDescription vmstate_cxl_cram_failure_policy;
void cxl_cram_qmp_fini(CXLCramDev *cram);
/* cxl-cram-mediaops.c: Media Operations (4402h) */
void cxl_cram_media_ops_cmds(struct cxl_cmd (*set)[256]);

/* 7. cxl-cram-mailbox.c: every command that differs from cxl-type3's */
struct cxl_cmd (*cxl_cram_mailbox_cmd_set(void))[256];
void cxl_cram_mailbox_init(CXLCramDev *cram);

/* 8. cxl-cram.c: the device type, which sets the others up */

#endif
