// SPDX-License-Identifier: GPL-2.0-only
/*
 * Allocation verdicts and page discards: what the private-node hooks
 * (node_private_allocated() / node_private_freed()) call.
 *
 * Both may be called under RCU, so neither sleeps: the verdict is two
 * register reads, a discard three register accesses under a spinlock.
 */
#include <asm/cacheflush.h>
#include <asm/set_memory.h>
#include <linux/mm.h>

#include "cram.h"

/**
 * cram_page_allocated - may a page at @pa be placed on the device?
 * @cd: the device
 * @pa: host physical address of the page
 *
 * Return: 0 when the device has headroom; -ENOSPC when STATUS.NO_ALLOC
 * is set (media use crossed the high watermark and has not fallen below
 * the low one) or when fewer than reserve_pages pages could still be
 * stored incompressible; -ENXIO when @pa is not decoded to this device.
 */
int cram_page_allocated(struct cram_dev *cd, phys_addr_t pa)
{
	u64 dpa;
	int rc;

	rc = cram_hpa_to_dpa(cd, pa, &dpa);
	if (rc)
		return rc == -EOPNOTSUPP ? rc : -ENXIO;
	if ((cram_read(cd, CRAM_REG_STATUS) & CRAM_STATUS_NO_ALLOC) ||
	    cram_read(cd, CRAM_REG_HEADROOM_PAGES) < READ_ONCE(cd->reserve_pages)) {
		cram_count(cd, CRAM_CNT_VERDICT_NOSPC);
		return -ENOSPC;
	}
	cram_count(cd, CRAM_CNT_VERDICT_OK);
	return 0;
}

/**
 * cram_discard - discard pages on the device
 * @cd: the device
 * @dpa: first device physical address, page aligned
 * @pages: number of pages
 *
 * The pages read as zero afterwards and hold no media; a poisoned page
 * is healed.
 *
 * Return: 0, -ENODEV when the device refused (bad range), -EINVAL for
 * a zero count or an unaligned address.
 */
int cram_discard(struct cram_dev *cd, u64 dpa, u64 pages)
{
	unsigned long flags;
	u64 result;

	if (!pages || !PAGE_ALIGNED(dpa))
		return -EINVAL;
	spin_lock_irqsave(&cd->discard_lock, flags);
	cram_write(cd, CRAM_REG_DISCARD_DPA, dpa);
	cram_write(cd, CRAM_REG_DISCARD_PAGES, pages);
	result = cram_read(cd, CRAM_REG_DISCARD_RESULT);
	spin_unlock_irqrestore(&cd->discard_lock, flags);
	if (result != CRAM_DISCARD_OK) {
		cram_count(cd, CRAM_CNT_DISCARD_ERRORS);
		dev_warn_ratelimited(cd->dev, "discard of %llu pages at DPA %#llx failed: result %llu\n",
				     pages, dpa, result);
		return result == CRAM_DISCARD_EMPTY ? -EINVAL : -ENODEV;
	}
	cram_count(cd, CRAM_CNT_DISCARDS);
	return 0;
}

/**
 * cram_page_freed - a page at @pa was freed: release its media
 * @cd: the device
 * @pa: host physical address of the page
 *
 * Translates @pa through the device's HDM decode and discards the page.
 * The caller must have no dirty cache lines of the page left (see
 * cram_private_page_freed()).
 */
void cram_page_freed(struct cram_dev *cd, phys_addr_t pa)
{
	u64 dpa;

	if (cram_hpa_to_dpa(cd, pa & PAGE_MASK, &dpa)) {
		cram_count(cd, CRAM_CNT_DISCARD_ERRORS);
		return;
	}
	cram_discard(cd, dpa, 1);
}

/*
 * The private-node callbacks, struct private_node_ops style:
 * @data is the struct cram_dev.
 */
int cram_private_page_allocated(struct page *page, void *data)
{
	return cram_page_allocated(data, page_to_phys(page));
}

void cram_private_page_freed(struct page *page, void *data)
{
	/*
	 * Write back and drop the page's cache lines first: a dirty line
	 * evicted after the discard would store the page again, and a clean
	 * one would hide the zeroes.  (A no-op under TCG, needed on hardware.)
	 */
	clflush_cache_range(page_address(page), PAGE_SIZE);
	cram_page_freed(data, page_to_phys(page));
}
