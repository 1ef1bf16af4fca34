// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * uffd-faults.c - per-4KiB-page latency of userfaultfd fault paths versus
 * the plain kernel paths and the classic mprotect()+SIGSEGV approach: the
 * measurements behind docs/ram-path.md's choice of shape.
 *
 * What it measures (median / p99 / min / max ns per 4 KiB page, over NPAGES
 * pages of an 8 GiB MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE region with
 * MADV_NOHUGEPAGE, each case in its own 512 MiB slice):
 *
 *  1. baseline: first read of a fresh anon page (normally maps the shared
 *     zero page; the program reports whether it did), first write (page
 *     allocation), write after read (COW from the zero page).
 *  2. uffd MISSING: faulting thread reads a page, a handler thread
 *     (poll+read, or busy read() on the O_NONBLOCK uffd) resolves it with
 *     UFFDIO_COPY (4 KiB buffer) or UFFDIO_ZEROPAGE; round trip as seen by
 *     the faulting thread, plus the resolving ioctl alone in the handler.
 *  3. uffd WP: MODE_MISSING|MODE_WP; missing resolved with UFFDIO_COPY +
 *     UFFDIO_COPY_MODE_WP, then a write raises a WP fault resolved with
 *     UFFDIO_WRITEPROTECT (clear).  If UFFD_FEATURE_WP_ASYNC is offered:
 *     the in-kernel resolved WP write fault, re-protecting a range, and
 *     dirty scans via /proc/self/pagemap (PM_UFFD_WP, bit 57) and the
 *     PAGEMAP_SCAN ioctl (get-only and get+re-protect).
 *  4. eviction: UFFDIO_WRITEPROTECT(WP) + MADV_DONTNEED per page and per
 *     batch of 64 pages; checks the next access raises a MISSING fault.
 *  5. UFFDIO_POISON: touching a poisoned page (SIGBUS si_code/si_addr),
 *     pre-poisoned and poisoned by the handler in reply to a missing fault.
 *     si_code is BUS_MCEERR_AR only with CONFIG_MEMORY_FAILURE=y, else
 *     BUS_ADRERR.
 *  6. classic: PROT_NONE + SIGSEGV handler (mprotect RW + 4 KiB copy) +
 *     mprotect(PROT_NONE) back, per page.
 *
 * Build: gcc -O2 -Wall -pthread -o uffd-faults bench/host/uffd-faults.c
 * Run:   ./uffd-faults [npages]    (needs CAP_SYS_PTRACE or
 *        vm.unprivileged_userfaultfd=1, or access to /dev/userfaultfd)
 * Single faulting thread; one handler thread where the case needs one.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <linux/fs.h>
#include <linux/userfaultfd.h>

/*
 * UAPI values missing from older (e.g. Debian 12 / 6.1) kernel headers,
 * copied from Linux 6.18 include/uapi/linux/userfaultfd.h and fs.h.
 */
#ifndef UFFD_FEATURE_MINOR_SHMEM
#define UFFD_FEATURE_MINOR_SHMEM        (1 << 10)
#endif
#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED     (1 << 13)
#endif
#ifndef UFFD_FEATURE_POISON
#define UFFD_FEATURE_POISON             (1 << 14)
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC           (1 << 15)
#endif
#ifndef UFFD_FEATURE_MOVE
#define UFFD_FEATURE_MOVE               (1 << 16)
#endif
#ifndef _UFFDIO_MOVE
#define _UFFDIO_MOVE                    (0x05)
struct uffdio_move {
	__u64 dst;
	__u64 src;
	__u64 len;
#define UFFDIO_MOVE_MODE_DONTWAKE               ((__u64)1 << 0)
#define UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES        ((__u64)1 << 1)
	__u64 mode;
	__s64 move;
};
#define UFFDIO_MOVE     _IOWR(UFFDIO, _UFFDIO_MOVE, struct uffdio_move)
#endif
#ifndef _UFFDIO_POISON
#define _UFFDIO_POISON                  (0x08)
struct uffdio_poison {
	struct uffdio_range range;
#define UFFDIO_POISON_MODE_DONTWAKE             ((__u64)1 << 0)
	__u64 mode;
	__s64 updated;
};
#define UFFDIO_POISON   _IOWR(UFFDIO, _UFFDIO_POISON, struct uffdio_poison)
#endif

#ifndef PAGEMAP_SCAN
#define PAGEMAP_SCAN    _IOWR('f', 16, struct pm_scan_arg)
#define PAGE_IS_WPALLOWED       (1 << 0)
#define PAGE_IS_WRITTEN         (1 << 1)
#define PAGE_IS_FILE            (1 << 2)
#define PAGE_IS_PRESENT         (1 << 3)
#define PAGE_IS_SWAPPED         (1 << 4)
#define PAGE_IS_PFNZERO         (1 << 5)
#define PAGE_IS_HUGE            (1 << 6)
#define PAGE_IS_SOFT_DIRTY      (1 << 7)
struct page_region {
	__u64 start;
	__u64 end;
	__u64 categories;
};
#define PM_SCAN_WP_MATCHING     (1 << 0)
#define PM_SCAN_CHECK_WPASYNC   (1 << 1)
struct pm_scan_arg {
	__u64 size;
	__u64 flags;
	__u64 start;
	__u64 end;
	__u64 walk_end;
	__u64 vec;
	__u64 vec_len;
	__u64 max_pages;
	__u64 category_inverted;
	__u64 category_mask;
	__u64 category_anyof_mask;
	__u64 return_mask;
};
#endif

/* /proc/<pid>/pagemap entry bits (Documentation/admin-guide/mm/pagemap.rst) */
#define PM_UFFD_WP      (1ULL << 57)
#define PM_PRESENT      (1ULL << 63)

#ifndef BUS_MCEERR_AR
#define BUS_MCEERR_AR   4
#endif

#define PAGE_SZ         4096UL
#define REGION_SZ       (8UL << 30)
#define SLICE_SZ        (512UL << 20)
#define EVICT_BATCH     64
#define ASYNC_ROUNDS    10
#define ASYNC_STRIDE    8       /* dirty every 8th page per round */

static size_t npages = 20000;
static uint8_t *region;
static int pagemap_fd = -1;
static uint64_t api_features;   /* what the kernel offered */
static uint8_t src_page[PAGE_SZ] __attribute__((aligned(4096)));

/* ------------------------------------------------------------------ */
/* helpers                                                             */

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static inline void cpu_relax(void)
{
	__asm__ __volatile__("pause" ::: "memory");
}

static uint8_t *slice(int i)
{
	return region + (size_t)i * SLICE_SZ;
}

static uint8_t *page_at(uint8_t *base, size_t i)
{
	return base + i * PAGE_SZ;
}

static void die(const char *what)
{
	fprintf(stderr, "FATAL: %s: %s (errno %d)\n", what, strerror(errno), errno);
	exit(1);
}

static void note_err(const char *what, int err)
{
	printf("  ERROR: %s: %s (errno %d)\n", what, strerror(err), err);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Sorts v in place.  div: divide each sample (per-batch -> per-page). */
static void report(const char *name, uint64_t *v, size_t n, double div)
{
	if (!n) {
		printf("  %-52s (no samples)\n", name);
		return;
	}
	qsort(v, n, sizeof(*v), cmp_u64);
	printf("  %-52s n=%6zu median=%9.0f p99=%9.0f min=%8.0f max=%10.0f ns\n",
	       name, n, v[n / 2] / div, v[(n * 99) / 100] / div, v[0] / div,
	       v[n - 1] / div);
}

static uint64_t *samples(size_t n)
{
	uint64_t *v = calloc(n ? n : 1, sizeof(*v));

	if (!v)
		die("calloc");
	return v;
}

static void drop(uint8_t *base, size_t len)
{
	if (madvise(base, len, MADV_DONTNEED))
		die("madvise(DONTNEED)");
}

static int pagemap_get(uint8_t *base, size_t n, uint64_t *out)
{
	off_t off = (off_t)((uintptr_t)base / PAGE_SZ) * 8;
	ssize_t r = pread(pagemap_fd, out, n * 8, off);

	return r == (ssize_t)(n * 8) ? 0 : -1;
}

/* ------------------------------------------------------------------ */
/* userfaultfd plumbing                                                */

static int uffd_new(void)
{
	int fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	if (fd < 0) {
		int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);

		if (dev < 0)
			die("userfaultfd and /dev/userfaultfd");
		fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
		close(dev);
		if (fd < 0)
			die("USERFAULTFD_IOC_NEW");
	}
	return fd;
}

/* Returns fd or -1 (errno set) if UFFDIO_API refuses the features. */
static int uffd_open(uint64_t features)
{
	struct uffdio_api api = { .api = UFFD_API, .features = features };
	int fd = uffd_new();

	if (ioctl(fd, UFFDIO_API, &api)) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static void uffd_register(int fd, uint8_t *base, size_t len, uint64_t mode,
			  uint64_t need_ioctls)
{
	struct uffdio_register reg = {
		.range = { .start = (uintptr_t)base, .len = len },
		.mode = mode,
	};

	if (ioctl(fd, UFFDIO_REGISTER, &reg))
		die("UFFDIO_REGISTER");
	if ((reg.ioctls & need_ioctls) != need_ioctls) {
		fprintf(stderr, "FATAL: range ioctls 0x%llx lack 0x%llx\n",
			(unsigned long long)reg.ioctls,
			(unsigned long long)need_ioctls);
		exit(1);
	}
}

static void uffd_unregister(int fd, uint8_t *base, size_t len)
{
	struct uffdio_range r = { .start = (uintptr_t)base, .len = len };

	if (ioctl(fd, UFFDIO_UNREGISTER, &r))
		die("UFFDIO_UNREGISTER");
}

static int uffd_wp(int fd, void *addr, size_t len, bool protect)
{
	struct uffdio_writeprotect wp = {
		.range = { .start = (uintptr_t)addr, .len = len },
		.mode = protect ? UFFDIO_WRITEPROTECT_MODE_WP : 0,
	};

	return ioctl(fd, UFFDIO_WRITEPROTECT, &wp) ? -errno : 0;
}

static int uffd_copy(int fd, void *dst, uint64_t mode)
{
	struct uffdio_copy c = {
		.dst = (uintptr_t)dst, .src = (uintptr_t)src_page,
		.len = PAGE_SZ, .mode = mode,
	};

	return ioctl(fd, UFFDIO_COPY, &c) ? -errno : 0;
}

static int uffd_poison(int fd, void *dst, size_t len)
{
	struct uffdio_poison p = {
		.range = { .start = (uintptr_t)dst, .len = len },
	};

	return ioctl(fd, UFFDIO_POISON, &p) ? -errno : 0;
}

enum hmode { H_COPY, H_ZEROPAGE, H_COPY_WP, H_POISON };

struct handler {
	int uffd;
	int stopfd;
	enum hmode mode;
	bool spin;              /* busy read() instead of poll() */
	atomic_bool stop;
	pthread_t th;
	uint64_t *res_ns;       /* resolving ioctl for MISSING faults */
	uint64_t *wp_ns;        /* UFFDIO_WRITEPROTECT clear for WP faults */
	size_t cap, n_missing, n_wp, n_eexist, n_other, n_err;
	int first_errno;
};

static void handler_err(struct handler *h, int err)
{
	if (!h->n_err++)
		h->first_errno = err;
}

static void handle_msg(struct handler *h, const struct uffd_msg *m)
{
	uint64_t addr, t0, t1;
	int r;

	if (m->event != UFFD_EVENT_PAGEFAULT) {
		h->n_other++;
		return;
	}
	addr = m->arg.pagefault.address & ~(PAGE_SZ - 1);
	if (m->arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP) {
		t0 = now_ns();
		r = uffd_wp(h->uffd, (void *)addr, PAGE_SZ, false);
		t1 = now_ns();
		if (r)
			handler_err(h, -r);
		if (h->n_wp < h->cap)
			h->wp_ns[h->n_wp] = t1 - t0;
		h->n_wp++;
		return;
	}

	t0 = now_ns();
	switch (h->mode) {
	case H_COPY:
		r = uffd_copy(h->uffd, (void *)addr, 0);
		break;
	case H_COPY_WP:
		r = uffd_copy(h->uffd, (void *)addr, UFFDIO_COPY_MODE_WP);
		break;
	case H_ZEROPAGE: {
		struct uffdio_zeropage z = {
			.range = { .start = addr, .len = PAGE_SZ },
		};
		r = ioctl(h->uffd, UFFDIO_ZEROPAGE, &z) ? -errno : 0;
		break;
	}
	case H_POISON:
		r = uffd_poison(h->uffd, (void *)addr, PAGE_SZ);
		break;
	default:
		r = -EINVAL;
	}
	t1 = now_ns();
	if (r == -EEXIST) {
		/* Raced with something else mapping it: just wake. */
		struct uffdio_range w = { .start = addr, .len = PAGE_SZ };

		h->n_eexist++;
		ioctl(h->uffd, UFFDIO_WAKE, &w);
	} else if (r) {
		handler_err(h, -r);
	}
	if (h->n_missing < h->cap)
		h->res_ns[h->n_missing] = t1 - t0;
	h->n_missing++;
}

static void *handler_main(void *arg)
{
	struct handler *h = arg;
	struct uffd_msg m;

	for (;;) {
		if (h->spin) {
			if (atomic_load_explicit(&h->stop, memory_order_relaxed))
				break;
		} else {
			struct pollfd p[2] = {
				{ .fd = h->uffd, .events = POLLIN },
				{ .fd = h->stopfd, .events = POLLIN },
			};

			if (poll(p, 2, -1) < 0) {
				if (errno == EINTR)
					continue;
				handler_err(h, errno);
				break;
			}
			if (p[1].revents)
				break;
			if (!(p[0].revents & POLLIN))
				continue;
		}
		ssize_t n = read(h->uffd, &m, sizeof(m));

		if (n == sizeof(m)) {
			handle_msg(h, &m);
		} else if (n < 0 && errno == EAGAIN) {
			if (h->spin)
				cpu_relax();
		} else {
			handler_err(h, n < 0 ? errno : EIO);
			break;
		}
	}
	return NULL;
}

static void handler_start(struct handler *h, int uffd, enum hmode mode,
			  bool spin)
{
	memset(h, 0, sizeof(*h));
	h->uffd = uffd;
	h->mode = mode;
	h->spin = spin;
	h->cap = npages;
	h->res_ns = samples(h->cap);
	h->wp_ns = samples(h->cap);
	h->stopfd = eventfd(0, EFD_CLOEXEC);
	if (h->stopfd < 0)
		die("eventfd");
	if (pthread_create(&h->th, NULL, handler_main, h))
		die("pthread_create");
}

static void handler_stop(struct handler *h)
{
	uint64_t one = 1;

	atomic_store(&h->stop, true);
	if (write(h->stopfd, &one, sizeof(one)) != sizeof(one))
		die("eventfd write");
	pthread_join(h->th, NULL);
	close(h->stopfd);
	if (h->n_err)
		printf("  handler errors: %zu (first: %s, errno %d)\n", h->n_err,
		       strerror(h->first_errno), h->first_errno);
	if (h->n_eexist || h->n_other)
		printf("  handler: EEXIST %zu, non-pagefault events %zu\n",
		       h->n_eexist, h->n_other);
}

static void handler_free(struct handler *h)
{
	free(h->res_ns);
	free(h->wp_ns);
}

static size_t min_sz(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* ------------------------------------------------------------------ */
/* 1. baseline                                                         */

static void case_baseline(void)
{
	uint8_t *a = slice(0), *b = slice(1);
	uint64_t *rd = samples(npages), *wr = samples(npages),
		 *wr2 = samples(npages), *cow = samples(npages),
		 *tm = samples(npages), pm[2] = { 0, 0 };

	printf("\n[1] baseline, no uffd\n");
	for (size_t i = 0; i < npages; i++) {
		uint64_t t0 = now_ns(), t1 = now_ns();

		tm[i] = t1 - t0;
	}
	report("clock_gettime pair (timer overhead, not subtracted)", tm,
	       npages, 1);
	for (size_t i = 0; i < npages; i++) {
		volatile uint8_t *p = page_at(a, i);
		uint64_t t0 = now_ns();

		(void)*p;
		rd[i] = now_ns() - t0;
	}
	pagemap_get(a, 2, pm);
	for (size_t i = 0; i < npages; i++) {
		volatile uint8_t *p = page_at(a, i);
		uint64_t t0 = now_ns();

		*p = 1;
		cow[i] = now_ns() - t0;
	}
	for (size_t i = 0; i < npages; i++) {
		volatile uint8_t *p = page_at(b, i);
		uint64_t t0 = now_ns();

		*p = 1;
		wr[i] = now_ns() - t0;
	}
	drop(b, SLICE_SZ);
	for (size_t i = 0; i < npages; i++) {
		volatile uint8_t *p = page_at(b, i);
		uint64_t t0 = now_ns();

		*p = 1;
		wr2[i] = now_ns() - t0;
	}
	report("first read", rd, npages, 1);
	report("first write (allocate + zero 4 KiB)", wr, npages, 1);
	report("first write, 2nd pass after MADV_DONTNEED", wr2, npages, 1);
	report("write after first read", cow, npages, 1);
	/* PFN = bits 0-54; equal PFNs for two pages => shared zero page */
	printf("  read fault mapped the shared zero page: %s\n",
	       (pm[0] & PM_PRESENT) && !((pm[0] ^ pm[1]) & ((1ULL << 55) - 1))
	       ? "yes" : "no (a private page was allocated)");
	drop(a, SLICE_SZ);
	drop(b, SLICE_SZ);
	free(rd); free(wr); free(wr2); free(cow); free(tm);
}

/* ------------------------------------------------------------------ */
/* 2. uffd MISSING                                                     */

static void case_missing(int sl, enum hmode mode, bool spin, const char *name)
{
	uint8_t *base = slice(sl);
	uint8_t want = mode == H_ZEROPAGE ? 0 : src_page[0];
	uint64_t *rt = samples(npages);
	size_t bad = 0;
	struct handler h;
	char label[96];
	int fd = uffd_open(0);

	if (fd < 0)
		die("UFFDIO_API");
	uffd_register(fd, base, SLICE_SZ, UFFDIO_REGISTER_MODE_MISSING,
		      1ULL << _UFFDIO_COPY | 1ULL << _UFFDIO_ZEROPAGE);
	handler_start(&h, fd, mode, spin);
	for (size_t i = 0; i < npages; i++) {
		volatile uint8_t *p = page_at(base, i);
		uint64_t t0 = now_ns();
		uint8_t v = *p;

		rt[i] = now_ns() - t0;
		bad += v != want;
	}
	handler_stop(&h);
	printf("\n[2] uffd MISSING, %s\n", name);
	snprintf(label, sizeof(label), "read fault round trip (%s)",
		 spin ? "handler spins" : "handler poll+read");
	report(label, rt, npages, 1);
	report(mode == H_ZEROPAGE ? "  handler: UFFDIO_ZEROPAGE ioctl" :
	       "  handler: UFFDIO_COPY ioctl", h.res_ns,
	       min_sz(h.n_missing, h.cap), 1);
	printf("  missing faults seen %zu, content mismatches %zu\n",
	       h.n_missing, bad);
	uffd_unregister(fd, base, SLICE_SZ);
	close(fd);
	drop(base, SLICE_SZ);
	handler_free(&h);
	free(rt);
}

/* ------------------------------------------------------------------ */
/* 3a. uffd WP, synchronous                                            */

static void case_wp_sync(void)
{
	uint8_t *base = slice(6);
	uint64_t *rd = samples(npages), *wr = samples(npages);
	uint64_t pm_after_read = 0, pm_after_write = 0;
	struct handler h;
	int fd = uffd_open(0);

	if (fd < 0)
		die("UFFDIO_API");
	uffd_register(fd, base, SLICE_SZ,
		      UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP,
		      1ULL << _UFFDIO_COPY | 1ULL << _UFFDIO_WRITEPROTECT);
	handler_start(&h, fd, H_COPY_WP, false);
	for (size_t i = 0; i < npages; i++) {
		volatile uint8_t *p = page_at(base, i);
		uint64_t t0 = now_ns();

		(void)*p;
		uint64_t t1 = now_ns();

		if (i == 0)
			pagemap_get(base, 1, &pm_after_read);
		uint64_t t2 = now_ns();

		*p = 2;
		uint64_t t3 = now_ns();

		if (i == 0)
			pagemap_get(base, 1, &pm_after_write);
		rd[i] = t1 - t0;
		wr[i] = t3 - t2;
	}
	handler_stop(&h);
	printf("\n[3] uffd WP (MODE_MISSING|MODE_WP), handler poll+read\n");
	report("read fault round trip (UFFDIO_COPY_MODE_WP)", rd, npages, 1);
	report("write fault round trip (WP -> WRITEPROTECT clear)", wr,
	       npages, 1);
	report("  handler: UFFDIO_COPY(MODE_WP) ioctl", h.res_ns,
	       min_sz(h.n_missing, h.cap), 1);
	report("  handler: UFFDIO_WRITEPROTECT(clear) ioctl", h.wp_ns,
	       min_sz(h.n_wp, h.cap), 1);
	printf("  missing faults %zu, WP faults %zu; pagemap page0 after read: "
	       "present=%d uffd_wp=%d, after write: present=%d uffd_wp=%d\n",
	       h.n_missing, h.n_wp, !!(pm_after_read & PM_PRESENT),
	       !!(pm_after_read & PM_UFFD_WP), !!(pm_after_write & PM_PRESENT),
	       !!(pm_after_write & PM_UFFD_WP));
	uffd_unregister(fd, base, SLICE_SZ);
	close(fd);
	drop(base, SLICE_SZ);
	handler_free(&h);
	free(rd); free(wr);
}

/* ------------------------------------------------------------------ */
/* 3b. uffd WP_ASYNC + dirty scanning                                  */

static size_t scan_stale_walk_end;

static long scan(uint8_t *base, size_t len, struct page_region *vec,
		 size_t vec_len, uint64_t flags, size_t *pages)
{
	struct pm_scan_arg a = {
		.size = sizeof(a),
		.flags = flags,
		.start = (uintptr_t)base,
		.end = (uintptr_t)base + len,
		.vec = (uintptr_t)vec,
		.vec_len = vec_len,
		.category_mask = PAGE_IS_WRITTEN,
		.return_mask = PAGE_IS_WRITTEN,
	};
	long r = ioctl(pagemap_fd, PAGEMAP_SCAN, &a);

	*pages = 0;
	for (long i = 0; i < r; i++)
		*pages += (vec[i].end - vec[i].start) / PAGE_SZ;
	/*
	 * The kernel only updates walk_end when its internal 512-entry
	 * buffer fills (-ENOSPC) and never resets it on the final chunk, so
	 * after a multi-chunk walk that completed it is stale (< end).  Only
	 * a full user vec (r == vec_len) means the scan really stopped early.
	 */
	if (r >= 0 && a.walk_end != a.end) {
		if ((size_t)r == vec_len)
			printf("  note: PAGEMAP_SCAN vec full, stopped at "
			       "+%llu\n", (unsigned long long)
			       (a.walk_end - a.start));
		else
			scan_stale_walk_end++;
	}
	return r < 0 ? -errno : r;
}

static size_t pagemap_count_written(uint8_t *base, uint64_t *pm)
{
	size_t n = 0;

	if (pagemap_get(base, npages, pm))
		die("pread pagemap");
	for (size_t i = 0; i < npages; i++)
		n += (pm[i] & PM_PRESENT) && !(pm[i] & PM_UFFD_WP);
	return n;
}

static void dirty_pages(uint8_t *base, uint64_t *wr, size_t *nwr, size_t off)
{
	for (size_t i = off; i < npages; i += ASYNC_STRIDE) {
		volatile uint8_t *p = page_at(base, i);
		uint64_t t0 = now_ns();

		*p += 1;
		wr[(*nwr)++] = now_ns() - t0;
	}
}

static void case_wp_async(void)
{
	uint8_t *base = slice(7);
	size_t len = npages * PAGE_SZ, per_round = 0, nwr = 0, got, bad = 0;
	size_t vec_len = npages;
	struct page_region *vec = calloc(vec_len, sizeof(*vec));
	uint64_t *pm = samples(npages);
	uint64_t *first = samples(npages), *wr, *t_pm, *t_get, *t_scanwp,
		 *t_wp, *t_unpop;
	uint64_t t0;
	long r;
	int fd;

	printf("\n[3b] uffd WP_ASYNC (features WP_ASYNC|WP_UNPOPULATED, "
	       "MODE_WP only)\n");
	if (!(api_features & UFFD_FEATURE_WP_ASYNC)) {
		printf("  skipped: UFFD_FEATURE_WP_ASYNC not offered\n");
		return;
	}
	fd = uffd_open(UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED);
	if (fd < 0) {
		note_err("UFFDIO_API(WP_ASYNC|WP_UNPOPULATED)", errno);
		return;
	}
	uffd_register(fd, base, SLICE_SZ, UFFDIO_REGISTER_MODE_WP,
		      1ULL << _UFFDIO_WRITEPROTECT);
	wr = samples(npages / ASYNC_STRIDE * 2 * ASYNC_ROUNDS + 2);
	t_pm = samples(ASYNC_ROUNDS);
	t_get = samples(ASYNC_ROUNDS);
	t_scanwp = samples(ASYNC_ROUNDS);
	t_wp = samples(ASYNC_ROUNDS + 1);
	t_unpop = samples(1);

	/* Protect the unpopulated range (installs uffd-wp PTE markers). */
	t0 = now_ns();
	r = uffd_wp(fd, base, len, true);
	t_unpop[0] = now_ns() - t0;
	if (r)
		note_err("UFFDIO_WRITEPROTECT(unpopulated range)", -r);
	/* First write to a WP marker: async resolve + page allocation. */
	for (size_t i = 0; i < npages; i++) {
		volatile uint8_t *p = page_at(base, i);
		uint64_t t1 = now_ns();

		*p = 3;
		first[i] = now_ns() - t1;
	}
	if ((got = pagemap_count_written(base, pm)) != npages)
		printf("  unexpected: %zu/%zu pages written after first pass\n",
		       got, npages);

	/* Re-protect the whole populated range. */
	t0 = now_ns();
	r = uffd_wp(fd, base, len, true);
	t_wp[0] = now_ns() - t0;
	if (r)
		note_err("UFFDIO_WRITEPROTECT(populated range)", -r);

	for (int round = 0; round < ASYNC_ROUNDS; round++) {
		size_t before = nwr;

		dirty_pages(base, wr, &nwr, round % ASYNC_STRIDE);
		per_round = nwr - before;

		t0 = now_ns();
		got = pagemap_count_written(base, pm);
		t_pm[round] = now_ns() - t0;
		bad += got != per_round;

		t0 = now_ns();
		r = scan(base, len, vec, vec_len, 0, &got);
		t_get[round] = now_ns() - t0;
		if (r < 0 && round == 0)
			note_err("PAGEMAP_SCAN(get)", -r);
		bad += got != per_round;

		t0 = now_ns();
		r = scan(base, len, vec, vec_len,
			 PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC, &got);
		t_scanwp[round] = now_ns() - t0;
		if (r < 0 && round == 0)
			note_err("PAGEMAP_SCAN(WP_MATCHING)", -r);
		bad += got != per_round;

		/* Dirty again, re-protect with UFFDIO_WRITEPROTECT instead. */
		dirty_pages(base, wr, &nwr, (round + 1) % ASYNC_STRIDE);
		t0 = now_ns();
		r = uffd_wp(fd, base, len, true);
		t_wp[round + 1] = now_ns() - t0;
		if (r && round == 0)
			note_err("UFFDIO_WRITEPROTECT(range)", -r);
		scan(base, len, vec, vec_len, 0, &got);
		bad += got != 0;
	}

	printf("  UFFDIO_WRITEPROTECT of %zu unpopulated pages: %llu ns "
	       "(%.1f ns/page)\n", npages, (unsigned long long)t_unpop[0],
	       (double)t_unpop[0] / npages);
	report("first write to unpopulated WP-marker page (async)", first,
	       npages, 1);
	report("write to WP'd present page (async, in-kernel resolve)", wr,
	       nwr, 1);
	printf("  per-range ops over %zu pages, %zu dirty (1/%d), %d rounds; "
	       "values are per page (range time / %zu)\n",
	       npages, per_round, ASYNC_STRIDE, ASYNC_ROUNDS, npages);
	report("UFFDIO_WRITEPROTECT(WP) whole range", t_wp, ASYNC_ROUNDS + 1,
	       npages);
	report("pread /proc/self/pagemap + test bit 57", t_pm, ASYNC_ROUNDS,
	       npages);
	report("PAGEMAP_SCAN get written", t_get, ASYNC_ROUNDS, npages);
	report("PAGEMAP_SCAN get written + WP_MATCHING reprotect", t_scanwp,
	       ASYNC_ROUNDS, npages);
	printf("  (range totals: WRITEPROTECT median %.1f us, pagemap %.1f us, "
	       "SCAN get %.1f us, SCAN+WP %.1f us)\n",
	       t_wp[(ASYNC_ROUNDS + 1) / 2] / 1e3, t_pm[ASYNC_ROUNDS / 2] / 1e3,
	       t_get[ASYNC_ROUNDS / 2] / 1e3, t_scanwp[ASYNC_ROUNDS / 2] / 1e3);
	printf("  dirty-count mismatches across all checks: %zu; PAGEMAP_SCAN "
	       "calls returning a stale walk_end < end after a complete walk: "
	       "%zu\n", bad, scan_stale_walk_end);

	uffd_unregister(fd, base, SLICE_SZ);
	close(fd);
	drop(base, SLICE_SZ);
	free(vec); free(pm); free(first); free(wr); free(t_pm); free(t_get);
	free(t_scanwp); free(t_wp); free(t_unpop);
}

/* ------------------------------------------------------------------ */
/* 4. eviction: write-protect + MADV_DONTNEED                          */

static void populate_copy(int fd, uint8_t *base, uint64_t *t)
{
	for (size_t i = 0; i < npages; i++) {
		uint64_t t0 = now_ns();
		int r = uffd_copy(fd, page_at(base, i), UFFDIO_COPY_MODE_DONTWAKE);

		if (t)
			t[i] = now_ns() - t0;
		if (r) {
			errno = -r;
			die("UFFDIO_COPY(populate)");
		}
	}
}

static size_t count_present(uint8_t *base, size_t npg, uint64_t *pm)
{
	size_t n = 0;

	if (pagemap_get(base, npg, pm))
		die("pread pagemap");
	for (size_t i = 0; i < npg; i++)
		n += !!(pm[i] & PM_PRESENT);
	return n;
}

static void case_evict(void)
{
	uint8_t *base = slice(8);
	size_t nb = npages / EVICT_BATCH, touched = 0, bad = 0;
	uint64_t *cp = samples(npages), *wp = samples(npages),
		 *dn = samples(npages), *both = samples(npages),
		 *bwp = samples(nb), *bdn = samples(nb), *bboth = samples(nb),
		 *pm = samples(npages);
	size_t present_after_page, present_after_batch;
	struct handler h;
	int r, fd = uffd_open(0);

	if (fd < 0)
		die("UFFDIO_API");
	uffd_register(fd, base, SLICE_SZ,
		      UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP,
		      1ULL << _UFFDIO_COPY | 1ULL << _UFFDIO_WRITEPROTECT);

	/* Per page. */
	populate_copy(fd, base, cp);
	for (size_t i = 0; i < npages; i++) {
		uint8_t *p = page_at(base, i);
		uint64_t t0 = now_ns();

		r = uffd_wp(fd, p, PAGE_SZ, true);
		uint64_t t1 = now_ns();

		if (r && !bad++)
			note_err("UFFDIO_WRITEPROTECT(WP) page", -r);
		if (madvise(p, PAGE_SZ, MADV_DONTNEED))
			die("madvise(DONTNEED) page");
		uint64_t t2 = now_ns();

		wp[i] = t1 - t0;
		dn[i] = t2 - t1;
		both[i] = t2 - t0;
	}
	present_after_page = count_present(base, npages, pm);

	/* Batches of EVICT_BATCH pages (populate the same range again). */
	populate_copy(fd, base, NULL);
	for (size_t b = 0; b < nb; b++) {
		uint8_t *p = page_at(base, b * EVICT_BATCH);
		size_t blen = EVICT_BATCH * PAGE_SZ;
		uint64_t t0 = now_ns();

		r = uffd_wp(fd, p, blen, true);
		uint64_t t1 = now_ns();

		if (r && !bad++)
			note_err("UFFDIO_WRITEPROTECT(WP) batch", -r);
		if (madvise(p, blen, MADV_DONTNEED))
			die("madvise(DONTNEED) batch");
		uint64_t t2 = now_ns();

		bwp[b] = t1 - t0;
		bdn[b] = t2 - t1;
		bboth[b] = t2 - t0;
	}
	present_after_batch = count_present(base, nb * EVICT_BATCH, pm);

	/* Dropped pages must raise MISSING (not WP) faults again. */
	handler_start(&h, fd, H_COPY, false);
	for (size_t i = 0; i < nb * EVICT_BATCH; i += 97) {
		volatile uint8_t *p = page_at(base, i);

		if (touched & 1)
			*p = 7;         /* write access */
		else
			bad += *p != src_page[0];
		touched++;
	}
	handler_stop(&h);

	printf("\n[4] eviction (MODE_MISSING|MODE_WP, pages populated by "
	       "UFFDIO_COPY)\n");
	report("UFFDIO_COPY ioctl, no fault pending (populate)", cp, npages, 1);
	report("per page: UFFDIO_WRITEPROTECT(WP)", wp, npages, 1);
	report("per page: MADV_DONTNEED", dn, npages, 1);
	report("per page: WP + DONTNEED", both, npages, 1);
	report("batch 64, per page: UFFDIO_WRITEPROTECT(WP)", bwp, nb,
	       EVICT_BATCH);
	report("batch 64, per page: MADV_DONTNEED", bdn, nb, EVICT_BATCH);
	report("batch 64, per page: WP + DONTNEED", bboth, nb, EVICT_BATCH);
	printf("  (batch of 64 totals: WP %.0f ns, DONTNEED %.0f ns, "
	       "both %.0f ns median)\n", (double)bwp[nb / 2],
	       (double)bdn[nb / 2], (double)bboth[nb / 2]);
	printf("  still present after per-page eviction: %zu/%zu, after batch "
	       "eviction: %zu/%zu\n", present_after_page, npages,
	       present_after_batch, nb * EVICT_BATCH);
	printf("  re-access of %zu dropped pages (half reads, half writes): "
	       "MISSING faults %zu, WP faults %zu, errors/mismatches %zu\n",
	       touched, h.n_missing, h.n_wp, bad);
	uffd_unregister(fd, base, SLICE_SZ);
	close(fd);
	drop(base, SLICE_SZ);
	handler_free(&h);
	free(cp); free(wp); free(dn); free(both); free(bwp); free(bdn);
	free(bboth); free(pm);
}

/* ------------------------------------------------------------------ */
/* 5. UFFDIO_POISON                                                    */

static sigjmp_buf bus_jmp;
static volatile int bus_code;
static void *volatile bus_addr;
static volatile short bus_lsb;

static void bus_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig; (void)uc;
	bus_code = si->si_code;
	bus_addr = si->si_addr;
	bus_lsb = si->si_addr_lsb;
	siglongjmp(bus_jmp, 1);
}

/* Reads *p; returns true if that raised SIGBUS (handler siglongjmp'd). */
static __attribute__((noinline)) bool touch_sigbus(volatile uint8_t *p)
{
	if (sigsetjmp(bus_jmp, 0))
		return true;
	(void)*p;
	return false;
}

struct bus_tally {
	size_t mceerr_ar, adrerr, other, nosig, addr_mismatch;
};

/* Touch n pages, each expected to raise SIGBUS at the page address. */
static void touch_poisoned(uint8_t *base, size_t n, uint64_t *rt,
			   struct bus_tally *t)
{
	memset(t, 0, sizeof(*t));
	for (size_t i = 0; i < n; i++) {
		volatile uint8_t *p = page_at(base, i);
		uint64_t t0;
		bool sig;

		bus_code = -1;
		bus_addr = NULL;
		t0 = now_ns();
		sig = touch_sigbus(p);
		rt[i] = now_ns() - t0;
		if (!sig) {
			t->nosig++;
			continue;
		}
		if (bus_code == BUS_MCEERR_AR)
			t->mceerr_ar++;
		else if (bus_code == BUS_ADRERR)
			t->adrerr++;
		else
			t->other++;
		t->addr_mismatch += bus_addr != (void *)p;
	}
}

static void print_tally(const char *name, const struct bus_tally *t)
{
	printf("  %s: BUS_MCEERR_AR %zu, BUS_ADRERR %zu, other %zu, "
	       "no signal %zu, si_addr != page %zu\n", name, t->mceerr_ar,
	       t->adrerr, t->other, t->nosig, t->addr_mismatch);
}

/*
 * With CONFIG_MEMORY_FAILURE the kernel answers a poison marker with
 * BUS_MCEERR_AR and an unratelimited "MCE: Killing ..." pr_err per fault;
 * without it, plain BUS_ADRERR.  Cap the sample count in the first case.
 */
#define POISON_PRINTK_CAP 2000

static void case_poison(void)
{
	uint8_t *a = slice(9), *b = slice(10);
	size_t n = npages, poison_faults, retouch_missing;
	uint64_t *pz = samples(n), *rt1 = samples(n), *rt2 = samples(n);
	int code0, lsb0, code1;
	void *addr0;
	struct bus_tally t1, t2;
	struct sigaction sa = { .sa_sigaction = bus_handler,
				.sa_flags = SA_SIGINFO | SA_NODEFER };
	struct sigaction old;
	struct handler h;
	int r, fd;

	printf("\n[5] UFFDIO_POISON (UFFD_FEATURE_POISON)\n");
	if (!(api_features & UFFD_FEATURE_POISON)) {
		printf("  skipped: UFFD_FEATURE_POISON not offered\n");
		return;
	}
	fd = uffd_open(UFFD_FEATURE_POISON);
	if (fd < 0) {
		note_err("UFFDIO_API(POISON)", errno);
		return;
	}
	uffd_register(fd, a, SLICE_SZ, UFFDIO_REGISTER_MODE_MISSING,
		      1ULL << _UFFDIO_POISON);
	uffd_register(fd, b, SLICE_SZ, UFFDIO_REGISTER_MODE_MISSING,
		      1ULL << _UFFDIO_POISON);
	sigaction(SIGBUS, &sa, &old);

	/* Probe one page (the last one) to learn the si_code in use. */
	r = uffd_poison(fd, page_at(a, n - 1), PAGE_SZ);
	if (r)
		note_err("UFFDIO_POISON(probe)", -r);
	bus_code = -1;
	touch_sigbus(page_at(a, n - 1));
	code0 = bus_code; addr0 = bus_addr; lsb0 = bus_lsb;
	bus_code = -1;
	touch_sigbus(page_at(a, n - 1));        /* marker persists? */
	code1 = bus_code;
	if (code0 == BUS_MCEERR_AR && n > POISON_PRINTK_CAP)
		n = POISON_PRINTK_CAP;
	printf("  probe: si_code=%d (BUS_MCEERR_AR=%d, BUS_ADRERR=%d) "
	       "si_addr=%p (page %p) si_addr_lsb=%d; second touch si_code=%d; "
	       "%zu pages per case\n", code0, BUS_MCEERR_AR, BUS_ADRERR, addr0,
	       (void *)page_at(a, npages - 1), lsb0, code1, n);

	/* (a) pre-poisoned pages, no handler thread involved. */
	for (size_t i = 0; i < n - 1; i++) {
		uint64_t t0 = now_ns();

		r = uffd_poison(fd, page_at(a, i), PAGE_SZ);
		pz[i] = now_ns() - t0;
		if (r) {
			note_err("UFFDIO_POISON", -r);
			break;
		}
	}
	touch_poisoned(a, n, rt1, &t1);

	/* (b) handler thread answers the MISSING fault with UFFDIO_POISON. */
	handler_start(&h, fd, H_POISON, false);
	touch_poisoned(b, n, rt2, &t2);
	handler_stop(&h);
	poison_faults = h.n_missing;
	handler_free(&h);

	/* MADV_DONTNEED removes the poison marker: next touch is MISSING. */
	drop(a, PAGE_SZ);
	handler_start(&h, fd, H_COPY, false);
	bus_code = -1;
	touch_sigbus(a);
	handler_stop(&h);
	retouch_missing = h.n_missing;
	handler_free(&h);
	sigaction(SIGBUS, &old, NULL);

	report("UFFDIO_POISON ioctl (1 page, no fault pending)", pz, n - 1, 1);
	report("touch pre-poisoned page -> SIGBUS -> siglongjmp", rt1, n, 1);
	report("missing fault -> handler UFFDIO_POISON -> SIGBUS", rt2, n, 1);
	print_tally("pre-poisoned", &t1);
	print_tally("handler-poisoned", &t2);
	printf("  handler POISON resolutions %zu; after MADV_DONTNEED of a "
	       "poisoned page: MISSING faults %zu, SIGBUS %s\n", poison_faults,
	       retouch_missing, bus_code == -1 ? "no" : "yes");
	uffd_unregister(fd, a, SLICE_SZ);
	uffd_unregister(fd, b, SLICE_SZ);
	close(fd);
	drop(a, SLICE_SZ);
	drop(b, SLICE_SZ);
	free(pz); free(rt1); free(rt2);
}

/* ------------------------------------------------------------------ */
/* 6. classic mprotect(PROT_NONE) + SIGSEGV                            */

static uint8_t *segv_lo, *segv_hi;
static volatile size_t segv_count;

static void segv_handler(int sig, siginfo_t *si, void *uc)
{
	uint8_t *a = (uint8_t *)((uintptr_t)si->si_addr & ~(PAGE_SZ - 1));

	(void)uc;
	if (a < segv_lo || a >= segv_hi) {
		signal(sig, SIG_DFL);   /* genuine crash: re-fault and die */
		return;
	}
	mprotect(a, PAGE_SZ, PROT_READ | PROT_WRITE);
	memcpy(a, src_page, PAGE_SZ);
	segv_count++;
}

static void case_mprotect(void)
{
	uint8_t *base = slice(11);
	uint64_t *rt = samples(npages), *back = samples(npages),
		 *both = samples(npages);
	struct sigaction sa = { .sa_sigaction = segv_handler,
				.sa_flags = SA_SIGINFO };
	struct sigaction old;
	size_t bad = 0;

	segv_lo = base;
	segv_hi = base + SLICE_SZ;
	if (mprotect(base, SLICE_SZ, PROT_NONE))
		die("mprotect(PROT_NONE)");
	sigaction(SIGSEGV, &sa, &old);
	for (size_t i = 0; i < npages; i++) {
		volatile uint8_t *p = page_at(base, i);
		uint64_t t0 = now_ns();

		bad += *p != src_page[0];
		uint64_t t1 = now_ns();

		if (mprotect((void *)p, PAGE_SZ, PROT_NONE))
			die("mprotect back");
		uint64_t t2 = now_ns();

		rt[i] = t1 - t0;
		back[i] = t2 - t1;
		both[i] = t2 - t0;
	}
	sigaction(SIGSEGV, &old, NULL);
	printf("\n[6] classic PROT_NONE + SIGSEGV handler "
	       "(mprotect RW + memcpy 4 KiB) + mprotect(PROT_NONE) back\n");
	report("read fault round trip (signal + mprotect RW + copy)", rt,
	       npages, 1);
	report("mprotect(PROT_NONE) back (populated page)", back, npages, 1);
	report("total per page", both, npages, 1);
	printf("  SIGSEGVs %zu, content mismatches %zu\n", segv_count, bad);
	if (mprotect(base, SLICE_SZ, PROT_READ | PROT_WRITE))
		die("mprotect restore");
	drop(base, SLICE_SZ);
	free(rt); free(back); free(both);
}

/* ------------------------------------------------------------------ */

static void probe_features(void)
{
	static const struct { uint64_t bit; const char *name; } f[] = {
		{ UFFD_FEATURE_PAGEFAULT_FLAG_WP, "PAGEFAULT_FLAG_WP" },
		{ UFFD_FEATURE_EVENT_FORK, "EVENT_FORK" },
		{ UFFD_FEATURE_EVENT_REMAP, "EVENT_REMAP" },
		{ UFFD_FEATURE_EVENT_REMOVE, "EVENT_REMOVE" },
		{ UFFD_FEATURE_MISSING_HUGETLBFS, "MISSING_HUGETLBFS" },
		{ UFFD_FEATURE_MISSING_SHMEM, "MISSING_SHMEM" },
		{ UFFD_FEATURE_EVENT_UNMAP, "EVENT_UNMAP" },
		{ UFFD_FEATURE_SIGBUS, "SIGBUS" },
		{ UFFD_FEATURE_THREAD_ID, "THREAD_ID" },
		{ UFFD_FEATURE_MINOR_HUGETLBFS, "MINOR_HUGETLBFS" },
		{ UFFD_FEATURE_MINOR_SHMEM, "MINOR_SHMEM" },
		{ UFFD_FEATURE_EXACT_ADDRESS, "EXACT_ADDRESS" },
		{ UFFD_FEATURE_WP_HUGETLBFS_SHMEM, "WP_HUGETLBFS_SHMEM" },
		{ UFFD_FEATURE_WP_UNPOPULATED, "WP_UNPOPULATED" },
		{ UFFD_FEATURE_POISON, "POISON" },
		{ UFFD_FEATURE_WP_ASYNC, "WP_ASYNC" },
		{ UFFD_FEATURE_MOVE, "MOVE" },
	};
	struct uffdio_api api = { .api = UFFD_API, .features = 0 };
	int fd = uffd_new();

	if (ioctl(fd, UFFDIO_API, &api))
		die("UFFDIO_API probe");
	close(fd);
	api_features = api.features;
	printf("UFFDIO_API: features offered 0x%llx, ioctls 0x%llx\n ",
	       (unsigned long long)api.features,
	       (unsigned long long)api.ioctls);
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		printf(" %s%s", api.features & f[i].bit ? "+" : "-", f[i].name);
	if (api.features & ~((UFFD_FEATURE_MOVE << 1) - 1))
		printf(" +unknown(0x%llx)", (unsigned long long)
		       (api.features & ~((UFFD_FEATURE_MOVE << 1) - 1)));
	printf("\n");
}

int main(int argc, char **argv)
{
	double load[3] = { 0 };

	if (argc > 1)
		npages = strtoul(argv[1], NULL, 0);
	if (!npages || npages * PAGE_SZ > SLICE_SZ || npages < EVICT_BATCH) {
		fprintf(stderr, "npages must be in [%d, %lu]\n", EVICT_BATCH,
			SLICE_SZ / PAGE_SZ);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	memset(src_page, 0xa5, sizeof(src_page));
	region = mmap(NULL, REGION_SZ, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (region == MAP_FAILED)
		die("mmap 8 GiB");
	if (madvise(region, REGION_SZ, MADV_NOHUGEPAGE))
		die("madvise(NOHUGEPAGE)");
	pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pagemap_fd < 0)
		die("open /proc/self/pagemap");

	getloadavg(load, 3);
	printf("uffd-faults: %zu pages x 4 KiB per case, region 8 GiB "
	       "MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE + MADV_NOHUGEPAGE; "
	       "loadavg %.2f %.2f %.2f\n", npages, load[0], load[1], load[2]);
	probe_features();

	case_baseline();
	case_missing(2, H_COPY, false, "UFFDIO_COPY 4 KiB");
	case_missing(3, H_COPY, true, "UFFDIO_COPY 4 KiB");
	case_missing(4, H_ZEROPAGE, false, "UFFDIO_ZEROPAGE");
	case_missing(5, H_ZEROPAGE, true, "UFFDIO_ZEROPAGE");
	case_wp_sync();
	case_wp_async();
	case_evict();
	case_poison();
	case_mprotect();

	getloadavg(load, 3);
	printf("\ndone; loadavg %.2f %.2f %.2f\n", load[0], load[1], load[2]);
	return 0;
}
