/*
 * cxl-cram vendor register block (BAR 5), located through the Register
 * Locator DVSEC.  The map is in cxl-cram-regs.h and docs/registers.md.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "hw/pci/pci.h"
#include "hw/pci/pcie.h"
#include "cxl-cram.h"
#include "cxl-cram-regs.h"
#include "trace.h"

/* DISCARD_PAGES doorbell: discard [DISCARD_DPA, + pages * 4 KiB). */
static void cxl_cram_discard(CXLCramDev *cram, uint64_t pages)
{
    CXLCramSafety *s = &cram->safety;
    uint64_t first = s->discard_dpa >> CRAM_PAGE_SHIFT;

    if (s->discard_dpa & (CRAM_PAGE_SIZE - 1)) {
        s->discard_result = CXL_CRAM_DISCARD_UNALIGNED;
    } else if (!pages) {
        s->discard_result = CXL_CRAM_DISCARD_EMPTY;
    } else if (s->discard_dpa >= cram->capacity ||
               pages > (cram->capacity - s->discard_dpa) >> CRAM_PAGE_SHIFT) {
        s->discard_result = CXL_CRAM_DISCARD_RANGE;
    } else {
        cxl_cram_discard_pages(cram, first, pages);
        s->discard_result = CXL_CRAM_DISCARD_OK;
    }
    trace_cxl_cram_discard(s->discard_dpa, pages, s->discard_result);
}

static void cxl_cram_set_watermark(CXLCramDev *cram, hwaddr reg,
                                   uint64_t val)
{
    CXLCramSafety *s = &cram->safety;
    uint64_t low = reg == CXL_CRAM_REG_WM_LOW ? val : s->wm_low;
    uint64_t high = reg == CXL_CRAM_REG_WM_HIGH ? val : s->wm_high;

    if (low >= high || high > cram->media_size) {
        qemu_log_mask(LOG_GUEST_ERROR, "cxl-cram: watermark 0x%" PRIx64
                      " rejected: need low < high <= media size\n", val);
        return;
    }
    s->wm_low = low;
    s->wm_high = high;
    cxl_cram_exact_figures(cram);
    cxl_cram_safety_update(cram);
}

static void cxl_cram_ctrl_write(CXLCramDev *cram, hwaddr reg, uint64_t val)
{
    CXLCramSafety *s = &cram->safety;

    switch (reg) {
    case CXL_CRAM_REG_WM_LOW:
    case CXL_CRAM_REG_WM_HIGH:
        cxl_cram_set_watermark(cram, reg, val);
        break;
    case CXL_CRAM_REG_IRQ_ENABLE:
        s->irq_enable = val & CXL_CRAM_IRQ_MASK;
        break;
    case CXL_CRAM_REG_IRQ_STATUS:
        s->irq_status &= ~val;
        break;
    case CXL_CRAM_REG_DISCARD_DPA:
        s->discard_dpa = val;
        break;
    case CXL_CRAM_REG_DISCARD_PAGES:
        cxl_cram_discard(cram, val);
        break;
    case CXL_CRAM_REG_CACHE_FLUSH:
        cxl_cram_flush(cram);
        break;
    default:
        qemu_log_mask(LOG_GUEST_ERROR, "cxl-cram: write 0x%" PRIx64
                      " to read-only register 0x%" HWADDR_PRIx " ignored\n",
                      val, reg);
    }
}

/* The 64-bit register at @reg: identification, control, or a figure */
static uint64_t cxl_cram_reg64(CXLCramDev *cram, hwaddr reg)
{
    CXLCramSafety *s = &cram->safety;
    CXLCramFigures f;
    uint64_t *val;

    switch (reg) {
    case CXL_CRAM_REG_ID:
        return CXL_CRAM_MAGIC | ((uint64_t)CXL_CRAM_VERSION << 32);
    case CXL_CRAM_REG_CONFIG:
        return CRAM_PAGE_SHIFT | (cram->run_codec << 8) |
               ((uint64_t)cram->run_level << 16);
    case CXL_CRAM_REG_IRQ_ENABLE:
        return s->irq_enable;
    case CXL_CRAM_REG_IRQ_STATUS:
        return s->irq_status;
    case CXL_CRAM_REG_DISCARD_DPA:
        return s->discard_dpa;
    case CXL_CRAM_REG_DISCARD_RESULT:
        return s->discard_result;
    }
    cxl_cram_figures(cram, &f);
    val = cxl_cram_figure_find(&f, reg, -1);
    return val ? *val : 0;
}

static uint64_t cxl_cram_regs_read(void *opaque, hwaddr addr, unsigned size)
{
    CXLCramDev *cram = opaque;
    uint64_t val = cxl_cram_reg64(cram, addr & ~7ULL);

    if (size == 4 && (addr & 4)) {
        val >>= 32;
    } else if (size == 4) {
        val = (uint32_t)val;
    }
    trace_cxl_cram_reg_read(addr, size, val);
    return val;
}

/*
 * Control registers take 8-byte writes; a 4-byte write updates one half
 * of the register, read back first.
 */
static void cxl_cram_regs_write(void *opaque, hwaddr addr, uint64_t val,
                                unsigned size)
{
    CXLCramDev *cram = opaque;
    hwaddr reg = addr & ~7ULL;

    trace_cxl_cram_reg_write(addr, size, val);
    if (size == 4) {
        uint64_t cur = reg == CXL_CRAM_REG_IRQ_STATUS ||
                       reg == CXL_CRAM_REG_DISCARD_PAGES ?
                       0 : cxl_cram_reg64(cram, reg);

        val = (addr & 4) ? deposit64(cur, 32, 32, val)
                         : deposit64(cur, 0, 32, val);
    }
    cxl_cram_ctrl_write(cram, reg, val);
}

static const MemoryRegionOps cxl_cram_regs_ops = {
    .read = cxl_cram_regs_read,
    .write = cxl_cram_regs_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = {
        .min_access_size = 4,
        .max_access_size = 8,
    },
    .impl = {
        .min_access_size = 4,
        .max_access_size = 8,
    },
};

/* Offset of the Register Locator DVSEC that cxl-type3 built, or 0. */
static uint16_t cxl_cram_find_regloc(PCIDevice *pdev)
{
    uint16_t off = PCI_CONFIG_SPACE_SIZE;

    while (off) {
        uint32_t hdr = pci_get_long(pdev->config + off);

        if (PCI_EXT_CAP_ID(hdr) == PCI_EXT_CAP_ID_DVSEC &&
            pci_get_word(pdev->config + off + PCIE_DVSEC_HEADER1_OFFSET) ==
                CXL_VENDOR_ID &&
            pci_get_word(pdev->config + off + PCIE_DVSEC_ID_OFFSET) ==
                REG_LOC_DVSEC) {
            return off;
        }
        off = PCI_EXT_CAP_NEXT(hdr);
    }
    return 0;
}

void cxl_cram_regs_init(CXLCramDev *cram)
{
    PCIDevice *pdev = PCI_DEVICE(cram);
    uint16_t regloc = cxl_cram_find_regloc(pdev);

    memory_region_init_io(&cram->regs, OBJECT(cram), &cxl_cram_regs_ops, cram,
                          "cxl-cram-regs", CXL_CRAM_REGS_SIZE);
    /* cxl-type3 takes BARs 0-1, 2-3 (64-bit) and 4 (MSI-X, 32-bit). */
    pci_register_bar(pdev, CXL_CRAM_REGS_BAR, PCI_BASE_ADDRESS_SPACE_MEMORY,
                     &cram->regs);

    /* cxl-type3 fills entries 0 and 1 and leaves entry 2 for us. */
    assert(regloc);
    pci_set_long(pdev->config + regloc +
                 offsetof(CXLDVSECRegisterLocator, reg2_base_lo),
                 (CXL_CRAM_REGLOC_BLOCK_ID << 8) | CXL_CRAM_REGS_BAR);
    pci_set_long(pdev->config + regloc +
                 offsetof(CXLDVSECRegisterLocator, reg2_base_hi), 0);
}
