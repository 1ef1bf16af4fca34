// SPDX-License-Identifier: GPL-2.0-only
/*
 * cram-info: the cxl-cram memory devices of a guest and their figures.
 *
 *   cram-info [-j] [-p] [-m MEMDEV]
 *
 * libcxl enumerates the memdevs and gives their name, serial, RAM size and
 * host PCI device.  A memdev is a cxl-cram when that PCI function is
 * 1b36:00cc.  The compression and media figures come from the cxl_cram
 * driver's class device /sys/class/cxl_cram/cramN (the one whose `memdev`
 * names the memdev).  -p also lists the device's poison records: libcxl
 * triggers the kernel's Get Poison List, and the records come back as
 * cxl_poison trace events, read from a private tracefs instance.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cxl/libcxl.h>

#define CRAM_VENDOR	0x1b36
#define CRAM_DEVICE	0x00cc
#define CRAM_CLASS	"/sys/class/cxl_cram"
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* Driver attributes shown, in output order (docs/driver.md) */
static const char * const figures[] = {
	"media_size", "media_used", "media_free", "logical_capacity",
	"logical_held", "headroom_pages", "low_watermark", "high_watermark",
	"dropped_writes", "poisoned_pages", "poisoned_reads", "machine_checks",
};

struct poison_rec {
	unsigned long long dpa, len, hpa;
	char source[32];
};

struct poison_list {
	struct poison_rec *recs;
	size_t nr;
	int err;		/* 0, or the negative errno of the trigger */
	int lost;		/* the trace buffer overflowed */
};

static const char *prog = "cram-info";

static void help(FILE *f)
{
	fprintf(f, "usage: %s [-j|--json] [-p|--poison] [-m|--memdev MEMDEV]\n"
		"  -j, --json     JSON output (an array, one object per device)\n"
		"  -p, --poison   also list poison records (Get Poison List, root)\n"
		"  -m, --memdev   only MEMDEV (e.g. mem0); an error if it is not a cxl-cram\n",
		prog);
}

/* The first line of a sysfs file, without its newline; -errno on failure */
static int read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	int rc = 0;

	buf[0] = '\0';
	if (!f)
		return -errno;
	if (!fgets(buf, len, f))
		rc = ferror(f) ? -EIO : -ENODATA;
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return rc;
}

static int write_str(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");
	int rc = 0;

	if (!f)
		return -errno;
	if (fputs(s, f) < 0)
		rc = -errno;
	if (fclose(f) && !rc)
		rc = -errno;
	return rc;
}

/*
 * libcxl has no PCI ID accessor: cxl_memdev_get_host() names the PCI
 * function, and its vendor/device come from sysfs.
 */
static int is_cram(struct cxl_memdev *memdev)
{
	const char *host = cxl_memdev_get_host(memdev);
	char path[PATH_MAX], buf[32];
	unsigned long vendor, device;

	if (!host)
		return 0;
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor", host);
	if (read_line(path, buf, sizeof(buf)))
		return 0;
	vendor = strtoul(buf, NULL, 0);
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device", host);
	if (read_line(path, buf, sizeof(buf)))
		return 0;
	device = strtoul(buf, NULL, 0);
	return vendor == CRAM_VENDOR && device == CRAM_DEVICE;
}

/* The driver's class device for @devname (cramN), or 0 if there is none */
static int find_cram(const char *devname, char *name, size_t len)
{
	DIR *dir = opendir(CRAM_CLASS);
	char path[PATH_MAX], buf[64];
	struct dirent *de;
	int found = 0;

	if (!dir)
		return 0;		/* the driver is not loaded */
	while (!found && (de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), CRAM_CLASS "/%s/memdev", de->d_name);
		if (read_line(path, buf, sizeof(buf)) || strcmp(buf, devname))
			continue;
		snprintf(name, len, "%s", de->d_name);
		found = 1;
	}
	closedir(dir);
	return found;
}

/* A driver attribute of @cram, "?" when it cannot be read */
static const char *cram_attr(const char *cram, const char *attr, char *buf,
			     size_t len)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), CRAM_CLASS "/%s/%s", cram, attr);
	if (read_line(path, buf, len))
		snprintf(buf, len, "?");
	return buf;
}

/* "key=value" of a trace line; copies the value up to the next space */
static int trace_field(const char *line, const char *key, char *val, size_t len)
{
	size_t klen = strlen(key);
	const char *p = line;

	while ((p = strstr(p, key))) {
		if ((p == line || p[-1] == ' ') && p[klen] == '=') {
			p += klen + 1;
			snprintf(val, len, "%.*s", (int)strcspn(p, "\n "), p);
			return 1;
		}
		p += klen;
	}
	return 0;
}

static const char *tracefs(void)
{
	static const char * const dirs[] = {
		"/sys/kernel/tracing", "/sys/kernel/debug/tracing",
	};
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(dirs); i++) {
		snprintf(path, sizeof(path), "%s/instances", dirs[i]);
		if (!access(path, W_OK))
			return dirs[i];
	}
	return NULL;
}

/* Parse the instance's trace: the cxl_poison events of @devname */
static void collect_poison(const char *trace, const char *devname,
			   struct poison_list *pl)
{
	unsigned long in_buf, written;
	char line[1024], val[64];
	FILE *f = fopen(trace, "r");

	if (!f) {
		pl->err = -errno;
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		struct poison_rec *r;

		if (sscanf(line, "# entries-in-buffer/entries-written: %lu/%lu",
			   &in_buf, &written) == 2 && in_buf != written)
			pl->lost = 1;
		if (line[0] == '#' || !strstr(line, " cxl_poison: "))
			continue;
		if (!trace_field(line, "memdev", val, sizeof(val)) ||
		    strcmp(val, devname))
			continue;
		r = realloc(pl->recs, (pl->nr + 1) * sizeof(*r));
		if (!r) {
			pl->err = -ENOMEM;
			break;
		}
		pl->recs = r;
		r += pl->nr++;
		memset(r, 0, sizeof(*r));
		if (trace_field(line, "dpa", val, sizeof(val)))
			r->dpa = strtoull(val, NULL, 0);
		if (trace_field(line, "dpa_length", val, sizeof(val)))
			r->len = strtoull(val, NULL, 0);
		r->hpa = ULLONG_MAX;
		if (trace_field(line, "hpa", val, sizeof(val)))
			r->hpa = strtoull(val, NULL, 0);
		trace_field(line, "source", r->source, sizeof(r->source));
	}
	fclose(f);
}

/*
 * The device's poison list.  trixie's libcxl (ndctl 81) can only trigger
 * the kernel's Get Poison List, whose records go to the cxl_poison trace
 * event; raw mailbox commands are disabled in Debian's kernel.  A private
 * tracefs instance keeps the global trace buffer untouched.
 */
static void get_poison(struct cxl_memdev *memdev, struct poison_list *pl)
{
	const char *devname = cxl_memdev_get_devname(memdev);
	const char *tdir = tracefs();
	char inst[PATH_MAX], path[PATH_MAX + 64];
	int rc;

	memset(pl, 0, sizeof(*pl));
	if (!tdir) {
		pl->err = -ENOENT;
		return;
	}
	snprintf(inst, sizeof(inst), "%s/instances/cram-info.%d", tdir,
		 (int)getpid());
	if (mkdir(inst, 0750)) {
		pl->err = -errno;
		return;
	}
	snprintf(path, sizeof(path), "%s/events/cxl/cxl_poison/enable", inst);
	rc = write_str(path, "1");
	if (!rc)
		rc = cxl_memdev_trigger_poison_list(memdev);
	write_str(path, "0");
	if (rc) {
		pl->err = rc;
	} else {
		snprintf(path, sizeof(path), "%s/trace", inst);
		collect_poison(path, devname, pl);
	}
	rmdir(inst);
}

/* Text: one "name value" line per figure */
static void print_text(struct cxl_memdev *memdev, const char *cram,
		       struct poison_list *pl)
{
	char buf[256];
	size_t i;

	printf("%s\n", cxl_memdev_get_devname(memdev));
	printf("  %-17s %s (%04x:%04x)\n", "host",
	       cxl_memdev_get_host(memdev), CRAM_VENDOR, CRAM_DEVICE);
	printf("  %-17s %llu\n", "serial", cxl_memdev_get_serial(memdev));
	printf("  %-17s %llu\n", "ram_size", cxl_memdev_get_ram_size(memdev));
	if (!cram) {
		printf("  %-17s none (cxl_cram.ko is not loaded)\n", "driver");
	} else {
		printf("  %-17s %s\n", "driver", cram);
		printf("  %-17s %s\n", "ratio",
		       cram_attr(cram, "ratio", buf, sizeof(buf)));
		cram_attr(cram, "status", buf, sizeof(buf));
		/* STATUS 0 has no words: say it */
		printf("  %-17s %s%s\n", "status", buf,
		       strchr(buf, ' ') || buf[0] == '?' ? "" : " ok");
		for (i = 0; i < ARRAY_SIZE(figures); i++)
			printf("  %-17s %s\n", figures[i],
			       cram_attr(cram, figures[i], buf, sizeof(buf)));
	}
	if (!pl)
		return;
	if (pl->err) {
		printf("  %-17s unavailable (%s)\n", "poison_records",
		       strerror(-pl->err));
		return;
	}
	printf("  %-17s %zu%s\n", "poison_records", pl->nr,
	       pl->lost ? " (trace buffer overflowed: incomplete)" : "");
	for (i = 0; i < pl->nr; i++)
		printf("    dpa %#llx length %llu source %s\n", pl->recs[i].dpa,
		       pl->recs[i].len, pl->recs[i].source);
}

/* JSON: numbers stay numbers; "inf" and "?" (unreadable) become strings */
static void json_value(const char *s)
{
	char *end;

	strtod(s, &end);
	if (*s && !*end && strcmp(s, "inf") && strcmp(s, "nan"))
		printf("%s", s);
	else
		printf("\"%s\"", s);
}

static void print_json(struct cxl_memdev *memdev, const char *cram,
		       struct poison_list *pl, int first)
{
	char buf[256], *word, *save;
	size_t i;

	printf("%s\n  {\n", first ? "[" : ",");
	printf("    \"memdev\": \"%s\",\n", cxl_memdev_get_devname(memdev));
	printf("    \"host\": \"%s\",\n", cxl_memdev_get_host(memdev));
	printf("    \"serial\": %llu,\n", cxl_memdev_get_serial(memdev));
	printf("    \"ram_size\": %llu,\n", cxl_memdev_get_ram_size(memdev));
	if (!cram) {
		printf("    \"driver\": null");
	} else {
		printf("    \"driver\": \"%s\",\n    \"ratio\": ", cram);
		json_value(cram_attr(cram, "ratio", buf, sizeof(buf)));
		/* "0x5 above_low no_alloc": a number and a list of words */
		if (!strcmp(cram_attr(cram, "status", buf, sizeof(buf)), "?"))
			snprintf(buf, sizeof(buf), "-1");
		printf(",\n    \"status\": %lld,\n    \"status_flags\": [",
		       strtoll(buf, NULL, 0));
		word = strtok_r(buf, " ", &save);
		for (i = 0; (word = strtok_r(NULL, " ", &save)); i++)
			printf("%s\"%s\"", i ? ", " : "", word);
		printf("]");
		for (i = 0; i < ARRAY_SIZE(figures); i++) {
			printf(",\n    \"%s\": ", figures[i]);
			json_value(cram_attr(cram, figures[i], buf, sizeof(buf)));
		}
	}
	if (pl && pl->err) {
		printf(",\n    \"poison_records\": null,\n"
		       "    \"poison_error\": \"%s\"", strerror(-pl->err));
	} else if (pl) {
		printf(",\n    \"poison_incomplete\": %s,\n"
		       "    \"poison_records\": [", pl->lost ? "true" : "false");
		for (i = 0; i < pl->nr; i++) {
			printf("%s\n      { \"dpa\": %llu, \"length\": %llu, ",
			       i ? "," : "", pl->recs[i].dpa, pl->recs[i].len);
			if (pl->recs[i].hpa != ULLONG_MAX)
				printf("\"hpa\": %llu, ", pl->recs[i].hpa);
			printf("\"source\": \"%s\" }", pl->recs[i].source);
		}
		printf("%s]", pl->nr ? "\n    " : "");
	}
	printf("\n  }");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "poison", no_argument, NULL, 'p' },
		{ "memdev", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ },
	};
	int json = 0, poison = 0, found = 0, named = 0, c, rc;
	const char *want = NULL;
	struct cxl_memdev *memdev;
	struct cxl_ctx *ctx;

	while ((c = getopt_long(argc, argv, "jpm:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = 1;
			break;
		case 'p':
			poison = 1;
			break;
		case 'm':
			want = optarg;
			break;
		case 'h':
			help(stdout);
			return 0;
		default:
			help(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		help(stderr);
		return 2;
	}

	rc = cxl_new(&ctx);
	if (rc) {
		fprintf(stderr, "%s: cannot open libcxl: %s\n", prog,
			strerror(-rc));
		return 1;
	}
	cxl_memdev_foreach(ctx, memdev) {
		const char *devname = cxl_memdev_get_devname(memdev);
		struct poison_list pl;
		char cram[NAME_MAX + 1];
		int have;

		if (want && strcmp(devname, want))
			continue;
		named = 1;
		if (!is_cram(memdev))
			continue;
		have = find_cram(devname, cram, sizeof(cram));
		if (poison)
			get_poison(memdev, &pl);
		if (json)
			print_json(memdev, have ? cram : NULL,
				   poison ? &pl : NULL, !found);
		else
			print_text(memdev, have ? cram : NULL,
				   poison ? &pl : NULL);
		if (poison)
			free(pl.recs);
		found++;
	}
	cxl_unref(ctx);

	if (!found) {
		if (want && !named)
			fprintf(stderr, "%s: no CXL memdev named '%s'\n", prog, want);
		else if (want)
			fprintf(stderr, "%s: %s is not a cxl-cram (PCI %04x:%04x)\n",
				prog, want, CRAM_VENDOR, CRAM_DEVICE);
		else
			fprintf(stderr, "%s: no cxl-cram memdev found\n", prog);
		return 1;
	}
	if (json)
		printf("\n]\n");
	return 0;
}
