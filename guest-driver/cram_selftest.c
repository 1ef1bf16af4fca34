// SPDX-License-Identifier: GPL-2.0-only
/*
 * debugfs self-test: /sys/kernel/debug/cxl_cram/cram<N>/selftest.
 *
 * The stock kernel has no private-node hooks, so this drives the cycle
 * that zswap will drive through them: allocate a page on the node that
 * holds the device's memory, ask the verdict, fill the page with an
 * MC-safe copy when accepted (always, in reckless mode), read every page
 * back with an MC-safe copy, then free each through the discard path.
 *
 *   echo "run pages=4096 pattern=random" > selftest; cat selftest
 *
 * Words: pages=N (default 1024), pattern=compressible|random|mixed,
 * node=N (default: the node the region was onlined to), reckless (fill
 * refused pages too), retire (hand pages found poisoned to the kernel's
 * memory-failure handling instead of healing them with a discard),
 * copy=driver|kernel: the MC-safe read-back, cram_copy_mc() (default; it
 * survives the imprecise machine checks of TCG) or copy_mc_to_kernel()
 * (needs a precise machine check, and ERMS or mce=recovery).
 */
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include "cram.h"

#define CRAM_ST_MAX_PAGES	(SZ_16G >> PAGE_SHIFT)
#define CRAM_ST_RESULT_LEN	2048

enum cram_pattern {
	CRAM_PAT_COMPRESSIBLE,
	CRAM_PAT_RANDOM,
	CRAM_PAT_MIXED,
};

static const char * const cram_pattern_names[] = {
	[CRAM_PAT_COMPRESSIBLE] = "compressible",
	[CRAM_PAT_RANDOM] = "random",
	[CRAM_PAT_MIXED] = "mixed",
};

struct cram_st_args {
	unsigned int pages;
	enum cram_pattern pattern;
	int node;
	bool reckless;
	bool retire;
	bool kernel_copy;
};

/* Device figures at one moment */
struct cram_st_snap {
	u64 used, held, ratio, status, headroom, dropped, poisoned;
	u64 poisoned_reads, mce;
};

struct cram_st_result {
	int rc;
	int node;
	unsigned int attempted, accepted, refused, verdict_errors;
	unsigned int stored, alloc_failed, foreign;
	unsigned int mc_detected, mismatched, verified;
	unsigned int freed, retired, discard_errors, fill_errors;
	int first_refusal;		/* page index, -1 if none */
	struct cram_st_snap before, at_refusal, stored_snap, after;
	int verdict_after;
};

struct cram_st_page {
	struct page *page;
	u32 seed;
	bool poisoned;
};

struct cram_selftest {
	struct mutex lock;	/* one run at a time; protects @text */
	char text[CRAM_ST_RESULT_LEN];
	size_t len;
};

/* Exact figures: the device's cached dirty pages are stored first */
static void cram_snap(struct cram_dev *cd, struct cram_st_snap *s)
{
	cram_flush(cd);
	s->used = cram_read(cd, CRAM_REG_MEDIA_USED);
	s->held = cram_read(cd, CRAM_REG_LOGICAL_HELD);
	s->ratio = cram_read(cd, CRAM_REG_RATIO);
	s->status = cram_read(cd, CRAM_REG_STATUS);
	s->headroom = cram_read(cd, CRAM_REG_HEADROOM_PAGES);
	s->dropped = cram_read(cd, CRAM_REG_DROPPED_WRITES);
	s->poisoned = cram_read(cd, CRAM_REG_POISONED_PAGES);
	s->poisoned_reads = cram_read(cd, CRAM_REG_POISONED_READS);
	s->mce = cram_read(cd, CRAM_REG_MCE_RAISED);
}

static u64 cram_xorshift(u64 *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static void cram_fill_random(u64 *p, size_t words, u32 seed)
{
	u64 x = 0x9e3779b97f4a7c15ULL ^ ((u64)seed << 17) ^ seed;
	size_t i;

	for (i = 0; i < words; i++)
		p[i] = cram_xorshift(&x);
}

static void cram_fill_text(char *p, size_t len, u32 seed)
{
	size_t off = 0;
	unsigned int line = 0;
	char tmp[80];
	int n;

	while (off < len) {
		n = scnprintf(tmp, sizeof(tmp),
			      "cxl-cram self-test page %08x line %03u: compressed memory\n",
			      seed, line++);
		memcpy(p + off, tmp, min_t(size_t, n, len - off));
		off += n;
	}
}

/* The content of page @seed for @pattern: the same for fill and check. */
static void cram_pattern(void *buf, enum cram_pattern pattern, u32 seed)
{
	switch (pattern) {
	case CRAM_PAT_COMPRESSIBLE:
		cram_fill_text(buf, PAGE_SIZE, seed);
		break;
	case CRAM_PAT_RANDOM:
		cram_fill_random(buf, PAGE_SIZE / 8, seed);
		break;
	case CRAM_PAT_MIXED:
		/* a quarter random, the rest text: about 3:1 */
		cram_fill_random(buf, PAGE_SIZE / 32, seed);
		cram_fill_text(buf + PAGE_SIZE / 4, PAGE_SIZE * 3 / 4, seed);
		break;
	}
}

static bool cram_all_ones(const u64 *p, size_t words)
{
	size_t i;

	for (i = 0; i < words; i++)
		if (p[i] != ~0ULL)
			return false;
	return true;
}

static int cram_st_parse(char *cmd, struct cram_st_args *a)
{
	char *word, *val;
	int i;

	a->pages = 1024;
	a->pattern = CRAM_PAT_COMPRESSIBLE;
	a->node = NUMA_NO_NODE;
	a->reckless = false;
	a->retire = false;
	a->kernel_copy = false;
	while ((word = strsep(&cmd, " \t\n"))) {
		if (!*word || !strcmp(word, "run"))
			continue;
		val = strchr(word, '=');
		if (val)
			*val++ = '\0';
		if (!strcmp(word, "reckless") && !val) {
			a->reckless = true;
		} else if (!strcmp(word, "retire") && !val) {
			a->retire = true;
		} else if (!strcmp(word, "pages") && val) {
			if (kstrtouint(val, 0, &a->pages) || !a->pages ||
			    a->pages > CRAM_ST_MAX_PAGES)
				return -EINVAL;
		} else if (!strcmp(word, "copy") && val) {
			if (!strcmp(val, "kernel"))
				a->kernel_copy = true;
			else if (strcmp(val, "driver"))
				return -EINVAL;
		} else if (!strcmp(word, "node") && val) {
			if (kstrtoint(val, 0, &a->node) || a->node < 0 ||
			    a->node >= MAX_NUMNODES || !node_online(a->node))
				return -EINVAL;
		} else if (!strcmp(word, "pattern") && val) {
			i = match_string(cram_pattern_names,
					 ARRAY_SIZE(cram_pattern_names), val);
			if (i < 0)
				return -EINVAL;
			a->pattern = i;
		} else {
			return -EINVAL;
		}
	}
	return 0;
}

/* Phase 1: allocate, ask the verdict, fill.  Returns the pages stored. */
static unsigned int cram_st_store(struct cram_dev *cd, struct cram_st_args *a,
				  struct cram_st_result *r, struct cram_st_page *pp,
				  void *buf, struct list_head *foreign)
{
	gfp_t gfp = GFP_KERNEL | __GFP_THISNODE | __GFP_NOWARN | __GFP_NORETRY;
	unsigned int n = 0;
	struct page *page;
	phys_addr_t pa;
	u64 dpa;
	int rc;

	while (r->attempted < a->pages) {
		if (fatal_signal_pending(current)) {
			r->rc = -EINTR;
			break;
		}
		cond_resched();
		page = alloc_pages_node(r->node, gfp, 0);
		if (!page) {
			r->alloc_failed++;
			break;
		}
		pa = page_to_phys(page);
		if (cram_hpa_to_dpa(cd, pa, &dpa)) {
			/*
			 * other memory of the same node, or another device's
			 * granule of an interleaved region: keep it out of the way
			 */
			list_add(&page->lru, foreign);
			if (++r->foreign > a->pages)
				break;
			continue;
		}
		r->attempted++;
		rc = cram_private_page_allocated(page, cd);
		if (rc == -ENOSPC) {
			if (r->first_refusal < 0) {
				r->first_refusal = r->attempted - 1;
				cram_snap(cd, &r->at_refusal);
			}
			r->refused++;
		} else if (rc) {
			r->verdict_errors++;
		} else {
			r->accepted++;
		}
		if (rc && !(a->reckless && rc == -ENOSPC)) {
			/*
			 * Refused: zswap frees the page and tries elsewhere.
			 * Through the discard path, since the allocator may
			 * have written it (init_on_alloc zeroes pages).
			 */
			cram_private_page_freed(page, cd);
			__free_page(page);
			continue;
		}
		pp[n].seed = get_random_u32();
		pp[n].page = page;
		cram_pattern(buf, a->pattern, pp[n].seed);
		/* the source is ordinary memory: this cannot fail */
		if (copy_mc_to_kernel(page_address(page), buf, PAGE_SIZE))
			r->fill_errors++;
		n++;
	}
	r->stored = n;
	return n;
}

/* Phase 2: read every stored page back with an MC-safe copy. */
static void cram_st_check(struct cram_st_args *a, struct cram_st_result *r,
			  struct cram_st_page *pp, unsigned int n, void *buf,
			  void *chk)
{
	unsigned long left;
	unsigned int i;

	for (i = 0; i < n; i++) {
		void *va = page_address(pp[i].page);

		cond_resched();
		if (a->kernel_copy)
			left = copy_mc_to_kernel(chk, va, PAGE_SIZE);
		else
			left = cram_copy_mc(chk, va, PAGE_SIZE);
		if (left) {
			pp[i].poisoned = true;
			r->mc_detected++;
			continue;
		}
		cram_pattern(buf, a->pattern, pp[i].seed);
		if (!memcmp(buf, chk, PAGE_SIZE)) {
			r->verified++;
		} else {
			/* a poisoned page whose machine check was not delivered */
			if (cram_all_ones(chk, PAGE_SIZE / 8))
				pp[i].poisoned = true;
			r->mismatched++;
		}
	}
}

/* Phase 3: free every page through the discard path. */
static void cram_st_free(struct cram_dev *cd, struct cram_st_args *a,
			 struct cram_st_result *r, struct cram_st_page *pp,
			 unsigned int n)
{
	u64 errors = atomic64_read(&cd->count[CRAM_CNT_DISCARD_ERRORS]);
	unsigned int i;

	for (i = 0; i < n; i++) {
		cond_resched();
		if (pp[i].poisoned && a->retire) {
			/*
			 * Let memory-failure take the page offline: it marks
			 * it HWPoison and the page allocator never hands it
			 * out again.  The page keeps its poison on the device.
			 */
			memory_failure(page_to_pfn(pp[i].page), 0);
			__free_page(pp[i].page);
			r->retired++;
			continue;
		}
		cram_private_page_freed(pp[i].page, cd);
		__free_page(pp[i].page);
		r->freed++;
	}
	r->discard_errors = atomic64_read(&cd->count[CRAM_CNT_DISCARD_ERRORS]) -
			    errors;
}

static int cram_st_run(struct cram_dev *cd, struct cram_st_args *a,
		       struct cram_st_result *r)
{
	struct cram_st_page *pp;
	struct page *page, *tmp;
	LIST_HEAD(foreign);
	struct cram_decoder dec;
	void *buf, *chk;
	unsigned int n;
	int rc;

	r->first_refusal = -1;
	rc = cram_place_learn(cd);
	if (cram_hpa_range(cd, &dec)) {
		dev_info(cd->dev, "self-test: no committed HDM decoder that translates (create a region first; interleave position: %d)\n",
			 rc);
		return -ENXIO;
	}
	r->node = a->node != NUMA_NO_NODE ? a->node : cram_memory_node(cd);
	if (r->node == NUMA_NO_NODE) {
		dev_info(cd->dev, "self-test: the region's memory is not online (online it, or use node=N)\n");
		return -ENODEV;
	}
	pp = kvcalloc(a->pages, sizeof(*pp), GFP_KERNEL);
	buf = kmalloc(PAGE_SIZE, GFP_KERNEL);
	chk = kmalloc(PAGE_SIZE, GFP_KERNEL);
	if (!pp || !buf || !chk) {
		r->rc = -ENOMEM;
		goto out;
	}

	dev_info(cd->dev, "self-test: %u %s pages on node %d%s\n", a->pages,
		 cram_pattern_names[a->pattern], r->node,
		 a->reckless ? ", reckless (ignoring verdicts)" : "");
	cram_snap(cd, &r->before);
	n = cram_st_store(cd, a, r, pp, buf, &foreign);
	cram_snap(cd, &r->stored_snap);
	cram_st_check(a, r, pp, n, buf, chk);
	cram_st_free(cd, a, r, pp, n);
	cram_snap(cd, &r->after);
	/* the device's first granule of the range */
	r->verdict_after = cram_page_allocated(cd, dec.hpa_base +
					       (u64)dec.pos * dec.gran);
out:
	list_for_each_entry_safe(page, tmp, &foreign, lru) {
		list_del(&page->lru);
		__free_page(page);
	}
	kfree(chk);
	kfree(buf);
	kvfree(pp);
	return r->rc;
}

static int cram_st_snap_text(char *p, size_t len, const char *what,
			     const struct cram_st_snap *s)
{
	char status[96];

	cram_status_string(s->status, status, sizeof(status));
	return scnprintf(p, len,
			 "%s: media_used=%llu logical_held=%llu ratio_fp16=%llu headroom_pages=%llu dropped_writes=%llu poisoned_pages=%llu poisoned_reads=%llu machine_checks=%llu status=%s\n",
			 what, s->used, s->held, s->ratio, s->headroom,
			 s->dropped, s->poisoned, s->poisoned_reads, s->mce,
			 status);
}

static size_t cram_st_text(char *p, size_t len, const struct cram_st_args *a,
			   const struct cram_st_result *r)
{
	size_t n;

	n = scnprintf(p, len,
		      "result=%d\npages=%u pattern=%s node=%d reckless=%d retire=%d copy=%s\n"
		      "attempted=%u accepted=%u refused=%u verdict_errors=%u first_refusal=%d\n"
		      "stored=%u fill_errors=%u alloc_failed=%u foreign=%u\n"
		      "verified=%u poisoned_detected=%u mismatched=%u\n"
		      "freed=%u retired=%u discard_errors=%u verdict_after=%d\n",
		      r->rc, a->pages, cram_pattern_names[a->pattern], r->node,
		      a->reckless, a->retire,
		      a->kernel_copy ? "kernel" : "driver", r->attempted, r->accepted,
		      r->refused, r->verdict_errors, r->first_refusal,
		      r->stored, r->fill_errors, r->alloc_failed, r->foreign, r->verified,
		      r->mc_detected, r->mismatched, r->freed, r->retired,
		      r->discard_errors, r->verdict_after);
	n += cram_st_snap_text(p + n, len - n, "before", &r->before);
	if (r->first_refusal >= 0)
		n += cram_st_snap_text(p + n, len - n, "at_first_refusal",
				       &r->at_refusal);
	n += cram_st_snap_text(p + n, len - n, "stored", &r->stored_snap);
	n += cram_st_snap_text(p + n, len - n, "after", &r->after);
	return n;
}

static ssize_t cram_st_write(struct file *file, const char __user *ubuf,
			     size_t len, loff_t *ppos)
{
	struct cram_dev *cd = file->private_data;
	struct cram_selftest *st = cd->st;
	struct cram_st_result *r;
	struct cram_st_args a;
	char *cmd;
	int rc;

	if (len > 256)
		return -EINVAL;
	cmd = memdup_user_nul(ubuf, len);
	if (IS_ERR(cmd))
		return PTR_ERR(cmd);
	rc = cram_st_parse(cmd, &a);
	kfree(cmd);
	if (rc)
		return rc;
	r = kzalloc(sizeof(*r), GFP_KERNEL);
	if (!r)
		return -ENOMEM;
	if (mutex_lock_interruptible(&st->lock)) {
		kfree(r);
		return -EINTR;
	}
	rc = cram_st_run(cd, &a, r);
	if (!rc || r->attempted)
		st->len = cram_st_text(st->text, sizeof(st->text), &a, r);
	else
		st->len = scnprintf(st->text, sizeof(st->text), "result=%d\n", rc);
	dev_info(cd->dev, "self-test: result %d: %u accepted, %u refused, %u stored, %u verified, %u poisoned detected, %u mismatched, %u freed, %u retired\n",
		 rc, r->accepted, r->refused, r->stored, r->verified,
		 r->mc_detected, r->mismatched, r->freed, r->retired);
	mutex_unlock(&st->lock);
	kfree(r);
	return rc ? rc : len;
}

static ssize_t cram_st_read(struct file *file, char __user *ubuf, size_t len,
			    loff_t *ppos)
{
	struct cram_dev *cd = file->private_data;
	struct cram_selftest *st = cd->st;
	ssize_t rc;

	mutex_lock(&st->lock);
	if (!st->len)
		st->len = scnprintf(st->text, sizeof(st->text), "no run yet\n");
	rc = simple_read_from_buffer(ubuf, len, ppos, st->text, st->len);
	mutex_unlock(&st->lock);
	return rc;
}

static const struct file_operations cram_st_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.read = cram_st_read,
	.write = cram_st_write,
	.llseek = default_llseek,
};

/* debugfs "decoders": the committed HDM decoders as the driver reads them */
static int cram_decoders_show(struct seq_file *s, void *unused)
{
	struct cram_dev *cd = s->private;
	struct cram_decoder *dec;
	int n, i;

	dec = kcalloc(CRAM_HDM_MAX, sizeof(*dec), GFP_KERNEL);
	if (!dec)
		return -ENOMEM;
	cram_place_learn(cd);
	n = cram_hdm_decoders(cd, dec, CRAM_HDM_MAX);
	for (i = 0; i < n; i++)
		seq_printf(s, "decoder%d hpa=%#llx-%#llx dpa=%#llx ways=%u granularity=%u position=%d\n",
			   i, dec[i].hpa_base,
			   dec[i].hpa_base + dec[i].hpa_size - 1,
			   dec[i].dpa_base, dec[i].ways, dec[i].gran,
			   dec[i].pos);
	kfree(dec);
	return n < 0 ? n : 0;
}
DEFINE_SHOW_ATTRIBUTE(cram_decoders);

void cram_selftest_add(struct cram_dev *cd)
{
	cd->st = kzalloc(sizeof(*cd->st), GFP_KERNEL);
	if (!cd->st)
		return;
	mutex_init(&cd->st->lock);
	cd->dbg = debugfs_create_dir(dev_name(cd->dev), cram_debugfs_root);
	debugfs_create_file("selftest", 0600, cd->dbg, cd, &cram_st_fops);
	debugfs_create_file("decoders", 0400, cd->dbg, cd, &cram_decoders_fops);
}

void cram_selftest_remove(struct cram_dev *cd)
{
	/* waits for a self-test in progress */
	debugfs_remove(cd->dbg);
	cd->dbg = NULL;
	if (cd->st)
		mutex_destroy(&cd->st->lock);
	kfree(cd->st);
	cd->st = NULL;
}
