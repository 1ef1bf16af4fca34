// SPDX-License-Identifier: GPL-2.0-only
/*
 * cram-hog: an anonymous-memory workload that exceeds the guest's DRAM,
 * so that the kernel swaps it out through zswap, then verifies it.
 *
 *   cram-hog MIB PATTERN [PASSES [pageout] [stop]]
 *
 * Fills MIB MiB of anonymous memory page by page (PATTERN: "text",
 * compressible about 8:1, or "random", incompressible), keeps a 64-bit
 * FNV-1a checksum of every page, then reads everything back PASSES times
 * (default 1) and compares the checksums.  With "pageout", it pushes its
 * own pages out with MADV_PAGEOUT once they are filled, so that only its
 * pages go to swap and nothing else in the guest has to (a MIB that fits
 * in RAM is enough).  With "stop", it stops itself (SIGSTOP) between
 * filling and verifying, so that the caller can sample the system while
 * all of it is held, then resume it with SIGCONT.
 * It prints key=value lines:
 *   hog.filled=N [hog.paged_out=N] hog.pages=N hog.verified=N
 *   hog.mismatched=N
 * and exits 0 when every page matched, 1 otherwise.  A page that the
 * kernel could not bring back (poison) kills it with SIGBUS: the caller
 * sees exit status 135.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT	21	/* Linux 5.4; older libc headers lack it */
#endif

#define PAGE	4096u
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static const char * const words[] = {
	"compressed", "memory", "expander", "zswap", "private", "node",
	"verdict", "watermark", "media", "ratio", "page", "poison",
};

static uint64_t fnv1a(const unsigned char *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Words chosen by a per-page generator: compresses about 8:1 */
static void fill_text(unsigned char *p, uint64_t seed)
{
	size_t off = 0, len;
	const char *w;
	char num[24];

	len = snprintf(num, sizeof(num), "[page %llu] ",
		       (unsigned long long)seed);
	memcpy(p, num, len);
	off = len;
	while (off < PAGE) {
		w = words[xorshift(&seed) % ARRAY_SIZE(words)];
		len = strlen(w);
		if (off + len + 1 > PAGE)
			len = PAGE - off - 1;
		memcpy(p + off, w, len);
		off += len;
		p[off++] = ' ';
	}
}

static void fill_random(unsigned char *p, uint64_t seed)
{
	uint64_t v;
	size_t i;

	for (i = 0; i < PAGE; i += sizeof(v)) {
		v = xorshift(&seed);
		memcpy(p + i, &v, sizeof(v));
	}
}

/* Pages of [mem, mem + pages * PAGE) that are not resident */
static long not_resident(unsigned char *mem, unsigned long pages)
{
	unsigned char *vec = malloc(pages);
	unsigned long i;
	long n = 0;

	if (!vec || mincore(mem, pages * PAGE, vec)) {
		free(vec);
		return -1;
	}
	for (i = 0; i < pages; i++)
		n += !(vec[i] & 1);
	free(vec);
	return n;
}

int main(int argc, char **argv)
{
	unsigned long mib, pages, i, bad = 0, pass, passes = 1;
	int random, stop = 0, pageout = 0, a;
	unsigned char *mem;
	uint64_t *sums;

	for (a = 4; a < argc; a++) {
		if (!strcmp(argv[a], "stop"))
			stop = 1;
		else if (!strcmp(argv[a], "pageout"))
			pageout = 1;
		else
			argc = 0;
	}
	if (argc < 3) {
		fprintf(stderr,
			"usage: cram-hog MIB text|random [PASSES [pageout] [stop]]\n");
		return 2;
	}
	mib = strtoul(argv[1], NULL, 0);
	random = !strcmp(argv[2], "random");
	if (!mib || (!random && strcmp(argv[2], "text"))) {
		fprintf(stderr, "cram-hog: bad size or pattern\n");
		return 2;
	}
	if (argc >= 4)
		passes = strtoul(argv[3], NULL, 0);
	pages = mib * (1024 * 1024 / PAGE);
	mem = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	sums = calloc(pages, sizeof(*sums));
	if (mem == MAP_FAILED || !sums) {
		perror("cram-hog: allocation");
		return 2;
	}
	for (i = 0; i < pages; i++) {
		/* seeds are never 0: xorshift would stay at 0 */
		if (random)
			fill_random(mem + i * PAGE, i * 0x9e3779b97f4a7c15ull + 1);
		else
			fill_text(mem + i * PAGE, i + 1);
		sums[i] = fnv1a(mem + i * PAGE, PAGE);
	}
	printf("hog.filled=%lu\n", pages);
	if (pageout) {
		if (madvise(mem, pages * PAGE, MADV_PAGEOUT)) {
			perror("cram-hog: madvise(MADV_PAGEOUT)");
			return 2;
		}
		printf("hog.paged_out=%ld\n", not_resident(mem, pages));
	}
	fflush(stdout);
	if (stop)
		raise(SIGSTOP);
	for (pass = 0; pass < passes; pass++)
		for (i = 0; i < pages; i++)
			if (fnv1a(mem + i * PAGE, PAGE) != sums[i])
				bad++;
	printf("hog.pages=%lu\nhog.verified=%lu\nhog.mismatched=%lu\n",
	       pages, pages * passes - bad, bad);
	return bad ? 1 : 0;
}
