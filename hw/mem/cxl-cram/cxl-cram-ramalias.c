/*
 * cxl-cram RAM path (ram-path=on): the store's mapping as guest RAM
 *
 * The store's mapped mode keeps each cached page at its own offset of one
 * sparse mapping of the capacity; its other pages fault, and a thread of
 * the device's serves those faults (cram_store_fault_run()) without ever
 * taking the BQL.  A RAM region over that mapping is aliased into the CXL
 * fixed memory window, over what each committed HDM decoder of the device
 * maps, when the whole path to the device is 1-way: the window has one
 * target, the host bridge's decoder sends the range whole to the root
 * port above the device (or the bridge is a passthrough one), and the
 * device's decoder does not interleave.  Anything else (interleaving, a
 * switch) keeps the I/O path.  So does any poisoned page or media use at
 * or above the high watermark: there the failure policies must be exact
 * and a poisoned load needs its machine check (docs/ram-path.md).
 *
 * Under TCG (ram-path-tlb-fill, the default) the aliases are of an
 * IOMMU region over the capacity instead of the RAM region: a vCPU that
 * misses its TLB on a page asks the region to translate it, and the
 * translation loads the page into the mapping first
 * (cram_store_prefill()), on the vCPU's own thread, so that a first touch
 * costs a decompression and a fill, not a host fault and two thread
 * switches.  Its translation is the identity: where a decoder's range
 * starts in the capacity is the alias's offset, part of each flat view,
 * so a translation never pairs one view's address with another's DPA.
 * The fault thread still serves every access that reaches a page not
 * present (an entry left in a TLB after the page was evicted, a write to
 * a clean page, the host's own accesses).  KVM needs RAM in its memory
 * slots: its aliases are of the RAM region.
 *
 * The decision is taken again when any HDM decoder commits or uncommits
 * (patches/0009), when the status may have changed
 * (by the safety layer), at reset and when the VM starts running
 * (an incoming migration loads decoders without a commit).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/madvise.h"
#include "qemu/main-loop.h"
#include "qapi/error.h"
#include "exec/address-spaces.h"
#include "exec/ramlist.h"
#include "exec/ram-notdirty.h"
#include "system/tcg.h"
#include "hw/cxl/cxl_host.h"
#include "hw/pci/pci_bridge.h"
#include "hw/pci/pcie_port.h"
#include "hw/pci-bridge/pci_expander_bridge.h"
#include "system/runstate.h"
#include "cxl-cram.h"
#include "trace.h"

#define HDM_INC (R_CXL_HDM_DECODER1_BASE_LO - R_CXL_HDM_DECODER0_BASE_LO)

/* One HDM decoder's registers */
typedef struct CramDecoder {
    uint64_t base, size, skip;  /* skip: a device's */
    uint32_t ctrl;
    uint32_t target_lo;         /* a port's: targets 0 to 3, a byte each */
} CramDecoder;

static uint64_t hdm_reg64(const uint32_t *cm, int lo, int i)
{
    return ((uint64_t)ldl_le_p(cm + lo + 1 + i * HDM_INC) << 32) |
           (ldl_le_p(cm + lo + i * HDM_INC) & 0xf0000000);
}

static int hdm_count(const uint32_t *cm)
{
    uint32_t cap = ldl_le_p(cm + R_CXL_HDM_DECODER_CAPABILITY);

    return MIN(cxl_decoder_count_dec(FIELD_EX32(cap,
                                                CXL_HDM_DECODER_CAPABILITY,
                                                DECODER_COUNT)),
               CXL_CRAM_RAMALIAS_MAX);
}

static void hdm_read(const uint32_t *cm, int i, CramDecoder *d)
{
    d->base = hdm_reg64(cm, R_CXL_HDM_DECODER0_BASE_LO, i);
    d->size = hdm_reg64(cm, R_CXL_HDM_DECODER0_SIZE_LO, i);
    d->skip = hdm_reg64(cm, R_CXL_HDM_DECODER0_DPA_SKIP_LO, i);
    d->ctrl = ldl_le_p(cm + R_CXL_HDM_DECODER0_CTRL + i * HDM_INC);
    d->target_lo = ldl_le_p(cm + R_CXL_HDM_DECODER0_TARGET_LIST_LO +
                            i * HDM_INC);
}

static bool hdm_committed(const uint32_t *cm, uint32_t ctrl)
{
    return FIELD_EX32(ctrl, CXL_HDM_DECODER0_CTRL, COMMITTED) &&
           cxl_hdm_decoder_ctrl_valid(cm, ctrl, NULL);
}

static bool overlaps(const CramDecoder *d, hwaddr base, uint64_t size)
{
    return d->size && base < d->base + d->size && d->base < base + size;
}

/* The fixed memory window that holds [base, base + size), or NULL. */
static CXLFixedWindow *cram_window_of(hwaddr base, uint64_t size)
{
    MemoryRegion *sub;

    QTAILQ_FOREACH(sub, &get_system_memory()->subregions, subregions_link) {
        CXLFixedWindow *fw = sub->opaque;

        if (sub->ops == &cfmws_ops && base >= fw->base &&
            size <= fw->size && base - fw->base <= fw->size - size) {
            return fw;
        }
    }
    return NULL;
}

/*
 * Does @fw send all of [base, base + size) to @rp, the root port above
 * the device?  As cxl_cfmws_find_device() routes: one target, then the
 * host bridge's first decoder over each address, or its only port.
 */
static bool cram_route_direct(CXLFixedWindow *fw, PCIDevice *rp,
                              hwaddr base, uint64_t size)
{
    PCIHostState *hb;
    CXLComponentState *hbc;
    uint32_t *cm;
    CramDecoder d;
    int i, n;

    if (fw->num_targets != 1 || !fw->target_hbs[0]) {
        return false;
    }
    hb = PCI_HOST_BRIDGE(fw->target_hbs[0]->cxl_host_bridge);
    if (!hb || !hb->bus || pci_get_bus(rp) != hb->bus) {
        return false;
    }
    if (cxl_get_hb_passthrough(hb)) {
        return pcie_find_port_first(hb->bus) == rp;
    }
    hbc = cxl_get_hb_cstate(hb);
    if (!hbc) {
        return false;
    }
    cm = hbc->crb.cache_mem_registers;
    n = hdm_count(cm);
    for (i = 0; i < n; i++) {
        hdm_read(cm, i, &d);
        if (!overlaps(&d, base, size)) {
            continue;
        }
        /* the first decoder over any byte of the range takes all of it */
        return hdm_committed(cm, d.ctrl) &&
               FIELD_EX32(d.ctrl, CXL_HDM_DECODER0_CTRL, IW) == 0 &&
               base >= d.base && base + size <= d.base + d.size &&
               pcie_find_port_by_pn(hb->bus, d.target_lo & 0xff) == rp;
    }
    return false;
}

/*
 * Where decoder @i of the device maps, if it may be aliased: committed,
 * 1-way, its DPA inside the capacity (as cxl-type3 decodes it: every
 * decoder before it committed, their DPA and skips before its own), and
 * the path above it direct.  Fills @fw, @hpa, @dpa and @len.
 */
static bool cram_alias_place(CXLCramDev *cram, int i, CXLFixedWindow **fw,
                             hwaddr *hpa, uint64_t *dpa, uint64_t *len)
{
    PCIDevice *pdev = PCI_DEVICE(cram);
    PCIBus *bus = pci_get_bus(pdev);
    uint32_t *cm = CXL_TYPE3(cram)->cxl_cstate.crb.cache_mem_registers;
    uint64_t dpa_base = 0;
    CramDecoder d;
    int j, ways = 0;

    for (j = 0; j <= i; j++) {
        hdm_read(cm, j, &d);
        if (!hdm_committed(cm, d.ctrl)) {
            return false;
        }
        dpa_base += d.skip;
        ways = cxl_interleave_ways_dec(FIELD_EX32(d.ctrl,
                                                  CXL_HDM_DECODER0_CTRL, IW),
                                       NULL);
        if (!ways) {
            return false;
        }
        if (j < i) {
            dpa_base += d.size / ways;
        }
    }
    if (ways != 1 || !d.size || dpa_base >= cram->capacity) {
        return false;
    }
    /*
     * The last page stays on the I/O path: cxl-type3 routes an access by
     * its first byte, so one that straddles the end of the range or of
     * the capacity reaches the device whole, which reads the bytes past
     * the capacity as all-ones (docs/robustness.md).  Split at the end of
     * an alias, its tail would be decoded alone, as nowhere.
     */
    *len = MIN(d.size, cram->capacity - dpa_base) - CRAM_PAGE_SIZE;
    /* cxl-type3 decodes by the first decoder that holds an address */
    for (j = 0; j < i; j++) {
        CramDecoder e;

        hdm_read(cm, j, &e);
        if (overlaps(&e, d.base, *len)) {
            return false;
        }
    }
    if (!bus->parent_dev || bus->devices[0] != pdev) {
        return false;
    }
    *fw = cram_window_of(d.base, *len);
    *hpa = d.base;
    *dpa = dpa_base;
    return *fw && cram_route_direct(*fw, bus->parent_dev, d.base, *len);
}

/*
 * Nothing but the device's own aliases may lie over its range of the
 * window.  Upstream's cxl-type3 fast path (queued after 10.2) aliases a
 * type-3 device's volatile backend into the window when the path is not
 * interleaved, and its test for a type-3 device matches a cxl-cram: that
 * would send every access past the device's routing and machine checks.
 * Found, it is a bug of the port: stop loudly (docs/design.md).
 */
static void cram_check_foreign(CXLCramDev *cram, CXLFixedWindow *fw,
                               hwaddr off, uint64_t len)
{
    MemoryRegion *sub;

    QTAILQ_FOREACH(sub, &fw->mr.subregions, subregions_link) {
        uint64_t end = sub->addr + int128_get64(sub->size);

        /*
         * Its own, or another cxl-cram's: that one's path changed in the
         * same event (one HDM decoder notification), and it takes its
         * alias out when told, before any guest access.
         */
        if (object_dynamic_cast(memory_region_owner(sub), TYPE_CXL_CRAM)) {
            continue;
        }
        if (sub->addr < off + len && off < end) {
            error_report("cxl-cram %s: region %s lies over the device's range "
                         "of its CXL window: guest accesses would bypass it",
                         DEVICE(cram)->id ?: "", memory_region_name(sub));
            abort();
        }
    }
}

/*
 * A vCPU's TLB fill, or any other access through the window (DMA, the
 * monitor, qtest), of the page at DPA @addr: load it into the mapping,
 * then send the access there.  Runs on the accessor's thread, under RCU,
 * with or without the BQL (MTTCG fills without it): the store's lock is
 * all it takes.
 */
static IOMMUTLBEntry cram_iommu_translate(IOMMUMemoryRegion *iommu,
                                         hwaddr addr, IOMMUAccessFlags flag,
                                         int iommu_idx)
{
    CXLCramDev *cram = CXL_CRAM(memory_region_owner(MEMORY_REGION(iommu)));
    hwaddr dpa = addr & ~(hwaddr)(CRAM_PAGE_SIZE - 1);
    IOMMUTLBEntry e = {
        .target_as = &cram->ra.ram_as,
        .iova = dpa,
        .translated_addr = dpa,
        .addr_mask = CRAM_PAGE_SIZE - 1,
        .perm = IOMMU_NONE,
    };

    /* the aliases stop a page short of the capacity: never past it */
    if (dpa < cram->capacity) {
        bool clean;

        cram_store_prefill(cram->store, dpa / CRAM_PAGE_SIZE, &clean);
        if (clean && cram->ra.tlb_write) {
            /*
             * TCG fills the entry TLB_NOTDIRTY: a store through it tells
             * cram_ram_notdirty() first.  Entries of other vCPUs keep
             * their flags; a store through one of those faults, as does
             * any store that checked its entry before the page was made
             * clean: the write protection stays the rule.
             */
            cpu_physical_memory_clear_dirty_flag(
                memory_region_get_ram_addr(&cram->ra.ram) + dpa,
                DIRTY_MEMORY_VGA);
        }
        e.perm = IOMMU_RW;
    }
    return e;
}

/*
 * A TCG store, on its vCPU's thread, to a page whose dirty bit
 * cram_iommu_translate() cleared: charge it now, and lift its write
 * protection, so that the store does not fault.
 */
static void cram_ram_notdirty(void *opaque, ram_addr_t offset, unsigned size)
{
    CXLCramDev *cram = opaque;

    cram_store_tlb_write(cram->store, offset / CRAM_PAGE_SIZE);
}

/* TCG asks every IOMMU in a CPU's address space for an index */
static int cram_iommu_attrs_to_index(IOMMUMemoryRegion *iommu,
                                     MemTxAttrs attrs)
{
    return 0;
}

static void cram_iommu_class_init(ObjectClass *klass, void *data)
{
    IOMMUMemoryRegionClass *imrc = IOMMU_MEMORY_REGION_CLASS(klass);

    imrc->translate = cram_iommu_translate;
    imrc->attrs_to_index = cram_iommu_attrs_to_index;
}

#define TYPE_CXL_CRAM_IOMMU "cxl-cram-iommu-memory-region"

static const TypeInfo cram_iommu_info = {
    .parent = TYPE_IOMMU_MEMORY_REGION,
    .name = TYPE_CXL_CRAM_IOMMU,
    .class_init = cram_iommu_class_init,
};

static void cram_iommu_register_types(void)
{
    type_register_static(&cram_iommu_info);
}

type_init(cram_iommu_register_types)

void cxl_cram_ramalias_update(CXLCramDev *cram)
{
    CXLCramRamAlias *ra = &cram->ra;
    uint32_t status = cram->safety.status;
    bool held = status & (CXL_CRAM_STATUS_POISON | CXL_CRAM_STATUS_ABOVE_HIGH);
    int i, n;

    if (!ra->ready) {
        return;
    }
    n = hdm_count(CXL_TYPE3(cram)->cxl_cstate.crb.cache_mem_registers);
    memory_region_transaction_begin();
    for (i = 0; i < CXL_CRAM_RAMALIAS_MAX; i++) {
        MemoryRegion *mr = &ra->alias[i];
        CXLFixedWindow *fw = NULL;
        uint64_t dpa = 0, len = 0;
        hwaddr hpa = 0;
        bool on = i < n && cram_alias_place(cram, i, &fw, &hpa, &dpa, &len);

        if (on) {
            cram_check_foreign(cram, fw, hpa - fw->base, len);
        }
        on = on && !held;
        if (ra->in[i] && (!on || ra->in[i] != &fw->mr ||
                          mr->addr != hpa - fw->base ||
                          mr->alias_offset != dpa ||
                          int128_get64(mr->size) != len)) {
            memory_region_del_subregion(ra->in[i], mr);
            ra->in[i] = NULL;
            trace_cxl_cram_ram_alias(i, mr->addr, mr->alias_offset,
                                     int128_get64(mr->size), false);
        }
        if (on && !ra->in[i]) {
            memory_region_set_alias_offset(mr, dpa);
            memory_region_set_size(mr, len);
            memory_region_add_subregion_overlap(&fw->mr, hpa - fw->base, mr,
                                                1);
            ra->in[i] = &fw->mr;
            trace_cxl_cram_ram_alias(i, hpa - fw->base, dpa, len, true);
        }
    }
    memory_region_transaction_commit();
}

static void cram_decoders_changed(Notifier *n, void *data)
{
    cxl_cram_ramalias_update(container_of(n, CXLCramDev, ra.decoders));
}

static void cram_vm_state(void *opaque, bool running, RunState state)
{
    if (running) {
        cxl_cram_ramalias_update(opaque);
    }
}

/* On the fault thread, without the BQL: settle under it. */
static void cram_faulted(void *opaque)
{
    CXLCramDev *cram = opaque;

    qemu_bh_schedule(cram->safety_bh);
}

static void *cram_fault_thread(void *opaque)
{
    CXLCramDev *cram = opaque;

    cram_store_fault_run(cram->store);
    return NULL;
}

void cxl_cram_ramalias_config(CXLCramDev *cram, CramStoreConfig *scfg)
{
    scfg->mapped = cram->ram_path;
    scfg->faulted = cram->ram_path ? cram_faulted : NULL;
}

/* After the store is made: its fault thread, the regions, the hooks. */
void cxl_cram_ramalias_init(CXLCramDev *cram)
{
    CXLCramRamAlias *ra = &cram->ra;
    uint8_t *map = cram_store_map(cram->store);
    int i;

    if (!cram->ram_path) {
        return;
    }
    g_assert(map);
    qemu_thread_create(&ra->faults, "cxl-cram-fault", cram_fault_thread,
                       cram, QEMU_THREAD_JOINABLE);
    ra->has_faults = true;
    memory_region_init_ram_ptr(&ra->ram, OBJECT(cram), "cxl-cram-ram",
                               cram->capacity, map);
    /* QEMU asks huge pages for RAM; the store fills 4 KiB pages */
    qemu_madvise(map, cram->capacity, QEMU_MADV_NOHUGEPAGE);
    ra->tlb_fill = cram->ram_path_tlb_fill && tcg_enabled();
    if (ra->tlb_fill) {
        address_space_init(&ra->ram_as, &ra->ram, "cxl-cram-ram");
        memory_region_init_iommu(&ra->iommu, sizeof(ra->iommu),
                                 TYPE_CXL_CRAM_IOMMU, OBJECT(cram),
                                 "cxl-cram-ram-iommu", cram->capacity);
        /* or, past eight such devices, the write-protect faults */
        ra->tlb_write = cram->ram_path_tlb_write &&
                        qemu_ram_set_notdirty(ra->ram.ram_block,
                                              cram_ram_notdirty, cram);
    }
    for (i = 0; i < CXL_CRAM_RAMALIAS_MAX; i++) {
        memory_region_init_alias(&ra->alias[i], OBJECT(cram),
                                 "cxl-cram-ram-alias",
                                 ra->tlb_fill ? MEMORY_REGION(&ra->iommu)
                                              : &ra->ram,
                                 0, cram->capacity);
    }
    ra->decoders.notify = cram_decoders_changed;
    cxl_hdm_decoder_notifier_add(&ra->decoders);
    ra->vmstate = qemu_add_vm_change_state_handler(cram_vm_state, cram);
    ra->ready = true;
}

/* Before the store is freed: the aliases out, the fault thread stopped. */
void cxl_cram_ramalias_fini(CXLCramDev *cram)
{
    CXLCramRamAlias *ra = &cram->ra;
    int i;

    if (ra->ready) {
        ra->ready = false;
        cxl_hdm_decoder_notifier_remove(&ra->decoders);
        qemu_del_vm_change_state_handler(ra->vmstate);
        memory_region_transaction_begin();
        for (i = 0; i < CXL_CRAM_RAMALIAS_MAX; i++) {
            if (ra->in[i]) {
                memory_region_del_subregion(ra->in[i], &ra->alias[i]);
                ra->in[i] = NULL;
            }
            object_unparent(OBJECT(&ra->alias[i]));
        }
        memory_region_transaction_commit();
        if (ra->tlb_write) {
            qemu_ram_set_notdirty(ra->ram.ram_block, NULL, NULL);
        }
        if (ra->tlb_fill) {
            object_unparent(OBJECT(&ra->iommu));
            address_space_destroy(&ra->ram_as);
        }
        object_unparent(OBJECT(&ra->ram));
    }
    if (ra->has_faults) {
        cram_store_fault_stop(cram->store);
        qemu_thread_join(&ra->faults);
        ra->has_faults = false;
    }
}
