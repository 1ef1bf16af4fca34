/*
 * cxl-cram engine benchmarks: the page corpus
 *
 * Synthetic pages are generated from a seed; real pages are 4 KiB images
 * of files on this machine (no network), sampled evenly through each file
 * so that headers do not dominate.  Everything is deterministic for a
 * given seed and file system.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "bench.h"

static const char *const class_names[BC__MAX] = {
    [BC_ZERO] = "zero",
    [BC_TEXT] = "text",
    [BC_STRUCT] = "struct",
    [BC_RANDOM] = "random",
    [BC_BIN] = "bin",
    [BC_LIB] = "lib",
    [BC_DOC] = "doc",
};

const char *bench_class_name(BenchClass c)
{
    return c < BC__MAX ? class_names[c] : "mixed";
}

static const char *const words[] = {
    "the", "of", "and", "to", "in", "is", "that", "for", "it", "as", "was",
    "with", "be", "by", "on", "not", "he", "this", "are", "or", "his",
    "from", "at", "which", "but", "have", "an", "had", "they", "you",
    "were", "their", "one", "all", "we", "can", "her", "has", "there",
    "been", "if", "more", "when", "will", "would", "who", "so", "no",
    "memory", "device", "page", "compressed", "kernel", "driver", "buffer",
    "request", "returns", "value", "function", "system", "process", "file",
    "error", "handler", "pointer", "address", "region", "capacity", "media",
    "throughput", "latency", "cache", "thread", "queue", "interrupt",
    "configuration", "interface", "structure", "allocation", "between",
    "because", "through", "without", "should", "however", "therefore",
};

static const char *const log_words[] = {
    "INFO", "WARN", "DEBUG", "ERROR", "GET", "POST", "PUT", "status=200",
    "status=404", "status=500", "path=/api/v1/items", "path=/login",
    "path=/static/app.js", "cache=hit", "cache=miss", "region=eu-west-1",
};

/* Appends @s to @p at *@n without passing the page end. */
static void put(uint8_t *p, size_t *n, const char *s)
{
    size_t len = MIN(strlen(s), CRAM_PAGE_SIZE - *n);

    memcpy(p + *n, s, len);
    *n += len;
}

/* Prose sentences mixed with log lines: about 2-3x with LZ4. */
static void gen_text(GRand *r, uint8_t *p)
{
    size_t n = 0;
    char buf[160];

    while (n < CRAM_PAGE_SIZE) {
        if (g_rand_boolean(r)) {
            unsigned i, len = g_rand_int_range(r, 6, 20);

            for (i = 0; i < len && n < CRAM_PAGE_SIZE; i++) {
                const char *w = words[g_rand_int_range(r, 0,
                                                       G_N_ELEMENTS(words))];
                put(p, &n, w);
                put(p, &n, i + 1 < len ? " " : ".\n");
            }
        } else {
            snprintf(buf, sizeof(buf),
                     "2024-%02d-%02dT%02d:%02d:%02d.%03dZ %s worker[%d]: "
                     "id=%08x %s %s latency_ms=%d\n",
                     g_rand_int_range(r, 1, 13), g_rand_int_range(r, 1, 29),
                     g_rand_int_range(r, 0, 24), g_rand_int_range(r, 0, 60),
                     g_rand_int_range(r, 0, 60), g_rand_int_range(r, 0, 1000),
                     log_words[g_rand_int_range(r, 0, 4)],
                     g_rand_int_range(r, 1000, 1100), g_rand_int(r),
                     log_words[g_rand_int_range(r, 4, 7)],
                     log_words[g_rand_int_range(r, 7, 16)],
                     g_rand_int_range(r, 0, 400));
            put(p, &n, buf);
        }
    }
}

/*
 * Heap objects of 64 bytes: list links and data pointers into one heap,
 * a handful of vtable-like pointers, ids, counters, hashes, timestamps.
 */
static void gen_struct(GRand *r, uint8_t *p)
{
    const uint64_t heap = 0x55d4a3c00000ULL;
    const uint64_t text = 0x7f3a12345000ULL;
    uint64_t t = 1700000000000000ULL + g_rand_int(r);
    uint32_t id = g_rand_int(r);
    size_t off;

    for (off = 0; off < CRAM_PAGE_SIZE; off += 64) {
        uint64_t q[8];
        uint32_t w[4];

        q[0] = heap + (uint64_t)g_rand_int_range(r, 0, 1 << 20) * 64;
        q[1] = heap + (uint64_t)g_rand_int_range(r, 0, 1 << 20) * 64;
        q[2] = text + (uint64_t)g_rand_int_range(r, 0, 16) * 0x40;
        w[0] = id++;
        w[1] = g_rand_int_range(r, 1, 4);
        w[2] = g_rand_int_range(r, 0, 8) | (g_rand_int(r) & 0x13) << 16;
        w[3] = g_rand_int(r);
        memcpy(&q[3], w, sizeof(w));
        t += g_rand_int_range(r, 0, 1000);
        q[5] = t;
        q[6] = g_rand_int_range(r, 0, 4) ?
               heap + (uint64_t)g_rand_int_range(r, 0, 1 << 20) * 64 : 0;
        q[7] = 0;
        memcpy(p + off, q, sizeof(q));
    }
}

static void gen_random(GRand *r, uint8_t *p)
{
    size_t i;

    for (i = 0; i < CRAM_PAGE_SIZE; i += 4) {
        guint32 v = g_rand_int(r);

        memcpy(p + i, &v, sizeof(v));
    }
}

typedef bool (*FileFilter)(const char *name);

static bool has_suffix_in(const char *name, const char *const *sfx)
{
    for (; *sfx; sfx++) {
        if (g_str_has_suffix(name, *sfx)) {
            return true;
        }
    }
    return false;
}

static bool want_any(const char *name)
{
    (void)name;
    return true;
}

static bool want_lib(const char *name)
{
    return strstr(name, ".so") != NULL;
}

static bool want_doc(const char *name)
{
    static const char *const packed[] = {
        ".gz", ".xz", ".bz2", ".zst", ".lz4", ".png", ".jpg", ".gif",
        ".pdf", ".svgz", ".woff", ".woff2", ".zip", NULL,
    };
    return !has_suffix_in(name, packed);
}

/* g_ptr_array_sort passes pointers to the elements. */
static int cmp_str_ptr(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Regular files under @dir (recursively, no symlinks), sorted. */
static void list_files(const char *dir, FileFilter want, GPtrArray *out)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    GPtrArray *names;
    const char *n;
    unsigned i;

    if (!d) {
        return;
    }
    names = g_ptr_array_new_with_free_func(g_free);
    while ((n = g_dir_read_name(d))) {
        g_ptr_array_add(names, g_strdup(n));
    }
    g_dir_close(d);
    g_ptr_array_sort(names, cmp_str_ptr);
    for (i = 0; i < names->len; i++) {
        const char *name = g_ptr_array_index(names, i);
        char *path = g_build_filename(dir, name, NULL);
        struct stat st;

        if (lstat(path, &st) < 0) {
            /* vanished or unreadable: skip */
        } else if (S_ISDIR(st.st_mode)) {
            list_files(path, want, out);
        } else if (S_ISREG(st.st_mode) && st.st_size >= CRAM_PAGE_SIZE &&
                   want(name)) {
            g_ptr_array_add(out, path);
            path = NULL;
        }
        g_free(path);
    }
    g_ptr_array_free(names, TRUE);
}

static bool is_elf(const uint8_t *p)
{
    return memcmp(p, "\177ELF", 4) == 0;
}

static bool is_text(const uint8_t *p)
{
    return memchr(p, 0, CRAM_PAGE_SIZE) == NULL;
}

/*
 * Fills @want pages at @dst from the files under @dirs, visiting the files
 * in a seeded shuffle of their sorted list, at most @per_file pages each,
 * spread evenly through the file.  Returns the pages filled.
 */
static uint32_t read_real(const char *const *dirs, FileFilter want_name,
                          bool elf, uint8_t *dst, uint32_t want,
                          uint32_t per_file, GRand *r, uint32_t *nfiles)
{
    GPtrArray *files = g_ptr_array_new_with_free_func(g_free);
    uint8_t *buf = g_malloc(CRAM_PAGE_SIZE);
    uint32_t got = 0;
    unsigned i;

    for (; *dirs; dirs++) {
        list_files(*dirs, want_name, files);
    }
    g_ptr_array_sort(files, cmp_str_ptr);
    for (i = files->len; i > 1; i--) {
        unsigned j = g_rand_int_range(r, 0, i);
        gpointer t = files->pdata[i - 1];

        files->pdata[i - 1] = files->pdata[j];
        files->pdata[j] = t;
    }

    *nfiles = 0;
    for (i = 0; i < files->len && got < want; i++) {
        int fd = open(g_ptr_array_index(files, i), O_RDONLY);
        struct stat st;
        uint64_t np, k, take;
        bool used = false;

        if (fd < 0) {
            continue;
        }
        if (fstat(fd, &st) < 0 ||
            pread(fd, buf, CRAM_PAGE_SIZE, 0) != CRAM_PAGE_SIZE ||
            (elf && !is_elf(buf))) {
            close(fd);
            continue;
        }
        np = st.st_size / CRAM_PAGE_SIZE;
        take = MIN(np, per_file);
        for (k = 0; k < take && got < want; k++) {
            off_t off = (off_t)(k * np / take) * CRAM_PAGE_SIZE;
            uint8_t *p = dst + (size_t)got * CRAM_PAGE_SIZE;

            if (pread(fd, p, CRAM_PAGE_SIZE, off) != CRAM_PAGE_SIZE) {
                break;
            }
            if (!elf && !is_text(p)) {
                continue;
            }
            got++;
            used = true;
        }
        *nfiles += used;
        close(fd);
    }
    g_free(buf);
    g_ptr_array_free(files, TRUE);
    return got;
}

BenchCorpus *bench_corpus_new(uint32_t per_class, uint32_t per_file,
                              uint32_t seed)
{
    static const char *const bin_dirs[] = { "/usr/bin", NULL };
    static const char *const lib_dirs[] = {
        "/usr/lib/x86_64-linux-gnu", NULL,
    };
    static const char *const doc_dirs[] = {
        "/usr/include", "/usr/share/doc", NULL,
    };
    BenchCorpus *c = g_new0(BenchCorpus, 1);
    GRand *r = g_rand_new_with_seed(seed);
    unsigned cl;
    uint32_t i;

    g_assert(per_class > 0 && per_file > 0);
    c->npages = per_class * BC__MAX;
    c->pages = g_aligned_alloc0(c->npages, CRAM_PAGE_SIZE, CRAM_PAGE_SIZE);
    for (cl = 0; cl <= BC__MAX; cl++) {
        c->start[cl] = cl * per_class;
    }

    for (cl = 0; cl < BC__MAX; cl++) {
        uint8_t *base = c->pages + (size_t)c->start[cl] * CRAM_PAGE_SIZE;
        uint32_t got = 0;

        switch (cl) {
        case BC_BIN:
            got = read_real(bin_dirs, want_any, true, base, per_class,
                            per_file, r, &c->files[cl]);
            break;
        case BC_LIB:
            got = read_real(lib_dirs, want_lib, true, base, per_class,
                            per_file, r, &c->files[cl]);
            break;
        case BC_DOC:
            got = read_real(doc_dirs, want_doc, false, base, per_class,
                            per_file, r, &c->files[cl]);
            break;
        }
        for (i = got; i < per_class; i++) {
            uint8_t *p = base + (size_t)i * CRAM_PAGE_SIZE;

            switch (cl) {
            case BC_ZERO:
                break;
            case BC_STRUCT:
                gen_struct(r, p);
                break;
            case BC_RANDOM:
                gen_random(r, p);
                break;
            default:
                /* Text, and the stand-in for missing real pages. */
                gen_text(r, p);
                break;
            }
        }
        if (cl >= BC_BIN) {
            c->synth_fill[cl] = per_class - got;
        }
    }

    c->mixed = g_new(uint32_t, c->npages);
    for (i = 0; i < c->npages; i++) {
        c->mixed[i] = i;
    }
    for (i = c->npages; i > 1; i--) {
        uint32_t j = g_rand_int_range(r, 0, i), t = c->mixed[i - 1];

        c->mixed[i - 1] = c->mixed[j];
        c->mixed[j] = t;
    }
    g_rand_free(r);
    return c;
}

void bench_corpus_free(BenchCorpus *c)
{
    if (c) {
        g_aligned_free(c->pages);
        g_free(c->mixed);
        g_free(c);
    }
}
