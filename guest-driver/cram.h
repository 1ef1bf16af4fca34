/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cxl_cram: companion driver of the cxl-cram compressed CXL memory
 * expander.  cxl_pci owns the PCI function; this module attaches to it
 * while cxl_pci is bound, maps the vendor register block, and offers
 * allocation verdicts and page discards to the memory-management side.
 */
#ifndef __CXL_CRAM_H__
#define __CXL_CRAM_H__

#include <linux/atomic.h>
#include <linux/device.h>
#include <linux/io.h>
#include <linux/list.h>
#include <linux/mm_types.h>
#include <linux/mutex.h>
#include <linux/numa.h>
#include <linux/pci.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#include "cram_regs.h"

/* Driver-side counters, shown in sysfs */
enum cram_counter {
	CRAM_CNT_VERDICT_OK,
	CRAM_CNT_VERDICT_NOSPC,
	CRAM_CNT_DISCARDS,
	CRAM_CNT_DISCARD_ERRORS,
	CRAM_CNT_IRQ_VECTOR,	/* MSI-X vector 8 (or a poll that saw causes) */
	CRAM_CNT_IRQ_DANGER,	/* MSI-X vector 12 */
	CRAM_CNT_IRQ_SAFE,	/* MSI-X vector 13 */
	CRAM_CNT_MCE,		/* machine checks seen at this device's HPAs */
	CRAM_CNT_NR
};

enum cram_irq_slot {
	CRAM_IRQ_SLOT_VECTOR,
	CRAM_IRQ_SLOT_DANGER,
	CRAM_IRQ_SLOT_SAFE,
	CRAM_IRQ_SLOTS
};

/**
 * struct cram_decoder - one committed HDM decoder, as read from its registers
 * @hpa_base: first host physical address of the (whole) region it decodes
 * @hpa_size: size of that range
 * @dpa_base: first device physical address it maps to
 * @ways: devices interleaved in the range (0: a reserved encoding)
 * @gran: interleave granule in bytes
 * @pos: the device's position among @ways, or -1 while unknown
 */
struct cram_decoder {
	u64 hpa_base;
	u64 hpa_size;
	u64 dpa_base;
	unsigned int ways;
	unsigned int gran;
	int pos;
};

/* cram_hdm.c: "the first decoder that translates", not an address */
#define CRAM_HPA_ANY	U64_MAX

struct cram_selftest;
struct cram_private;

/**
 * struct cram_dev - one cxl-cram PCI function
 * @list: entry in the driver's device list
 * @pdev: the PCI function (bound to cxl_pci; a reference is held)
 * @id: instance number (cram<id>)
 * @regs: the vendor register block
 * @regs_res: the claimed vendor register range, if it could be claimed
 * @cm: the CXL.cachemem component registers (read-only use)
 * @hdm: the HDM decoder capability inside @cm, or NULL
 * @dev: the class device /sys/class/cxl_cram/cram<id>
 * @dbg: debugfs directory
 * @discard_lock: serialises DISCARD_DPA / DISCARD_PAGES / DISCARD_RESULT
 * @wm_lock: serialises watermark updates
 * @reserve_pages: refuse pages when HEADROOM_PAGES falls below this
 * @irq: Linux IRQ of each vector, or 0
 * @irq_name: names of the requested IRQs
 * @polling: no MSI-X vector could be requested: poll IRQ_STATUS instead
 * @poll_work: the polling work
 * @place: the device's position in an interleaved region, learnt where
 *	it can be (cram_place.c) for translations made where it cannot:
 *	the decoder's HPA base | (position + 1), or 0
 * @last_status: STATUS as last seen by the interrupt path
 * @no_alloc: NO_ALLOC as last reported in the log
 * @count: driver-side counters
 * @st: self-test state (cram_selftest.c)
 * @priv: the private node, or NULL (cram_private.c); set and cleared under
 *	the device lock of @pdev, read under RCU
 */
struct cram_dev {
	struct list_head list;
	struct pci_dev *pdev;
	int id;
	void __iomem *regs;
	struct resource *regs_res;
	void __iomem *cm;
	void __iomem *hdm;
	struct device *dev;
	struct dentry *dbg;
	spinlock_t discard_lock;	/* see kernel-doc above */
	struct mutex wm_lock;		/* see kernel-doc above */
	u64 reserve_pages;
	int irq[CRAM_IRQ_SLOTS];
	char irq_name[CRAM_IRQ_SLOTS][24];
	bool polling;
	struct delayed_work poll_work;
	u64 place;
	u64 last_status;
	bool no_alloc;
	atomic64_t count[CRAM_CNT_NR];
	struct cram_selftest *st;
	struct cram_private __rcu *priv;
};

static inline u64 cram_read(struct cram_dev *cd, unsigned int reg)
{
	return readq(cd->regs + reg);
}

static inline void cram_write(struct cram_dev *cd, unsigned int reg, u64 val)
{
	writeq(val, cd->regs + reg);
}

/* Make the device store its cached dirty pages: the figures become exact. */
static inline void cram_flush(struct cram_dev *cd)
{
	cram_write(cd, CRAM_REG_CACHE_FLUSH, 1);
}

static inline void cram_count(struct cram_dev *cd, enum cram_counter c)
{
	atomic64_inc(&cd->count[c]);
}

/* cram_main.c */
extern struct dentry *cram_debugfs_root;
extern struct mutex cram_list_lock;
extern struct list_head cram_list;

/* cram_hdm.c */
void __iomem *cram_cm_hdm(void __iomem *cm);
int cram_cm_hdm_count(void __iomem *cm, void __iomem *hdm);
u64 cram_cm_hdm_addr(void __iomem *hdm, unsigned int lo, unsigned int hi);
unsigned int cram_decode_ways(unsigned int eniw);
int cram_hdm_map(struct cram_dev *cd, u64 component_phys);
void cram_hdm_unmap(struct cram_dev *cd);
int cram_hdm_decoders(struct cram_dev *cd, struct cram_decoder *dec, int max);
int cram_decoder_translates(const struct cram_decoder *dec);
int cram_hpa_to_dpa(struct cram_dev *cd, phys_addr_t pa, u64 *dpa);
int cram_hpa_range(struct cram_dev *cd, struct cram_decoder *dec);
int cram_memory_node(struct cram_dev *cd);

/* cram_place.c */
int cram_place_learn(struct cram_dev *cd);

/* cram_verdict.c */
int cram_page_allocated(struct cram_dev *cd, phys_addr_t pa);
void cram_page_freed(struct cram_dev *cd, phys_addr_t pa);
int cram_discard(struct cram_dev *cd, u64 dpa, u64 pages);
int cram_private_page_allocated(struct page *page, void *data);
void cram_private_page_freed(struct page *page, void *data);

/* cram_irq.c */
int cram_irq_init(struct cram_dev *cd);
void cram_irq_exit(struct cram_dev *cd);
int cram_mce_init(void);
void cram_mce_exit(void);

/* cram_sysfs.c */
int cram_sysfs_init(void);
void cram_sysfs_exit(void);
int cram_sysfs_add(struct cram_dev *cd);
void cram_sysfs_remove(struct cram_dev *cd);
int cram_status_string(u64 status, char *buf, size_t len);

/* cram_mcsafe.c */
unsigned long cram_copy_mc(void *dst, const void *src, size_t len);

/* cram_private.c: needs the private-node hooks (guest-driver/kernel/) */
#ifdef CONFIG_NODE_PRIVATE
void cram_private_attach(struct cram_dev *cd);
void cram_private_detach(struct cram_dev *cd);
void cram_private_exit(void);
int cram_private_node(struct cram_dev *cd);
long cram_private_pages(struct cram_dev *cd);
#else
static inline void cram_private_attach(struct cram_dev *cd) {}
static inline void cram_private_detach(struct cram_dev *cd) {}
static inline void cram_private_exit(void) {}
static inline int cram_private_node(struct cram_dev *cd)
{
	return NUMA_NO_NODE;
}

static inline long cram_private_pages(struct cram_dev *cd)
{
	return 0;
}
#endif

/* cram_selftest.c */
void cram_selftest_add(struct cram_dev *cd);
void cram_selftest_remove(struct cram_dev *cd);

#endif /* __CXL_CRAM_H__ */
