/*
 * cram-bench: the engine against the raw codec, side by side in one run
 *
 *   cram-bench [OPTION...] [speed|latency|space|churn|metadata|
 *               metadata-real|range...]
 *
 * Prints tables; with --csv-dir, also writes one CSV per measurement for
 * bench/plot.sh.  See docs/performance.md.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include <string.h>
#include "bench.h"

static int opt_pages = 4096;
static int opt_per_file = 16;
static int opt_reps = 9;
static int opt_rounds = 3;
static int opt_churn_mib = 256;
static int opt_rewrites = 8;
static gboolean opt_churn_check;
static int opt_meta_max = 1000000;
static int opt_real_max = 100000;
static int opt_seed = 1;
static int opt_range_held = 10000;
static gboolean opt_range_old;
static char *opt_codec;
static char *opt_csv_dir;

static GOptionEntry entries[] = {
    { "pages", 'n', 0, G_OPTION_ARG_INT, &opt_pages,
      "Pages per corpus class (default 4096)", "N" },
    { "per-file", 'f', 0, G_OPTION_ARG_INT, &opt_per_file,
      "At most N pages from each real file (default 16)", "N" },
    { "reps", 'r', 0, G_OPTION_ARG_INT, &opt_reps,
      "Timed repetitions of each throughput pass (default 9)", "N" },
    { "rounds", 0, 0, G_OPTION_ARG_INT, &opt_rounds,
      "Latency: passes over the compressed pages (default 3)", "N" },
    { "churn-media", 'm', 0, G_OPTION_ARG_INT, &opt_churn_mib,
      "Churn: media size in MiB (default 256)", "MIB" },
    { "rewrites", 'w', 0, G_OPTION_ARG_INT, &opt_rewrites,
      "Churn: rewrites per filled page (default 8)", "N" },
    { "churn-check", 0, 0, G_OPTION_ARG_NONE, &opt_churn_check,
      "Churn: also run the allocator-level copy without compaction",
      NULL },
    { "meta-max", 0, 0, G_OPTION_ARG_INT, &opt_meta_max,
      "Metadata: most pages touched (default 1000000)", "N" },
    { "real-max", 0, 0, G_OPTION_ARG_INT, &opt_real_max,
      "Metadata-real: most pages touched (default 100000)", "N" },
    { "codec", 'c', 0, G_OPTION_ARG_STRING, &opt_codec,
      "lz4, zstd or all (default all)", "NAME" },
    { "csv-dir", 'o', 0, G_OPTION_ARG_FILENAME, &opt_csv_dir,
      "Write CSV files into DIR", "DIR" },
    { "range-held", 0, 0, G_OPTION_ARG_INT, &opt_range_held,
      "Range: pages held (default 10000)", "N" },
    { "range-old", 0, 0, G_OPTION_ARG_NONE, &opt_range_old,
      "Range: also time the page-by-page loop it replaced (seconds)",
      NULL },
    { "seed", 's', 0, G_OPTION_ARG_INT, &opt_seed,
      "Seed of the synthetic pages and orders (default 1)", "N" },
    { NULL },
};

static FILE *csv_open(const char *name, const char *header)
{
    char *path;
    FILE *f;

    if (!opt_csv_dir) {
        return NULL;
    }
    path = g_build_filename(opt_csv_dir, name, NULL);
    f = fopen(path, "w");
    if (!f) {
        g_error("cannot write %s: %s", path, g_strerror(errno));
    }
    g_free(path);
    fprintf(f, "%s\n", header);
    return f;
}

static void csv_close(FILE *f)
{
    if (f) {
        fclose(f);
    }
}

static void print_corpus(const BenchCorpus *c)
{
    unsigned cl;

    printf("corpus: %u pages (%u per class)", c->npages,
           c->start[1] - c->start[0]);
    for (cl = BC_BIN; cl < BC__MAX; cl++) {
        printf(", %s from %u files", bench_class_name(cl), c->files[cl]);
        if (c->synth_fill[cl]) {
            printf(" (+%u synthetic)", c->synth_fill[cl]);
        }
    }
    printf("\n\n");
}

static void run_speed(const BenchCorpus *c, const CramCodecId *codecs,
                      unsigned ncodecs)
{
    FILE *csv = csv_open("speed.csv", "codec,set,pages,raw_comp_mibs,"
                         "eng_store_mibs,store_ratio,eng_rewrite_mibs,"
                         "rewrite_ratio,raw_decomp_mibs,eng_load_mibs,"
                         "load_ratio,raw_scratch_mibs,scratch_ratio");
    unsigned ci, cl;

    printf("== throughput, MiB/s of 4 KiB pages (median of %d), "
           "ratio = engine / raw\n", opt_reps);
    printf("%-5s %-7s %8s %8s %6s %8s %6s %8s %8s %6s %8s %6s\n", "codec",
           "set", "raw-comp", "store", "ratio", "rewrite", "ratio",
           "raw-dec", "load", "ratio", "scratch", "ratio");
    for (ci = 0; ci < ncodecs; ci++) {
        for (cl = 0; cl <= BC__MAX; cl++) {
            BenchSpeed s;
            const uint32_t *order;
            uint32_t n, *seq = NULL, i;

            if (cl == BC__MAX) {
                order = c->mixed;
                n = c->npages;
            } else {
                n = c->start[cl + 1] - c->start[cl];
                seq = g_new(uint32_t, n);
                for (i = 0; i < n; i++) {
                    seq[i] = c->start[cl] + i;
                }
                order = seq;
            }
            bench_speed(c, codecs[ci], order, n, opt_reps, &s);
            g_free(seq);
            printf("%-5s %-7s %8.0f %8.0f %6.2f %8.0f %6.2f %8.0f %8.0f "
                   "%6.2f %8.0f %6.2f\n", cram_codec_name(codecs[ci]),
                   bench_class_name(cl), s.raw_comp, s.eng_store,
                   s.store_ratio, s.eng_rewrite, s.rewrite_ratio,
                   s.raw_decomp, s.eng_load, s.load_ratio, s.raw_scratch,
                   s.scratch_ratio);
            if (csv) {
                fprintf(csv, "%s,%s,%u,%.1f,%.1f,%.4f,%.1f,%.4f,%.1f,%.1f,"
                        "%.4f,%.1f,%.4f\n", cram_codec_name(codecs[ci]),
                        bench_class_name(cl), n, s.raw_comp, s.eng_store,
                        s.store_ratio, s.eng_rewrite, s.rewrite_ratio,
                        s.raw_decomp, s.eng_load, s.load_ratio,
                        s.raw_scratch, s.scratch_ratio);
            }
            fflush(stdout);
        }
    }
    printf("\n");
    csv_close(csv);
}

static void run_latency(const BenchCorpus *c, const CramCodecId *codecs,
                        unsigned ncodecs)
{
    FILE *csv = csv_open("latency.csv", "codec,samples,timer_ns,raw_med_ns,"
                         "raw_p99_ns,eng_med_ns,eng_p99_ns,ratio");
    unsigned ci;

    printf("== page miss latency: one cram_engine_load of a compressed "
           "page vs raw decompress, ns\n");
    printf("%-5s %8s %6s %8s %8s %8s %8s %6s\n", "codec", "samples",
           "timer", "raw-med", "raw-p99", "eng-med", "eng-p99", "ratio");
    for (ci = 0; ci < ncodecs; ci++) {
        BenchLatency l;

        bench_latency(c, codecs[ci], opt_rounds, &l);
        printf("%-5s %8u %6.0f %8.0f %8.0f %8.0f %8.0f %6.3f\n",
               cram_codec_name(codecs[ci]), l.samples, l.timer_ns,
               l.raw_med, l.raw_p99, l.eng_med, l.eng_p99, l.ratio);
        if (csv) {
            fprintf(csv, "%s,%u,%.0f,%.0f,%.0f,%.0f,%.0f,%.4f\n",
                    cram_codec_name(codecs[ci]), l.samples, l.timer_ns,
                    l.raw_med, l.raw_p99, l.eng_med, l.eng_p99, l.ratio);
        }
    }
    printf("\n");
    csv_close(csv);
}

static void run_space(const BenchCorpus *c, const CramCodecId *codecs,
                      unsigned ncodecs)
{
    FILE *csv = csv_open("space.csv", "codec,pages,zero,compressed,raw,"
                         "stored_bytes,media_used,overhead");
    unsigned ci;

    printf("== storage efficiency, mixed corpus stored once: "
           "media_used / stored_bytes\n");
    printf("%-5s %7s %6s %6s %6s %12s %12s %8s\n", "codec", "pages", "zero",
           "compr", "raw", "stored", "media-used", "overhead");
    for (ci = 0; ci < ncodecs; ci++) {
        BenchSpace s;

        bench_space(c, codecs[ci], &s);
        printf("%-5s %7" G_GUINT64_FORMAT " %6" G_GUINT64_FORMAT " %6"
               G_GUINT64_FORMAT " %6" G_GUINT64_FORMAT " %12"
               G_GUINT64_FORMAT " %12" G_GUINT64_FORMAT " %8.4f\n",
               cram_codec_name(codecs[ci]), s.pages,
               s.pages_by_class[CRAM_KIND_ZERO],
               s.pages_by_class[CRAM_KIND_COMPRESSED],
               s.pages_by_class[CRAM_KIND_RAW], s.stored_bytes,
               s.media_used, s.overhead);
        if (csv) {
            fprintf(csv, "%s,%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT ",%"
                    G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT ",%"
                    G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT ",%.5f\n",
                    cram_codec_name(codecs[ci]), s.pages,
                    s.pages_by_class[CRAM_KIND_ZERO],
                    s.pages_by_class[CRAM_KIND_COMPRESSED],
                    s.pages_by_class[CRAM_KIND_RAW], s.stored_bytes,
                    s.media_used, s.overhead);
        }
    }
    printf("\n");
    csv_close(csv);
}

static void run_churn(const BenchCorpus *c, const CramCodecId *codecs,
                      unsigned ncodecs)
{
    FILE *csv = csv_open("churn.csv", "codec,mode,rewrites,"
                         "rewrites_per_page,media_used,stored_bytes,"
                         "media_size,used_frac,overhead,failed");
    FILE *sum = csv_open("churn-summary.csv", "codec,mode,media_size,"
                         "filled_pages,rewrites,fill_overhead,end_overhead,"
                         "max_overhead,failed,compactions,moves,"
                         "compact_ns_per_rewrite");
    unsigned ci, mode;

    printf("== churn: %d MiB media filled to 90%%, then %d rewrites per "
           "page of random corpus pages\n", opt_churn_mib, opt_rewrites);
    printf("%-5s %-8s %8s %9s %8s %8s %8s %8s %6s %5s %8s %7s\n",
           "codec", "mode", "pages", "rewrites", "fill-ovh", "end-use",
           "end-ovh", "max-ovh", "failed", "cmp", "moves", "ns/rw");
    for (ci = 0; ci < ncodecs; ci++) {
        for (mode = 0; mode < BCM__MAX; mode++) {
            BenchChurn ch;
            double ns;

            if (mode == BCM_ALLOC && !opt_churn_check) {
                continue;   /* only a cross-check of the engine figures */
            }
            bench_churn(c, codecs[ci], (uint64_t)opt_churn_mib << 20,
                        opt_rewrites, 200, mode, csv, &ch);
            ns = (double)ch.compact_ns / MAX(ch.rewrites, 1);
            printf("%-5s %-8s %8" G_GUINT64_FORMAT " %9" G_GUINT64_FORMAT
                   " %8.4f %8.4f %8.4f %8.4f %6" G_GUINT64_FORMAT " %5"
                   G_GUINT64_FORMAT " %8" G_GUINT64_FORMAT " %7.1f\n",
                   cram_codec_name(codecs[ci]), bench_churn_mode_name(mode),
                   ch.filled_pages, ch.rewrites, ch.fill_overhead,
                   ch.end_used, ch.end_overhead, ch.max_overhead, ch.failed,
                   ch.compactions, ch.moves, ns);
            if (sum) {
                fprintf(sum, "%s,%s,%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT
                        ",%" G_GUINT64_FORMAT ",%.5f,%.5f,%.5f,%"
                        G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT ",%"
                        G_GUINT64_FORMAT ",%.1f\n",
                        cram_codec_name(codecs[ci]),
                        bench_churn_mode_name(mode), ch.media_size,
                        ch.filled_pages, ch.rewrites, ch.fill_overhead,
                        ch.end_overhead, ch.max_overhead, ch.failed,
                        ch.compactions, ch.moves, ns);
            }
            fflush(stdout);
        }
    }
    printf("\n");
    csv_close(csv);
    csv_close(sum);
}

static void run_metadata(void)
{
    FILE *csv = csv_open("metadata.csv", "pattern,touched,pt_bytes,"
                         "pt_per_page,radix_bytes,radix_per_page,dense,"
                         "shards,pt_get_ns,radix_get_ns,eng_bytes,"
                         "eng_per_page");
    FILE *cap_csv = csv_open("metadata-capacity.csv",
                             "capacity,meta_bytes");

    bench_meta_report(opt_meta_max, true, csv, cap_csv);
    csv_close(csv);
    csv_close(cap_csv);
}

static void run_metadata_real(const BenchCorpus *c,
                              const CramCodecId *codecs, unsigned ncodecs)
{
    FILE *csv = csv_open("metadata-real.csv", "codec,pattern,touched,"
                         "pt_bytes,alloc_bytes,eng_bytes,pt_per_page,"
                         "alloc_per_page,eng_per_page,media_used");

    bench_meta_real_report(c, codecs, ncodecs, opt_real_max, csv);
    csv_close(csv);
}

static void run_range(void)
{
    FILE *csv = csv_open("range.csv", "operation,held,ms");

    bench_range_report(opt_range_held, opt_range_old, csv);
    csv_close(csv);
}

static bool want(int argc, char **argv, const char *name)
{
    int i;

    if (argc < 2) {
        return true;
    }
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], name) || !strcmp(argv[i], "all")) {
            return true;
        }
    }
    return false;
}

int main(int argc, char **argv)
{
    static const char *const tests[] = {
        "speed", "latency", "space", "churn", "metadata",
        "metadata-real", "range", "all",
    };
    GOptionContext *ctx = g_option_context_new(
        "[speed|latency|space|churn|metadata|metadata-real|range|all...]");
    CramCodecId codecs[2];
    unsigned ncodecs = 0, j;
    GError *err = NULL;
    BenchCorpus *c;
    int i;

    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_summary(ctx, "Engine benchmarks: every figure "
                                 "is a ratio against a baseline run side "
                                 "by side.");
    if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
        g_printerr("cram-bench: %s\n", err->message);
        return 2;
    }
    g_option_context_free(ctx);
    for (i = 1; i < argc; i++) {
        for (j = 0; j < G_N_ELEMENTS(tests); j++) {
            if (!strcmp(argv[i], tests[j])) {
                break;
            }
        }
        if (j == G_N_ELEMENTS(tests)) {
            g_printerr("cram-bench: unknown measurement '%s'\n", argv[i]);
            return 2;
        }
    }
    if (opt_pages < 1 || opt_per_file < 1 || opt_reps < 1 ||
        opt_rounds < 1 || opt_churn_mib < 1 || opt_rewrites < 0 ||
        opt_meta_max < 1000 || opt_real_max < 1000 || opt_range_held < 0) {
        g_printerr("cram-bench: bad option value\n");
        return 2;
    }
    if (!opt_codec || !strcmp(opt_codec, "all")) {
        codecs[ncodecs++] = CRAM_CODEC_LZ4;
        codecs[ncodecs++] = CRAM_CODEC_ZSTD;
    } else if (!cram_codec_from_name(opt_codec, &codecs[0]) ||
               codecs[0] == CRAM_CODEC_NONE) {
        g_printerr("cram-bench: codec must be lz4, zstd or all\n");
        return 2;
    } else {
        ncodecs = 1;
    }
    if (opt_csv_dir && g_mkdir_with_parents(opt_csv_dir, 0755) < 0) {
        g_printerr("cram-bench: cannot create %s\n", opt_csv_dir);
        return 1;
    }

    c = bench_corpus_new(opt_pages, opt_per_file, opt_seed);
    print_corpus(c);
    if (want(argc, argv, "speed")) {
        run_speed(c, codecs, ncodecs);
    }
    if (want(argc, argv, "latency")) {
        run_latency(c, codecs, ncodecs);
    }
    if (want(argc, argv, "space")) {
        run_space(c, codecs, ncodecs);
    }
    if (want(argc, argv, "churn")) {
        run_churn(c, codecs, ncodecs);
    }
    if (want(argc, argv, "metadata")) {
        run_metadata();
    }
    if (want(argc, argv, "metadata-real")) {
        run_metadata_real(c, codecs, ncodecs);
    }
    if (want(argc, argv, "range")) {
        run_range();
    }
    bench_corpus_free(c);
    return 0;
}
