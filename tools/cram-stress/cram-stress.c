// SPDX-License-Identifier: GPL-2.0-only
/*
 * cram-stress: concurrent writers and readers on a cxl-cram device through
 * a device-dax mapping, with every page verified at the end.
 *
 *   cram-stress [-d DEV] [-t THREADS] [-o OWNED_PAGES] [-s SHARED_PAGES]
 *               [-r ROUNDS] [-S SEED] [-f]
 *
 * The mapping (DEV, default /dev/dax0.0, from offset 0) holds two zones:
 *  - owned pages: page i belongs to thread i % THREADS, interleaved so that
 *    neighbouring pages have different writers.  Each round, the owner
 *    writes each of its pages one way: a whole random page or a whole
 *    text page (memcpy), zeros (memset), one repeated 64-bit word (8-byte
 *    stores), scattered 1/2/4/8-byte stores (aligned and not), or only
 *    reads it back and compares.  It keeps a shadow copy of its pages.
 *  - shared pages: every thread writes every shared page each round, and
 *    owns the 64-bit words w with w % THREADS == its number; it stores
 *    them with 8, 4, 2 or 1-byte stores.  A page's final content is
 *    deterministic: per round, a page is zero, one repeated word, or each
 *    thread's own word.
 * Threads also read pages of the other threads while those are written.
 * Owned plus shared pages should exceed the device's cache (cache-size,
 * default 8 MiB) so that it evicts and its worker compresses meanwhile.
 * Each thread is pinned to CPU (number % CPUs online).
 *
 * At the end every page is compared with its expected content, and the
 * pages are counted by the class the device must hold them in: zero, one
 * repeated word ("same"), compressible, random (stored raw).  With -f the
 * device's CACHE_FLUSH register (BAR 5 of PCI 1b36:00cc, through sysfs) is
 * written, then its figures are read back.  Output: key=value lines,
 * stress.*, expect.* and (-f) reg.*.  Exit status 0 when every page
 * matched, 1 on a mismatch, 2 on a usage or setup error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <glob.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "../cram-bar5.h"

#define PAGE		4096u
#define WORDS		(PAGE / 8)
#define MAP_ALIGN	(2u << 20)	/* device-dax alignment */
#define MAX_THREADS	64
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define MAX_REPORT	8		/* mismatches described on stderr */

/* cxl-cram vendor registers (docs/registers.md) */
#define REG_MEDIA_USED		0x020
#define REG_LOGICAL_HELD	0x030
#define REG_STORED_BYTES	0x038
#define REG_MEDIA_RESERVED	0x048
#define REG_PAGES_ZERO		0x050
#define REG_PAGES_SAME		0x058
#define REG_PAGES_COMP		0x060
#define REG_PAGES_RAW		0x068
#define REG_DROPPED_WRITES	0x080
#define REG_POISONED_PAGES	0x098
#define REG_CACHE_DIRTY		0x0f8
#define REG_CACHE_FLUSH		0x148

enum { CLS_ZERO, CLS_SAME, CLS_COMP, CLS_RAW, CLS_MAX };
static const char * const cls_name[CLS_MAX] = {
	"zero", "same", "compressed", "raw",
};

/* What a round does to one owned page */
enum {
	OP_RANDOM, OP_TEXT, OP_ZERO, OP_SAME, OP_SMALL, OP_READ,
};

/* What a round makes of one shared page, the same in every thread */
enum { SH_ZERO, SH_SAME, SH_WORDS };

struct worker {
	pthread_t tid;
	unsigned int n;			/* thread number */
	unsigned long pages;		/* owned pages */
	unsigned char *shadow;		/* their expected content */
	unsigned char *rnd;		/* per page: holds random data */
	int cpu;			/* where it ran at the end */
	/* figures */
	unsigned long copies, small, fills, reads, early_bad, foreign;
};

static unsigned int nthreads = 4, rounds = 3;
static unsigned long owned = 4096, shared = 256;
static uint64_t seed = 1;
static unsigned char *dev;
static pthread_barrier_t barrier;
static struct worker workers[MAX_THREADS];

static uint64_t mix(uint64_t x)
{
	/* splitmix64 finalizer */
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint64_t hash3(uint64_t a, uint64_t b, uint64_t c)
{
	return mix(seed ^ mix(a ^ mix(b ^ mix(c))));
}

static uint64_t next(uint64_t *s)
{
	*s = mix(*s);
	return *s;
}

static unsigned char *page_at(unsigned long page)
{
	return dev + (size_t)page * PAGE;
}

/* Incompressible: the device stores it raw */
static void gen_random(unsigned char *p, uint64_t s)
{
	uint64_t v;
	unsigned int i;

	for (i = 0; i < PAGE; i += 8) {
		v = next(&s);
		memcpy(p + i, &v, 8);
	}
}

/* Lines of text with a few varying digits: compresses well */
static void gen_text(unsigned char *p, uint64_t s)
{
	static const char * const verbs[] = {
		"stores", "loads", "compresses", "evicts", "verifies",
		"flushes", "reads", "writes",
	};
	unsigned int off = 0;
	int len;
	char line[96];

	while (off < PAGE) {
		len = snprintf(line, sizeof(line),
			       "vcpu %u %s page %05u of the device\n",
			       (unsigned int)(s & 3), verbs[(s >> 2) & 7],
			       (unsigned int)((s >> 5) % 100000));
		if (off + len > PAGE)
			len = PAGE - off;
		memcpy(p + off, line, len);
		off += len;
		next(&s);
	}
}

static int page_class(const unsigned char *p, int rnd)
{
	uint64_t first, w;
	unsigned int i;

	memcpy(&first, p, 8);
	for (i = 8; i < PAGE; i += 8) {
		memcpy(&w, p + i, 8);
		if (w != first)
			return rnd ? CLS_RAW : CLS_COMP;
	}
	return first ? CLS_SAME : CLS_ZERO;
}

/* Fill a device page with one word, by 8-byte stores */
static void fill_words(unsigned char *p, uint64_t v)
{
	uint64_t *w = (uint64_t *)p;
	unsigned int i;

	for (i = 0; i < WORDS; i++)
		__atomic_store_n(&w[i], v, __ATOMIC_RELAXED);
}

/*
 * One store of exactly 1, 2, 4 or 8 bytes at @off, aligned to its size or
 * not: one mov instruction, which the compiler can neither merge with
 * its neighbours nor split.
 */
static void store_small(unsigned char *p, unsigned int off,
			unsigned int size, uint64_t v)
{
	void *a = p + off;

	switch (size) {
	case 1:
		asm volatile("movb %b1, %0" : "=m"(*(uint8_t *)a) : "q"(v));
		break;
	case 2:
		asm volatile("movw %w1, %0" : "=m"(*(uint16_t *)a) : "r"(v));
		break;
	case 4:
		asm volatile("movl %k1, %0" : "=m"(*(uint32_t *)a) : "r"(v));
		break;
	default:
		asm volatile("movq %1, %0" : "=m"(*(uint64_t *)a) : "r"(v));
		break;
	}
}

static void report(const char *what, unsigned long page,
		   const unsigned char *got, const unsigned char *want)
{
	static unsigned int reported;
	unsigned int i;

	if (__atomic_fetch_add(&reported, 1, __ATOMIC_RELAXED) >= MAX_REPORT)
		return;
	for (i = 0; i < PAGE && got[i] == want[i]; i++)
		;
	fprintf(stderr,
		"cram-stress: %s: page %lu differs at byte %u: 0x%02x, expected 0x%02x\n",
		what, page, i, got[i], want[i]);
}

/* Copy a device page out and compare it; returns 1 on a mismatch */
static int check_page(const char *what, unsigned long page,
		      const unsigned char *want)
{
	unsigned char buf[PAGE];

	memcpy(buf, page_at(page), PAGE);
	if (!memcmp(buf, want, PAGE))
		return 0;
	report(what, page, buf, want);
	return 1;
}

static int shared_kind(unsigned long page, unsigned int round)
{
	uint64_t h = hash3(page, round, 0x5a);

	return h % 5 == 0 ? SH_ZERO : h % 5 == 1 ? SH_SAME : SH_WORDS;
}

/* The value of word @w of shared page @page after round @round */
static uint64_t shared_word(unsigned long page, unsigned int w,
			    unsigned int round)
{
	uint64_t base = hash3(page, round, 0xa5) | 0x100;

	switch (shared_kind(page, round)) {
	case SH_ZERO:
		return 0;
	case SH_SAME:
		return base;
	default:
		/* one value per thread: not same-filled, compressible */
		return (base & ~0xffull) + w % nthreads;
	}
}

static unsigned long gcd(unsigned long a, unsigned long b)
{
	unsigned long t;

	while (b) {
		t = a % b;
		a = b;
		b = t;
	}
	return a;
}

/* Owned page: local index j of thread n is global page j * threads + n */
static unsigned long owned_page(const struct worker *me, unsigned long j)
{
	return j * nthreads + me->n;
}

static void owned_round(struct worker *me, unsigned int round)
{
	unsigned char buf[PAGE];
	unsigned long j, k, stride = 7;
	unsigned int i, off, size, op;
	uint64_t s, v;

	/* a stride coprime with the count: every page, not in order */
	while (gcd(me->pages, stride) != 1)
		stride += 2;
	for (k = 0; k < me->pages; k++) {
		unsigned char *sh, *p;
		unsigned long page;

		j = k * stride % me->pages;
		page = owned_page(me, j);
		p = page_at(page);
		sh = me->shadow + j * PAGE;
		s = hash3(page, round, 1);
		op = next(&s) % 20;
		op = op < 4 ? OP_RANDOM : op < 9 ? OP_TEXT : op < 11 ? OP_ZERO :
		     op < 13 ? OP_SAME : op < 18 ? OP_SMALL : OP_READ;
		if (round == 0 && op == OP_READ)
			op = OP_SMALL;	/* every page is written once */
		switch (op) {
		case OP_RANDOM:
		case OP_TEXT:
			if (op == OP_RANDOM)
				gen_random(buf, s);
			else
				gen_text(buf, s);
			memcpy(p, buf, PAGE);
			memcpy(sh, buf, PAGE);
			me->rnd[j] = op == OP_RANDOM;
			me->copies++;
			break;
		case OP_ZERO:
			memset(p, 0, PAGE);
			memset(sh, 0, PAGE);
			me->rnd[j] = 0;
			me->fills++;
			break;
		case OP_SAME:
			v = next(&s) | 1;
			fill_words(p, v);
			for (i = 0; i < WORDS; i++)
				memcpy(sh + i * 8, &v, 8);
			me->rnd[j] = 0;
			me->fills++;
			break;
		case OP_SMALL:
			for (i = 0; i < 24; i++) {
				v = next(&s);
				size = 1u << (v & 3);
				off = (v >> 8) % (PAGE - size + 1);
				if (v & 4)	/* aligned to its size */
					off &= ~(size - 1);
				v = next(&s);
				store_small(p, off, size, v);
				memcpy(sh + off, &v, size);
				me->small++;
			}
			break;
		default:
			break;
		}
		/* read back, at once or after the next page */
		if (op == OP_READ || (s & 0x30) == 0) {
			me->early_bad += check_page("read back", page, sh);
			me->reads++;
		}
		/* and a page of another thread, being written meanwhile */
		if ((s & 0x1c0) == 0) {
			memcpy(buf, page_at((page + 1) % owned), PAGE);
			me->foreign++;
		}
	}
}

static void shared_round(struct worker *me, unsigned int round)
{
	unsigned long page;
	unsigned int w, b, size;
	uint64_t v, got;

	for (page = owned; page < owned + shared; page++) {
		unsigned char *p = page_at(page);

		for (w = me->n; w < WORDS; w += nthreads) {
			v = shared_word(page, w, round);
			size = 8u >> ((w / nthreads + round + page) & 3);
			for (b = 0; b < 8; b += size)
				store_small(p, w * 8 + b, size, v >> (b * 8));
			me->small += 8 / size;
		}
		/* own words of a page that the others are writing */
		if ((page + round) % 16 == me->n) {
			for (w = me->n; w < WORDS; w += nthreads) {
				memcpy(&got, p + w * 8, 8);
				if (got != shared_word(page, w, round)) {
					me->early_bad++;
					break;
				}
			}
			me->reads++;
		}
	}
}

static void *worker_main(void *arg)
{
	struct worker *me = arg;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;
	unsigned int r;

	CPU_ZERO(&set);
	CPU_SET(me->n % (cpus > 0 ? cpus : 1), &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		perror("cram-stress: sched_setaffinity");
	for (r = 0; r < rounds; r++) {
		/* half the threads start with the shared pages */
		if (me->n & 1)
			shared_round(me, r);
		owned_round(me, r);
		if (!(me->n & 1))
			shared_round(me, r);
		pthread_barrier_wait(&barrier);
	}
	me->cpu = sched_getcpu();
	return NULL;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Verify everything; counts pages by class into @cls */
static unsigned long verify(unsigned long cls[CLS_MAX])
{
	unsigned char want[PAGE];
	unsigned long j, page, bad = 0;
	unsigned int n, w;
	uint64_t v;

	for (n = 0; n < nthreads; n++) {
		struct worker *me = &workers[n];

		for (j = 0; j < me->pages; j++) {
			page = owned_page(me, j);
			bad += check_page("owned", page, me->shadow + j * PAGE);
			cls[page_class(me->shadow + j * PAGE, me->rnd[j])]++;
		}
	}
	for (page = owned; page < owned + shared; page++) {
		for (w = 0; w < WORDS; w++) {
			v = shared_word(page, w, rounds - 1);
			memcpy(want + w * 8, &v, 8);
		}
		bad += check_page("shared", page, want);
		cls[page_class(want, 0)]++;
	}
	return bad;
}

static uint64_t reg(uint64_t *regs, unsigned int off)
{
	return __atomic_load_n(&regs[off / 8], __ATOMIC_RELAXED);
}

static int flush_and_report(void)
{
	static const struct {
		const char *name;
		unsigned int off;
	} figs[] = {
		{ "media_used", REG_MEDIA_USED },
		{ "logical_held", REG_LOGICAL_HELD },
		{ "stored_bytes", REG_STORED_BYTES },
		{ "media_reserved", REG_MEDIA_RESERVED },
		{ "pages_zero", REG_PAGES_ZERO },
		{ "pages_same", REG_PAGES_SAME },
		{ "pages_compressed", REG_PAGES_COMP },
		{ "pages_raw", REG_PAGES_RAW },
		{ "dropped_writes", REG_DROPPED_WRITES },
		{ "poisoned_pages", REG_POISONED_PAGES },
		{ "cache_dirty", REG_CACHE_DIRTY },
	};
	uint64_t *regs = map_regs();
	unsigned int i;

	if (!regs) {
		fprintf(stderr, "cram-stress: no cxl-cram register block\n");
		return -1;
	}
	__atomic_store_n(&regs[REG_CACHE_FLUSH / 8], 1, __ATOMIC_RELAXED);
	for (i = 0; i < ARRAY_SIZE(figs); i++)
		printf("reg.%s=%llu\n", figs[i].name,
		       (unsigned long long)reg(regs, figs[i].off));
	return 0;
}

static void print_usage(void)
{
	fprintf(stderr,
		"usage: cram-stress [-d DEV] [-t THREADS] [-o OWNED_PAGES] [-s SHARED_PAGES]\n"
		"                   [-r ROUNDS] [-S SEED] [-f]\n");
	exit(2);
}

static void start_workers(void)
{
	unsigned int n;

	pthread_barrier_init(&barrier, NULL, nthreads);
	for (n = 0; n < nthreads; n++) {
		struct worker *me = &workers[n];

		me->n = n;
		me->pages = owned / nthreads;
		me->shadow = calloc(me->pages, PAGE);
		me->rnd = calloc(me->pages, 1);
		if (!me->shadow || !me->rnd) {
			perror("cram-stress: shadow");
			exit(2);
		}
		errno = pthread_create(&me->tid, NULL, worker_main, me);
		if (errno) {
			perror("cram-stress: pthread_create");
			exit(2);
		}
	}
}

static void print_figures(double secs, unsigned long bad,
			  const unsigned long cls[CLS_MAX])
{
	unsigned long copies = 0, small = 0, fills = 0, reads = 0;
	unsigned long early = 0, foreign = 0;
	unsigned int n, c;

	printf("stress.threads=%u\nstress.cpus=", nthreads);
	for (n = 0; n < nthreads; n++) {
		printf("%s%d", n ? "," : "", workers[n].cpu);
		copies += workers[n].copies;
		small += workers[n].small;
		fills += workers[n].fills;
		reads += workers[n].reads;
		early += workers[n].early_bad;
		foreign += workers[n].foreign;
	}
	printf("\nstress.rounds=%u\nstress.seed=%llu\n", rounds,
	       (unsigned long long)seed);
	printf("stress.owned_pages=%lu\nstress.shared_pages=%lu\n", owned,
	       shared);
	printf("stress.page_copies=%lu\nstress.page_fills=%lu\n", copies,
	       fills);
	printf("stress.small_stores=%lu\nstress.read_checks=%lu\n", small,
	       reads);
	printf("stress.foreign_reads=%lu\nstress.early_mismatched=%lu\n",
	       foreign, early);
	printf("stress.verified=%lu\nstress.mismatched=%lu\n",
	       owned + shared - bad, bad);
	printf("stress.seconds=%.1f\n", secs);
	for (c = 0; c < CLS_MAX; c++)
		printf("expect.%s=%lu\n", cls_name[c], cls[c]);
	printf("expect.logical_held=%lu\n",
	       (cls[CLS_SAME] + cls[CLS_COMP] + cls[CLS_RAW]) * PAGE);
}

int main(int argc, char **argv)
{
	const char *path = "/dev/dax0.0";
	unsigned long cls[CLS_MAX] = { 0 }, bad, early = 0;
	unsigned int n;
	size_t len;
	double t0;
	int opt, fd, flush = 0;

	while ((opt = getopt(argc, argv, "d:t:o:s:r:S:f")) != -1) {
		switch (opt) {
		case 'd':
			path = optarg;
			break;
		case 't':
			nthreads = strtoul(optarg, NULL, 0);
			break;
		case 'o':
			owned = strtoul(optarg, NULL, 0);
			break;
		case 's':
			shared = strtoul(optarg, NULL, 0);
			break;
		case 'r':
			rounds = strtoul(optarg, NULL, 0);
			break;
		case 'S':
			seed = strtoull(optarg, NULL, 0);
			break;
		case 'f':
			flush = 1;
			break;
		default:
			print_usage();
		}
	}
	if (optind != argc || !nthreads || nthreads > MAX_THREADS ||
	    !rounds || owned % nthreads || !owned)
		print_usage();

	len = ((owned + shared) * PAGE + MAP_ALIGN - 1) & ~(MAP_ALIGN - 1);
	fd = open(path, O_RDWR);
	if (fd < 0) {
		perror(path);
		return 2;
	}
	dev = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (dev == MAP_FAILED) {
		perror("cram-stress: mmap");
		return 2;
	}

	t0 = now();
	start_workers();
	for (n = 0; n < nthreads; n++) {
		pthread_join(workers[n].tid, NULL);
		early += workers[n].early_bad;
	}
	bad = verify(cls);
	print_figures(now() - t0, bad, cls);
	if (flush && flush_and_report())
		return 2;
	return bad || early ? 1 : 0;
}
