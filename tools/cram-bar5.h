/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The vendor register block (BAR 5) of the first cxl-cram (PCI
 * 1b36:00cc) in a guest, mapped through sysfs: shared by the guest tools
 * that read the device's figures (cram-stress, cram-mce).
 */
#ifndef CRAM_BAR5_H
#define CRAM_BAR5_H

#include <fcntl.h>
#include <glob.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define CRAM_VENDOR		"0x1b36"
#define CRAM_DEVICE		"0x00cc"
#define CRAM_BAR5_SIZE		4096

/* The vendor register block of the first cxl-cram, mapped; NULL if none */
static uint64_t *map_regs(void)
{
	char path[300], id[16];
	uint64_t *regs = NULL;
	glob_t g;
	size_t i;
	FILE *f;
	int fd, match;

	if (glob("/sys/bus/pci/devices/*", 0, NULL, &g))
		return NULL;
	for (i = 0; i < g.gl_pathc && !regs; i++) {
		match = 0;
		snprintf(path, sizeof(path), "%s/vendor", g.gl_pathv[i]);
		f = fopen(path, "r");
		if (f && fscanf(f, "%15s", id) == 1 && !strcmp(id, CRAM_VENDOR))
			match++;
		if (f)
			fclose(f);
		snprintf(path, sizeof(path), "%s/device", g.gl_pathv[i]);
		f = fopen(path, "r");
		if (f && fscanf(f, "%15s", id) == 1 && !strcmp(id, CRAM_DEVICE))
			match++;
		if (f)
			fclose(f);
		if (match != 2)
			continue;
		snprintf(path, sizeof(path), "%s/resource5", g.gl_pathv[i]);
		fd = open(path, O_RDWR | O_SYNC);
		if (fd < 0) {
			perror(path);
			continue;
		}
		regs = mmap(NULL, CRAM_BAR5_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
			    fd, 0);
		if (regs == MAP_FAILED) {
			perror(path);
			regs = NULL;
		}
		close(fd);
	}
	globfree(&g);
	return regs;
}

#endif /* CRAM_BAR5_H */
