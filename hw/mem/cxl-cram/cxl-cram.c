/*
 * cxl-cram: CXL type-3 compressed-memory expander
 *
 * Advertises @capacity bytes of volatile memory through the standard
 * cxl-type3 model (Identify, partition info, CDAT and DVSEC ranges all
 * derive from the capacity), and stores each page compressed by the
 * engine in @media-size bytes of host memory.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/units.h"
#include "qapi/error.h"
#include "qapi/util.h"
#include "qapi/qapi-types-cxl-cram.h"
#include "hw/qdev-properties.h"
#include "hw/core/qdev-prop-internal.h"
#include "hw/pci/msix.h"
#include "system/hostmem.h"
#include "migration/vmstate.h"
#include "cxl-cram.h"
#include "cxl-cram-regs.h"

#define CXL_CRAM_CAPACITY_ALIGN (256 * MiB)   /* CXL capacity multiplier */
#define CXL_CRAM_CACHE_DEFAULT  (8 * MiB)     /* see docs/properties.md */

/*
 * The device's own rules for its properties; the engine checks the rest
 * (capacity at most 1 TiB, media-size, the codec level) when the store is
 * made, also before cxl-type3's realize.
 */
static bool cxl_cram_check_props(CXLCramDev *cram, CramConfig *cfg,
                                 Error **errp)
{
    CXLType3Dev *ct3d = CXL_TYPE3(cram);

    if (ct3d->hostmem || ct3d->hostvmem || ct3d->hostpmem || ct3d->lsa ||
        ct3d->dc.num_regions) {
        error_setg(errp, "cxl-cram provides its own memory: do not set "
                   "memdev, volatile-memdev, persistent-memdev, lsa or "
                   "num-dc-regions; size it with capacity and media-size");
        return false;
    }
    if (!cram->capacity || cram->capacity % CXL_CRAM_CAPACITY_ALIGN) {
        error_setg(errp, "capacity %" PRIu64 " must be a non-zero multiple "
                   "of 256 MiB", cram->capacity);
        return false;
    }
    if (cram->cache_size % CRAM_PAGE_SIZE ||
        cram->cache_size > CXL_CRAM_CACHE_MAX) {
        error_setg(errp, "cache-size %" PRIu64 " must be a multiple of 4 KiB "
                   "of at most 1 GiB (0: no cache)", cram->cache_size);
        return false;
    }
    if (!cram->high_watermark || cram->high_watermark > 100 ||
        cram->low_watermark >= cram->high_watermark) {
        error_setg(errp, "watermarks must satisfy 0 <= low-watermark (%u) "
                   "< high-watermark (%u) <= 100 (percent of media-size)",
                   cram->low_watermark, cram->high_watermark);
        return false;
    }
    if (cram->ram_path && !cram->cache_size) {
        error_setg(errp, "ram-path maps the cache: it needs cache-size > 0");
        return false;
    }
    *cfg = (CramConfig) {
        .capacity = cram->capacity,
        .media_size = cram->media_size,
        .codec = cram->codec,
        /* the codecs' levels are ints: anything above fails as itself */
        .level = MIN(cram->compress_level, INT_MAX),
    };
    return true;
}

/*
 * cxl-type3 sized its MSI-X table for its own 8 vectors.  Rebuild it in
 * the same BAR with 16: 8 for cxl-cram's own interrupt, and 12/13 for the
 * interface of the existing compressed-CXL driver.  msix_uninit() leaves
 * the table and PBA regions children of the device: unparent them before
 * msix_init() initializes them again, or each would be a child twice and
 * released twice when the device is finalized after device_del.
 */
static bool cxl_cram_msix_init(CXLCramDev *cram, Error **errp)
{
    PCIDevice *pdev = PCI_DEVICE(cram);
    int i;

    msix_uninit_exclusive_bar(pdev);
    object_unparent(OBJECT(&pdev->msix_table_mmio));
    object_unparent(OBJECT(&pdev->msix_pba_mmio));
    if (msix_init(pdev, CXL_CRAM_MSIX_NR, &pdev->msix_exclusive_bar,
                  CXL_CRAM_MSIX_BAR, 0, &pdev->msix_exclusive_bar,
                  CXL_CRAM_MSIX_BAR, CXL_CRAM_MSIX_PBA, 0, errp)) {
        return false;
    }
    for (i = 0; i < CXL_CRAM_MSIX_NR; i++) {
        msix_vector_use(pdev, i);
    }
    return true;
}

/*
 * The registers a guest programs return to their defaults: watermarks
 * from the properties, interrupts off and clear, the discard registers
 * zero.  Stored data and counters stay; the status is what they imply,
 * as from power-on, set without signalling anything (docs/registers.md).
 */
static void cxl_cram_reset_regs(CXLCramDev *cram)
{
    CXLCramSafety *s = &cram->safety;
    CramStats st;

    s->wm_low = cram->media_size / 100 * cram->low_watermark;
    s->wm_high = cram->media_size / 100 * cram->high_watermark;
    s->irq_enable = 0;
    s->irq_status = 0;
    s->discard_dpa = 0;
    s->discard_result = 0;
    cram_store_get_stats(cram->store, &st, NULL, NULL);
    s->status = cxl_cram_status_next(0, &st, s->wm_low, s->wm_high);
}

static void cxl_cram_realize(PCIDevice *pci_dev, Error **errp)
{
    ERRP_GUARD();
    CXLCramDev *cram = CXL_CRAM(pci_dev);
    CXLCramClass *cc = CXL_CRAM_GET_CLASS(cram);
    CXLType3Dev *ct3d = CXL_TYPE3(pci_dev);
    CramConfig cfg;

    if (!cxl_cram_check_props(cram, &cfg, errp) ||
        !cxl_cram_memory_init(cram, &cfg, errp)) {
        return;
    }
    /* The volatile-memdev link holds a reference, released at finalize. */
    ct3d->hostvmem = MEMORY_BACKEND(object_ref(OBJECT(cram->memory)));

    cc->parent_realize(pci_dev, errp);
    if (*errp) {
        goto err_memory;
    }
    /* the codec of new stores, until cxl-cram-set changes it */
    cram->run_codec = cram->codec;
    cram->run_level = cram->compress_level;
    cxl_cram_regs_init(cram);
    if (!cxl_cram_msix_init(cram, errp)) {
        cc->parent_exit(pci_dev);
        goto err_memory;
    }
    cxl_cram_reset_regs(cram);
    return;

err_memory:
    object_unref(OBJECT(ct3d->hostvmem));
    ct3d->hostvmem = NULL;
    cxl_cram_memory_fini(cram);
}

static void cxl_cram_exit(PCIDevice *pci_dev)
{
    CXLCramDev *cram = CXL_CRAM(pci_dev);

    CXL_CRAM_GET_CLASS(cram)->parent_exit(pci_dev);
    cxl_cram_qmp_fini(cram);
    cxl_cram_memory_fini(cram);
    g_free(cram->mce_wait);
    cram->mce_wait = NULL;
    cram->mce_wait_n = 0;
}

static void cxl_cram_reset(DeviceState *dev)
{
    CXLCramDev *cram = CXL_CRAM(dev);
    CXLCramClass *cc = CXL_CRAM_GET_CLASS(cram);

    cc->parent_reset(dev);
    cxl_cram_mailbox_init(cram);
    cxl_cram_reset_regs(cram);
    cxl_cram_ramalias_update(cram);     /* the decoders were reset */
    /* A load held back for a machine check died with the reset. */
    if (cram->mce_wait_n) {
        memset(cram->mce_wait, 0, cram->mce_wait_n * sizeof(*cram->mce_wait));
    }
}

/* compress: the codecs by CramCodecId, an enum property as QAPI's */
static const QEnumLookup cxl_cram_codec_lookup = {
    .array = (const char *const[]) {
        [CRAM_CODEC_NONE] = "none",
        [CRAM_CODEC_LZ4] = "lz4",
        [CRAM_CODEC_ZSTD] = "zstd",
    },
    .size = CRAM_CODEC__MAX,
};

static const PropertyInfo cxl_cram_prop_codec = {
    .type = "CxlCramCompress",
    .description = "Codec of the pages stored: zstd (default), lz4 or none",
    .enum_table = &cxl_cram_codec_lookup,
    .get = qdev_propinfo_get_enum,
    .set = qdev_propinfo_set_enum,
    .set_default_value = qdev_propinfo_set_default_value_enum,
};

static const PropertyInfo cxl_cram_prop_failure_policy = {
    .type = "CxlCramFailurePolicy",
    .description = "What a write that finds no media does to its page: "
                   "poison (default) or log",
    .enum_table = &CxlCramFailurePolicy_lookup,
    .get = qdev_propinfo_get_enum,
    .set = qdev_propinfo_set_enum,
    .set_default_value = qdev_propinfo_set_default_value_enum,
};

static const Property cxl_cram_props[] = {
    DEFINE_PROP_SIZE("capacity", CXLCramDev, capacity, 8 * GiB),
    DEFINE_PROP_SIZE("media-size", CXLCramDev, media_size, 1 * GiB),
    DEFINE_PROP_SIGNED("compress", CXLCramDev, codec, CRAM_CODEC_ZSTD,
                       cxl_cram_prop_codec, CramCodecId),
    DEFINE_PROP_UINT32("compress-level", CXLCramDev, compress_level, 0),
    DEFINE_PROP_UINT8("low-watermark", CXLCramDev, low_watermark, 75),
    DEFINE_PROP_UINT8("high-watermark", CXLCramDev, high_watermark, 90),
    DEFINE_PROP_BOOL("poison-mce", CXLCramDev, poison_mce, true),
    DEFINE_PROP_SIGNED("failure-policy", CXLCramDev, failure_policy,
                       CXL_CRAM_FAILURE_POLICY_POISON,
                       cxl_cram_prop_failure_policy, int32_t),
    DEFINE_PROP_SIZE("cache-size", CXLCramDev, cache_size,
                     CXL_CRAM_CACHE_DEFAULT),
    DEFINE_PROP_BOOL("ram-path", CXLCramDev, ram_path, false),
    DEFINE_PROP_BOOL("ram-path-tlb-fill", CXLCramDev, ram_path_tlb_fill, true),
    DEFINE_PROP_BOOL("ram-path-tlb-write", CXLCramDev, ram_path_tlb_write,
                     true),
};

static void cxl_cram_class_init(ObjectClass *oc, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(oc);
    PCIDeviceClass *pc = PCI_DEVICE_CLASS(oc);
    CXLCramClass *cc = CXL_CRAM_CLASS(oc);

    cc->parent_realize = pc->realize;
    cc->parent_exit = pc->exit;
    pc->realize = cxl_cram_realize;
    pc->exit = cxl_cram_exit;
    pc->vendor_id = CXL_CRAM_PCI_VENDOR_ID;
    pc->device_id = CXL_CRAM_PCI_DEVICE_ID;
    pc->revision = 1;

    cc->parent_reset = dc->legacy_reset;
    device_class_set_legacy_reset(dc, cxl_cram_reset);

    dc->desc = "CXL Compressed Memory Expander (Type 3)";
    dc->vmsd = &vmstate_cxl_cram;
    device_class_set_props(dc, cxl_cram_props);
    CXL_TYPE3_CLASS(oc)->inject_poison = cxl_cram_qmp_poison;
    cxl_cram_stats_class_init(oc);
    cxl_cram_datapath_class_init(oc);
    cc->cmd_set = cxl_cram_mailbox_cmd_set();
}

static const TypeInfo cxl_cram_info = {
    .name = TYPE_CXL_CRAM,
    .parent = TYPE_CXL_TYPE3,
    .instance_size = sizeof(CXLCramDev),
    .class_size = sizeof(CXLCramClass),
    .class_init = cxl_cram_class_init,
};

static void cxl_cram_register_types(void)
{
    type_register_static(&cxl_cram_info);
}

type_init(cxl_cram_register_types)
