// SPDX-License-Identifier: GPL-2.0-only
/*
 * sysfs: the class device /sys/class/cxl_cram/cram<N>, child of the PCI
 * function (its "device" link).  Attributes are documented in
 * docs/driver.md.  Device figures are read from the registers at each
 * read, so they equal QMP "qom-get <id> stats" taken at the same moment.
 */
#include <linux/bitfield.h>
#include <linux/device.h>
#include <linux/kernel.h>
#include <linux/sysfs.h>

#include "cram.h"

static struct cram_dev *to_cram(struct device *dev)
{
	return dev_get_drvdata(dev);
}

/* Read-only attributes that show one 64-bit register in decimal */
struct cram_reg_attr {
	struct device_attribute attr;
	unsigned int reg;
};

static ssize_t cram_reg_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	struct cram_reg_attr *ra = container_of(attr, struct cram_reg_attr, attr);

	return sysfs_emit(buf, "%llu\n", cram_read(to_cram(dev), ra->reg));
}

#define CRAM_REG_ATTR(_name, _reg)					\
	static struct cram_reg_attr dev_attr_##_name = {		\
		.attr = __ATTR(_name, 0444, cram_reg_show, NULL),	\
		.reg = (_reg),						\
	}

CRAM_REG_ATTR(logical_capacity, CRAM_REG_CAPACITY);
CRAM_REG_ATTR(media_size, CRAM_REG_MEDIA_SIZE);
CRAM_REG_ATTR(media_used, CRAM_REG_MEDIA_USED);
CRAM_REG_ATTR(media_free, CRAM_REG_MEDIA_FREE);
CRAM_REG_ATTR(media_reserved, CRAM_REG_MEDIA_RESERVED);
CRAM_REG_ATTR(logical_held, CRAM_REG_LOGICAL_HELD);
CRAM_REG_ATTR(stored_bytes, CRAM_REG_STORED_BYTES);
CRAM_REG_ATTR(ratio_fp16, CRAM_REG_RATIO);
CRAM_REG_ATTR(pages_zero, CRAM_REG_PAGES_ZERO);
CRAM_REG_ATTR(pages_same, CRAM_REG_PAGES_SAME);
CRAM_REG_ATTR(pages_compressed, CRAM_REG_PAGES_COMP);
CRAM_REG_ATTR(pages_raw, CRAM_REG_PAGES_RAW);
CRAM_REG_ATTR(stores, CRAM_REG_STORES);
CRAM_REG_ATTR(loads, CRAM_REG_LOADS);
CRAM_REG_ATTR(dropped_writes, CRAM_REG_DROPPED_WRITES);
CRAM_REG_ATTR(discards, CRAM_REG_DISCARDS);
CRAM_REG_ATTR(metadata_bytes, CRAM_REG_METADATA_BYTES);
CRAM_REG_ATTR(poisoned_pages, CRAM_REG_POISONED_PAGES);
CRAM_REG_ATTR(poisoned_reads, CRAM_REG_POISONED_READS);
CRAM_REG_ATTR(machine_checks, CRAM_REG_MCE_RAISED);
CRAM_REG_ATTR(headroom_pages, CRAM_REG_HEADROOM_PAGES);
CRAM_REG_ATTR(irq_danger, CRAM_REG_IRQ_DANGER);
CRAM_REG_ATTR(irq_safe, CRAM_REG_IRQ_SAFE);
CRAM_REG_ATTR(cache_hits, CRAM_REG_CACHE_HITS);
CRAM_REG_ATTR(cache_misses, CRAM_REG_CACHE_MISSES);
CRAM_REG_ATTR(cache_dirty, CRAM_REG_CACHE_DIRTY);

/* Write 1: the device stores its cached dirty pages; figures become exact */
static ssize_t flush_store(struct device *dev, struct device_attribute *attr,
			   const char *buf, size_t len)
{
	bool val;

	if (kstrtobool(buf, &val))
		return -EINVAL;
	if (val)
		cram_flush(to_cram(dev));
	return len;
}
static DEVICE_ATTR_WO(flush);

/* 16.16 fixed point as "4.16"; "0.00" when nothing is held, "inf" for no media */
static ssize_t ratio_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	u64 r = cram_read(to_cram(dev), CRAM_REG_RATIO);
	u64 whole, hundredths;

	if (r == CRAM_RATIO_INFINITE)
		return sysfs_emit(buf, "inf\n");
	whole = r >> 16;
	hundredths = ((r & 0xffff) * 100 + 0x8000) >> 16;
	if (hundredths == 100) {
		whole++;
		hundredths = 0;
	}
	return sysfs_emit(buf, "%llu.%02llu\n", whole, hundredths);
}
static DEVICE_ATTR_RO(ratio);

static const char * const cram_status_names[CRAM_STATUS_NR] = {
	"above_low", "above_high", "no_alloc", "exhausted", "poison",
};

/**
 * cram_status_string - STATUS as "0x5 above_low no_alloc"
 * @status: the register value
 * @buf: output
 * @len: room in @buf
 *
 * Return: the length written.
 */
int cram_status_string(u64 status, char *buf, size_t len)
{
	int n, i;

	n = scnprintf(buf, len, "%#llx", status);
	for (i = 0; i < CRAM_STATUS_NR; i++)
		if (status & BIT(i))
			n += scnprintf(buf + n, len - n, " %s",
				       cram_status_names[i]);
	return n;
}

static ssize_t status_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	int n = cram_status_string(cram_read(to_cram(dev), CRAM_REG_STATUS),
				   buf, PAGE_SIZE - 1);

	return n + sysfs_emit_at(buf, n, "\n");
}
static DEVICE_ATTR_RO(status);

static ssize_t codec_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	static const char * const names[] = { "none", "lz4", "zstd" };
	u64 config = cram_read(to_cram(dev), CRAM_REG_CONFIG);
	unsigned int codec = FIELD_GET(CRAM_CONFIG_CODEC_MASK, config);
	unsigned int level = FIELD_GET(CRAM_CONFIG_LEVEL_MASK, config);

	return sysfs_emit(buf, "%s %u\n",
			  codec < ARRAY_SIZE(names) ? names[codec] : "unknown",
			  level);
}
static DEVICE_ATTR_RO(codec);

/*
 * Watermarks, bytes of media used.  The device ignores a write that would
 * break low < high <= media size: check first, and confirm by reading
 * back.  To move both up past the current high, write high first.
 */
static ssize_t cram_wm_store(struct device *dev, const char *buf, size_t len,
			     bool high)
{
	struct cram_dev *cd = to_cram(dev);
	u64 val, low, hi, media;
	ssize_t rc = len;

	if (kstrtou64(buf, 0, &val))
		return -EINVAL;
	mutex_lock(&cd->wm_lock);
	low = cram_read(cd, CRAM_REG_WM_LOW);
	hi = cram_read(cd, CRAM_REG_WM_HIGH);
	media = cram_read(cd, CRAM_REG_MEDIA_SIZE);
	if (high ? val <= low || val > media : val >= hi) {
		rc = -EINVAL;
		goto out;
	}
	cram_write(cd, high ? CRAM_REG_WM_HIGH : CRAM_REG_WM_LOW, val);
	if (cram_read(cd, high ? CRAM_REG_WM_HIGH : CRAM_REG_WM_LOW) != val)
		rc = -EIO;
out:
	mutex_unlock(&cd->wm_lock);
	return rc;
}

static ssize_t low_watermark_show(struct device *dev,
				  struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%llu\n", cram_read(to_cram(dev), CRAM_REG_WM_LOW));
}

static ssize_t low_watermark_store(struct device *dev,
				   struct device_attribute *attr,
				   const char *buf, size_t len)
{
	return cram_wm_store(dev, buf, len, false);
}
static DEVICE_ATTR_RW(low_watermark);

static ssize_t high_watermark_show(struct device *dev,
				   struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%llu\n", cram_read(to_cram(dev), CRAM_REG_WM_HIGH));
}

static ssize_t high_watermark_store(struct device *dev,
				    struct device_attribute *attr,
				    const char *buf, size_t len)
{
	return cram_wm_store(dev, buf, len, true);
}
static DEVICE_ATTR_RW(high_watermark);

static ssize_t reserve_pages_show(struct device *dev,
				  struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%llu\n", READ_ONCE(to_cram(dev)->reserve_pages));
}

static ssize_t reserve_pages_store(struct device *dev,
				   struct device_attribute *attr,
				   const char *buf, size_t len)
{
	u64 val;

	if (kstrtou64(buf, 0, &val))
		return -EINVAL;
	WRITE_ONCE(to_cram(dev)->reserve_pages, val);
	return len;
}
static DEVICE_ATTR_RW(reserve_pages);

/*
 * device_for_each_child(), not device_find_child(): its match callback
 * takes a const void * from Linux 6.14 on, and this builds on 6.12 too.
 */
static int cram_find_memdev(struct device *dev, void *data)
{
	struct device **mem = data;

	if (!dev->bus || strcmp(dev->bus->name, "cxl") ||
	    strncmp(dev_name(dev), "mem", 3))
		return 0;
	*mem = get_device(dev);
	return 1;
}

/* The cxl_pci memdev of the same function, e.g. "mem0" */
static ssize_t memdev_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	struct device *mem = NULL;
	ssize_t n;

	device_for_each_child(&to_cram(dev)->pdev->dev, &mem,
			      cram_find_memdev);
	if (!mem)
		return -ENODEV;
	n = sysfs_emit(buf, "%s\n", dev_name(mem));
	put_device(mem);
	return n;
}
static DEVICE_ATTR_RO(memdev);

static ssize_t hpa_range_show(struct device *dev, struct device_attribute *attr,
			      char *buf)
{
	struct cram_decoder dec;

	cram_place_learn(to_cram(dev));
	if (cram_hpa_range(to_cram(dev), &dec))
		return sysfs_emit(buf, "none\n");
	return sysfs_emit(buf, "%#llx-%#llx\n", dec.hpa_base,
			  dec.hpa_base + dec.hpa_size - 1);
}
static DEVICE_ATTR_RO(hpa_range);

/* "ways granularity position" of the first committed decoder */
static ssize_t interleave_show(struct device *dev, struct device_attribute *attr,
			       char *buf)
{
	struct cram_decoder dec;

	cram_place_learn(to_cram(dev));
	if (cram_hdm_decoders(to_cram(dev), &dec, 1) < 1)
		return sysfs_emit(buf, "none\n");
	return sysfs_emit(buf, "%u %u %d\n", dec.ways, dec.gran, dec.pos);
}
static DEVICE_ATTR_RO(interleave);

static ssize_t numa_node_show(struct device *dev, struct device_attribute *attr,
			      char *buf)
{
	cram_place_learn(to_cram(dev));
	return sysfs_emit(buf, "%d\n", cram_memory_node(to_cram(dev)));
}
static DEVICE_ATTR_RO(numa_node);

static ssize_t private_node_show(struct device *dev,
				 struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", cram_private_node(to_cram(dev)));
}
static DEVICE_ATTR_RO(private_node);

static ssize_t private_pages_show(struct device *dev,
				  struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%ld\n", cram_private_pages(to_cram(dev)));
}
static DEVICE_ATTR_RO(private_pages);

static ssize_t irq_mode_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	return sysfs_emit(buf, "%s\n", to_cram(dev)->polling ? "poll" : "msix");
}
static DEVICE_ATTR_RO(irq_mode);

static struct attribute *cram_attrs[] = {
	&dev_attr_ratio.attr,
	&dev_attr_ratio_fp16.attr.attr,
	&dev_attr_logical_capacity.attr.attr,
	&dev_attr_media_size.attr.attr,
	&dev_attr_media_used.attr.attr,
	&dev_attr_media_free.attr.attr,
	&dev_attr_media_reserved.attr.attr,
	&dev_attr_logical_held.attr.attr,
	&dev_attr_stored_bytes.attr.attr,
	&dev_attr_pages_zero.attr.attr,
	&dev_attr_pages_same.attr.attr,
	&dev_attr_pages_compressed.attr.attr,
	&dev_attr_pages_raw.attr.attr,
	&dev_attr_stores.attr.attr,
	&dev_attr_loads.attr.attr,
	&dev_attr_dropped_writes.attr.attr,
	&dev_attr_discards.attr.attr,
	&dev_attr_metadata_bytes.attr.attr,
	&dev_attr_poisoned_pages.attr.attr,
	&dev_attr_poisoned_reads.attr.attr,
	&dev_attr_machine_checks.attr.attr,
	&dev_attr_headroom_pages.attr.attr,
	&dev_attr_irq_danger.attr.attr,
	&dev_attr_irq_safe.attr.attr,
	&dev_attr_cache_hits.attr.attr,
	&dev_attr_cache_misses.attr.attr,
	&dev_attr_cache_dirty.attr.attr,
	&dev_attr_flush.attr,
	&dev_attr_status.attr,
	&dev_attr_codec.attr,
	&dev_attr_low_watermark.attr,
	&dev_attr_high_watermark.attr,
	&dev_attr_reserve_pages.attr,
	&dev_attr_memdev.attr,
	&dev_attr_hpa_range.attr,
	&dev_attr_interleave.attr,
	&dev_attr_numa_node.attr,
	&dev_attr_private_node.attr,
	&dev_attr_private_pages.attr,
	&dev_attr_irq_mode.attr,
	NULL
};

static const struct attribute_group cram_group = {
	.attrs = cram_attrs,
};

/* Driver-side counters, in the "driver_stats" subdirectory */
struct cram_cnt_attr {
	struct device_attribute attr;
	enum cram_counter c;
};

static ssize_t cram_cnt_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	struct cram_cnt_attr *ca = container_of(attr, struct cram_cnt_attr, attr);

	return sysfs_emit(buf, "%lld\n",
			  (s64)atomic64_read(&to_cram(dev)->count[ca->c]));
}

#define CRAM_CNT_ATTR(_name, _c)					\
	static struct cram_cnt_attr dev_attr_##_name = {		\
		.attr = __ATTR(_name, 0444, cram_cnt_show, NULL),	\
		.c = (_c),						\
	}

CRAM_CNT_ATTR(verdicts_accepted, CRAM_CNT_VERDICT_OK);
CRAM_CNT_ATTR(verdicts_refused, CRAM_CNT_VERDICT_NOSPC);
CRAM_CNT_ATTR(discards_done, CRAM_CNT_DISCARDS);
CRAM_CNT_ATTR(discard_errors, CRAM_CNT_DISCARD_ERRORS);
CRAM_CNT_ATTR(irqs, CRAM_CNT_IRQ_VECTOR);
CRAM_CNT_ATTR(irqs_danger, CRAM_CNT_IRQ_DANGER);
CRAM_CNT_ATTR(irqs_safe, CRAM_CNT_IRQ_SAFE);
CRAM_CNT_ATTR(machine_checks_seen, CRAM_CNT_MCE);

static struct attribute *cram_stats_attrs[] = {
	&dev_attr_verdicts_accepted.attr.attr,
	&dev_attr_verdicts_refused.attr.attr,
	&dev_attr_discards_done.attr.attr,
	&dev_attr_discard_errors.attr.attr,
	&dev_attr_irqs.attr.attr,
	&dev_attr_irqs_danger.attr.attr,
	&dev_attr_irqs_safe.attr.attr,
	&dev_attr_machine_checks_seen.attr.attr,
	NULL
};

static const struct attribute_group cram_stats_group = {
	.name = "driver_stats",
	.attrs = cram_stats_attrs,
};

static const struct attribute_group *cram_groups[] = {
	&cram_group,
	&cram_stats_group,
	NULL
};

static const struct class cram_class = {
	.name = "cxl_cram",
	.dev_groups = cram_groups,
};

int cram_sysfs_init(void)
{
	return class_register(&cram_class);
}

void cram_sysfs_exit(void)
{
	class_unregister(&cram_class);
}

int cram_sysfs_add(struct cram_dev *cd)
{
	struct device *dev;

	dev = device_create(&cram_class, &cd->pdev->dev, MKDEV(0, 0), cd,
			    "cram%d", cd->id);
	if (IS_ERR(dev))
		return PTR_ERR(dev);
	cd->dev = dev;
	return 0;
}

void cram_sysfs_remove(struct cram_dev *cd)
{
	if (cd->dev)
		device_unregister(cd->dev);
	cd->dev = NULL;
}
