// SPDX-License-Identifier: GPL-2.0-only
/*
 * cxl_cram: companion driver of the cxl-cram compressed CXL memory
 * expander (PCI 1b36:00cc, class 0502).
 *
 * cxl_pci binds the PCI function by class code and keeps the memdev, the
 * mailbox, the event logs and the region: a PCI function has one driver,
 * so this module is not a pci_driver.  It attaches to each cxl-cram
 * function while cxl_pci is bound to it (found at load time, then
 * followed with a PCI bus notifier) and detaches before cxl_pci unbinds,
 * so that its interrupt handlers are gone before cxl_pci frees the
 * MSI-X vectors.
 */
#include <linux/bitfield.h>
#include <linux/debugfs.h>
#include <linux/idr.h>
#include <linux/io.h>
#include <linux/ioport.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/slab.h>

#include "cram.h"

#define CRAM_HOST_DRIVER	"cxl_pci"

static u64 reserve_pages = 256;
module_param(reserve_pages, ullong, 0444);
MODULE_PARM_DESC(reserve_pages,
		 "Initial headroom reserve in pages: refuse pages below it (default 256)");

struct dentry *cram_debugfs_root;
/* protects cram_list and cram_exiting; nests inside the device lock */
DEFINE_MUTEX(cram_list_lock);
LIST_HEAD(cram_list);
static DEFINE_IDA(cram_ida);
static bool cram_exiting;

static bool cram_match(struct pci_dev *pdev)
{
	return pdev->vendor == CRAM_PCI_VENDOR_ID &&
	       pdev->device == CRAM_PCI_DEVICE_ID;
}

/* Is the function bound to cxl_pci?  Called with the device lock held. */
static bool cram_host_bound(struct pci_dev *pdev)
{
	struct device_driver *drv = pdev->dev.driver;

	return drv && !strcmp(drv->name, CRAM_HOST_DRIVER);
}

/* Physical address of a register block: BAR @bir + @off, @size long */
static int cram_block_phys(struct pci_dev *pdev, unsigned int bir, u64 off,
			   u64 size, u64 *phys)
{
	if (bir >= PCI_STD_NUM_BARS ||
	    !(pci_resource_flags(pdev, bir) & IORESOURCE_MEM))
		return -ENXIO;
	if (off > pci_resource_len(pdev, bir) ||
	    size > pci_resource_len(pdev, bir) - off)
		return -ENXIO;
	*phys = pci_resource_start(pdev, bir) + off;
	return 0;
}

/*
 * Find the vendor block (identifier 0xFF) and the component registers
 * (identifier 1) through the Register Locator DVSEC (CXL r3.1 8.1.9).
 */
static int cram_find_blocks(struct pci_dev *pdev, u64 *vendor, u64 *component)
{
	u32 hdr1, lo, hi;
	int pos, n, i;
	bool have_vendor = false;

	*component = 0;
	pos = pci_find_dvsec_capability(pdev, CRAM_DVSEC_VENDOR_CXL,
					CRAM_DVSEC_REG_LOCATOR);
	if (!pos) {
		pci_err(pdev, "cxl_cram: no Register Locator DVSEC\n");
		return -ENODEV;
	}
	pci_read_config_dword(pdev, pos + PCI_DVSEC_HEADER1, &hdr1);
	n = (PCI_DVSEC_HEADER1_LEN(hdr1) - CRAM_REGLOC_BLOCK1) / 8;
	for (i = 0; i < n; i++) {
		int off = pos + CRAM_REGLOC_BLOCK1 + i * 8;
		unsigned int bir, id;
		u64 boff;

		pci_read_config_dword(pdev, off, &lo);
		pci_read_config_dword(pdev, off + 4, &hi);
		bir = FIELD_GET(CRAM_REGLOC_BIR_MASK, lo);
		id = FIELD_GET(CRAM_REGLOC_BLOCK_ID_MASK, lo);
		boff = (lo & CRAM_REGLOC_OFF_LOW_MASK) | ((u64)hi << 32);

		if (id == CRAM_REGLOC_BLOCK_ID && !have_vendor) {
			if (cram_block_phys(pdev, bir, boff, CRAM_REGS_SIZE,
					    vendor))
				continue;
			have_vendor = true;
		} else if (id == CRAM_REGLOC_RBI_COMPONENT && !*component) {
			if (cram_block_phys(pdev, bir, boff,
					    CRAM_CM_OFFSET + CRAM_CM_SIZE,
					    component))
				*component = 0;
		}
	}
	if (!have_vendor) {
		pci_err(pdev, "cxl_cram: no vendor register block (0xFF) in the Register Locator\n");
		return -ENODEV;
	}
	return 0;
}

static const char *cram_codec_name(unsigned int codec)
{
	switch (codec) {
	case CRAM_CODEC_NONE:
		return "none";
	case CRAM_CODEC_LZ4:
		return "lz4";
	case CRAM_CODEC_ZSTD:
		return "zstd";
	default:
		return "unknown";
	}
}

static void cram_free(struct cram_dev *cd)
{
	cram_hdm_unmap(cd);
	if (cd->regs)
		iounmap(cd->regs);
	if (cd->regs_res)
		release_mem_region(cd->regs_res->start, CRAM_REGS_SIZE);
	if (cd->id >= 0)
		ida_free(&cram_ida, cd->id);
	pci_dev_put(cd->pdev);
	kfree(cd);
}

static struct cram_dev *cram_lookup(struct pci_dev *pdev)
{
	struct cram_dev *cd;

	lockdep_assert_held(&cram_list_lock);
	list_for_each_entry(cd, &cram_list, list)
		if (cd->pdev == pdev)
			return cd;
	return NULL;
}

/* Called with the device lock of @pdev held and cxl_pci bound. */
static int cram_attach(struct pci_dev *pdev)
{
	u64 vendor, component, id, config;
	struct cram_dev *cd;
	int rc;

	mutex_lock(&cram_list_lock);
	rc = cram_exiting ? -ESHUTDOWN : 0;
	if (!rc && cram_lookup(pdev))
		rc = -EEXIST;
	mutex_unlock(&cram_list_lock);
	if (rc)
		return rc;
	if (!pci_is_enabled(pdev)) {
		pci_warn(pdev, "cxl_cram: function not enabled by %s\n",
			 CRAM_HOST_DRIVER);
		return -ENODEV;
	}
	rc = cram_find_blocks(pdev, &vendor, &component);
	if (rc)
		return rc;

	cd = kzalloc(sizeof(*cd), GFP_KERNEL);
	if (!cd)
		return -ENOMEM;
	cd->pdev = pci_dev_get(pdev);
	spin_lock_init(&cd->discard_lock);
	mutex_init(&cd->wm_lock);
	cd->reserve_pages = reserve_pages;
	cd->id = ida_alloc(&cram_ida, GFP_KERNEL);
	if (cd->id < 0) {
		rc = cd->id;
		goto err;
	}

	/*
	 * cxl_pci maps the component and device registers and claims them;
	 * nobody claims BAR 5, so the vendor block is claimed here (it then
	 * shows in /proc/iomem).  A claim that fails (another user) is not
	 * fatal: the registers are shared then, as the component ones are.
	 */
	cd->regs_res = request_mem_region(vendor, CRAM_REGS_SIZE, "cxl_cram");
	if (!cd->regs_res)
		pci_warn(pdev, "cxl_cram: vendor registers at %#llx are claimed by someone else; sharing them\n",
			 vendor);
	cd->regs = ioremap(vendor, CRAM_REGS_SIZE);
	if (!cd->regs) {
		rc = -ENOMEM;
		goto err;
	}
	id = cram_read(cd, CRAM_REG_ID);
	if (FIELD_GET(CRAM_ID_MAGIC_MASK, id) != CRAM_MAGIC ||
	    FIELD_GET(CRAM_ID_VERSION_MASK, id) != CRAM_VERSION) {
		pci_err(pdev, "cxl_cram: bad ID register %#llx (want magic %#x version %d)\n",
			id, CRAM_MAGIC, CRAM_VERSION);
		rc = -ENODEV;
		goto err;
	}
	config = cram_read(cd, CRAM_REG_CONFIG);
	if (FIELD_GET(CRAM_CONFIG_PAGE_SHIFT_MASK, config) != PAGE_SHIFT) {
		pci_err(pdev, "cxl_cram: device page shift %llu, kernel %d\n",
			FIELD_GET(CRAM_CONFIG_PAGE_SHIFT_MASK, config),
			PAGE_SHIFT);
		rc = -ENODEV;
		goto err;
	}
	if (component)
		rc = cram_hdm_map(cd, component);
	if (!component || rc)
		pci_warn(pdev, "cxl_cram: no HDM decoders: discards disabled\n");

	rc = cram_sysfs_add(cd);
	if (rc)
		goto err;
	rc = cram_irq_init(cd);
	if (rc)
		goto err_sysfs;
	cram_selftest_add(cd);

	mutex_lock(&cram_list_lock);
	list_add_tail(&cd->list, &cram_list);
	mutex_unlock(&cram_list_lock);
	cram_private_attach(cd);

	dev_info(cd->dev, "%s: %llu MiB advertised over %llu MiB of media, codec %s, %s\n",
		 pci_name(pdev), cram_read(cd, CRAM_REG_CAPACITY) >> 20,
		 cram_read(cd, CRAM_REG_MEDIA_SIZE) >> 20,
		 cram_codec_name(FIELD_GET(CRAM_CONFIG_CODEC_MASK, config)),
		 cd->polling ? "polling (no MSI-X vectors)" :
			       "MSI-X vectors 8, 12, 13");
	return 0;

err_sysfs:
	cram_sysfs_remove(cd);
err:
	cram_free(cd);
	return rc;
}

static void cram_teardown(struct cram_dev *cd)
{
	cram_private_detach(cd);
	cram_selftest_remove(cd);
	cram_irq_exit(cd);
	dev_info(cd->dev, "detached from %s\n", pci_name(cd->pdev));
	cram_sysfs_remove(cd);
	cram_free(cd);
}

/* Called with the device lock of @pdev held. */
static void cram_detach(struct pci_dev *pdev)
{
	struct cram_dev *cd;

	mutex_lock(&cram_list_lock);
	cd = cram_lookup(pdev);
	if (cd)
		list_del(&cd->list);
	mutex_unlock(&cram_list_lock);
	if (cd)
		cram_teardown(cd);
}

static int cram_bus_notify(struct notifier_block *nb, unsigned long action,
			   void *data)
{
	struct pci_dev *pdev = to_pci_dev(data);

	if (!cram_match(pdev))
		return NOTIFY_DONE;
	switch (action) {
	case BUS_NOTIFY_BOUND_DRIVER:
		if (cram_host_bound(pdev))
			cram_attach(pdev);
		break;
	case BUS_NOTIFY_UNBIND_DRIVER:
		cram_detach(pdev);
		break;
	}
	return NOTIFY_OK;
}

static struct notifier_block cram_bus_nb = {
	.notifier_call = cram_bus_notify,
};

static int __init cram_init(void)
{
	struct pci_dev *pdev = NULL;
	int rc;

	rc = cram_sysfs_init();
	if (rc)
		return rc;
	cram_debugfs_root = debugfs_create_dir("cxl_cram", NULL);
	rc = cram_mce_init();
	if (rc)
		goto err;
	rc = bus_register_notifier(&pci_bus_type, &cram_bus_nb);
	if (rc)
		goto err_mce;

	/* Functions that cxl_pci bound before this module was loaded */
	while ((pdev = pci_get_device(CRAM_PCI_VENDOR_ID, CRAM_PCI_DEVICE_ID,
				      pdev))) {
		device_lock(&pdev->dev);
		if (cram_host_bound(pdev))
			cram_attach(pdev);
		else
			pci_info(pdev, "cxl_cram: waiting for %s to bind\n",
				 CRAM_HOST_DRIVER);
		device_unlock(&pdev->dev);
	}
	return 0;

err_mce:
	cram_mce_exit();
err:
	debugfs_remove(cram_debugfs_root);
	cram_sysfs_exit();
	return rc;
}

static void __exit cram_exit(void)
{
	struct pci_dev *pdev;
	struct cram_dev *cd;

	mutex_lock(&cram_list_lock);
	cram_exiting = true;
	mutex_unlock(&cram_list_lock);

	/*
	 * Detach under each device lock, with the notifier still in place:
	 * an unbind racing with this waits for the lock, or detaches first.
	 */
	for (;;) {
		mutex_lock(&cram_list_lock);
		cd = list_first_entry_or_null(&cram_list, struct cram_dev,
					      list);
		pdev = cd ? pci_dev_get(cd->pdev) : NULL;
		mutex_unlock(&cram_list_lock);
		if (!pdev)
			break;
		device_lock(&pdev->dev);
		cram_detach(pdev);
		device_unlock(&pdev->dev);
		pci_dev_put(pdev);
	}
	bus_unregister_notifier(&pci_bus_type, &cram_bus_nb);
	cram_private_exit();
	cram_mce_exit();
	debugfs_remove(cram_debugfs_root);
	cram_sysfs_exit();
	ida_destroy(&cram_ida);
}

module_init(cram_init);
module_exit(cram_exit);

MODULE_DESCRIPTION("cxl-cram compressed CXL memory expander: figures, interrupts, verdicts");
MODULE_AUTHOR("cxl-cram project");
MODULE_LICENSE("GPL");
