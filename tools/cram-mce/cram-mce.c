// SPDX-License-Identifier: GPL-2.0-only
/*
 * cram-mce: a guest process's loads of cxl-cram memory that may be
 * poisoned, and the device's counters, for the machine-check tests
 * (tools/cram-mce/test.sh).
 *
 *   cram-mce read DEV OFFSET     map DEV (device-dax) and load the 8 bytes
 *                                at OFFSET; prints read.sigbus=0|1 and,
 *                                without one, read.value=0x...; on SIGBUS
 *                                also read.si_code and read.addr_lsb
 *   cram-mce storm DEV OFFSET COUNT STRIDE
 *                                load 8 bytes at OFFSET, OFFSET + STRIDE,
 *                                ... (COUNT loads), going on after each
 *                                SIGBUS; prints storm.ar (SIGBUS with
 *                                BUS_MCEERR_AR), storm.other (other
 *                                SIGBUS) and storm.data (loads that
 *                                returned data)
 *   cram-mce fill DEV OFFSET LEN write LEN bytes of compressible data (no
 *                                zero or same-filled page) at OFFSET, read
 *                                them back; prints fill.bad, the words
 *                                that did not read back
 *   cram-mce reg OFFSET          print one vendor register (BAR 5) in
 *                                decimal
 *   cram-mce wait-reg OFFSET MIN SECONDS
 *                                wait until the register reaches MIN, for
 *                                at most SECONDS; exit 1 on timeout
 *
 * Exit status 0 when the command did what it says (a SIGBUS included),
 * 1 on a timeout, 2 on a usage or setup error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>

#include "../cram-bar5.h"

#define MAP_ALIGN	(2ul << 20)	/* device-dax alignment */

static sigjmp_buf on_bus;
static volatile sig_atomic_t bus_code, bus_lsb;

static void bus_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	bus_code = si->si_code;
	bus_lsb = si->si_addr_lsb;
	siglongjmp(on_bus, 1);
}

/* Map the 2 MiB-aligned part of DEV that holds [off, off + len). */
static uint8_t *map_span(const char *dev, unsigned long off, unsigned long len,
			 unsigned long *base)
{
	unsigned long end = off + len;
	struct sigaction sa = { 0 };
	uint8_t *map;
	int fd;

	*base = off & ~(MAP_ALIGN - 1);
	end = (end + MAP_ALIGN - 1) & ~(MAP_ALIGN - 1);
	fd = open(dev, O_RDWR);
	if (fd < 0) {
		perror(dev);
		return NULL;
	}
	map = mmap(NULL, end - *base, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		   *base);
	close(fd);
	if (map == MAP_FAILED) {
		perror("mmap");
		return NULL;
	}
	sa.sa_sigaction = bus_handler;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGBUS, &sa, NULL);
	return map;
}

static int cmd_read(const char *dev, unsigned long off)
{
	volatile uint64_t *p;
	unsigned long base;
	uint8_t *map;
	uint64_t v;

	map = map_span(dev, off, 8, &base);
	if (!map)
		return 2;
	p = (volatile uint64_t *)(map + ((off - base) & ~7ul));
	if (sigsetjmp(on_bus, 1)) {
		printf("read.sigbus=1\nread.si_code=%d\nread.addr_lsb=%d\n",
		       (int)bus_code, (int)bus_lsb);
		return 0;
	}
	v = *p;
	printf("read.sigbus=0\nread.value=0x%016llx\n", (unsigned long long)v);
	return 0;
}

/*
 * Back-to-back loads of poison: run on each CPU at once, they give the
 * device a machine check to raise while another CPU's handler is still
 * finishing.
 */
static int cmd_storm(const char *dev, unsigned long off, unsigned long count,
		     unsigned long stride)
{
	volatile unsigned long ar = 0, other = 0, data = 0, i = 0;
	unsigned long base;
	uint8_t *map;

	if (!count || !stride)
		return 2;
	map = map_span(dev, off, (count - 1) * stride + 8, &base);
	if (!map)
		return 2;
	if (sigsetjmp(on_bus, 1)) {
		if (bus_code == BUS_MCEERR_AR)
			ar++;
		else
			other++;
		i++;
	}
	for (; i < count; i++) {
		(void)*(volatile uint64_t *)(map + ((off - base + i * stride) &
						    ~7ul));
		data++;
	}
	printf("storm.ar=%lu\nstorm.other=%lu\nstorm.data=%lu\n", ar, other,
	       data);
	return 0;
}

/* Word @i of the fill: its page number and a short repeating run */
static uint64_t fill_word(unsigned long i)
{
	return (uint64_t)(i / 512) << 32 | (i % 16);
}

static int cmd_fill(const char *dev, unsigned long off, unsigned long len)
{
	unsigned long base, i, n = len / 8, bad = 0;
	volatile uint64_t *p;
	uint8_t *map;

	if (!n || off % 8)
		return 2;
	map = map_span(dev, off, len, &base);
	if (!map)
		return 2;
	p = (volatile uint64_t *)(map + (off - base));
	for (i = 0; i < n; i++)
		p[i] = fill_word(i);
	for (i = 0; i < n; i++)
		bad += p[i] != fill_word(i);
	printf("fill.bad=%lu\n", bad);
	return 0;
}

static uint64_t reg(unsigned long off)
{
	static uint64_t *regs;

	if (!regs)
		regs = map_regs();
	if (!regs) {
		fprintf(stderr, "cram-mce: no cxl-cram register block\n");
		exit(2);
	}
	return __atomic_load_n(&regs[off / 8], __ATOMIC_RELAXED);
}

static int cmd_wait_reg(unsigned long off, uint64_t min, unsigned int secs)
{
	struct timespec tick = { 0, 50 * 1000 * 1000 };
	unsigned int i;

	for (i = 0; i < secs * 20; i++) {
		if (reg(off) >= min)
			return 0;
		nanosleep(&tick, NULL);
	}
	fprintf(stderr, "cram-mce: register 0x%lx below %llu after %u s\n",
		off, (unsigned long long)min, secs);
	return 1;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "read"))
		return cmd_read(argv[2], strtoul(argv[3], NULL, 0));
	if (argc == 6 && !strcmp(argv[1], "storm"))
		return cmd_storm(argv[2], strtoul(argv[3], NULL, 0),
				 strtoul(argv[4], NULL, 0),
				 strtoul(argv[5], NULL, 0));
	if (argc == 5 && !strcmp(argv[1], "fill"))
		return cmd_fill(argv[2], strtoul(argv[3], NULL, 0),
				strtoul(argv[4], NULL, 0));
	if (argc == 3 && !strcmp(argv[1], "reg")) {
		printf("%llu\n",
		       (unsigned long long)reg(strtoul(argv[2], NULL, 0)));
		return 0;
	}
	if (argc == 5 && !strcmp(argv[1], "wait-reg"))
		return cmd_wait_reg(strtoul(argv[2], NULL, 0),
				    strtoull(argv[3], NULL, 0),
				    strtoul(argv[4], NULL, 0));
	fprintf(stderr, "usage: cram-mce read DEV OFFSET | "
		"storm DEV OFFSET COUNT STRIDE | fill DEV OFFSET LEN | "
		"reg OFFSET | "
		"wait-reg OFFSET MIN SECONDS\n");
	return 2;
}
