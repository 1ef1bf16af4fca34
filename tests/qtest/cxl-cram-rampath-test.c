/*
 * cxl-cram qtests of ram-path=on: the page cache mapped into the CXL
 * fixed memory window as RAM while the decoder path is 1-way, its misses
 * served by the device's fault thread (docs/ram-path.md).
 *
 * What must hold: data written through the window reads back, whether
 * the mapping or the I/O path serves it, and the store holds it (its
 * figures, a flush); the alias goes out when a page is poisoned or media
 * use reaches the high watermark, and comes back when both clear;
 * discard, Media Operations Zero and migration see one store; an
 * uncommitted decoder keeps the I/O path (an interleaved one:
 * cxl-cram-interleave-test.c).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/units.h"
#include "qemu/bswap.h"
#include "cxl-cram-qtest.h"
#include "cxl-cram-rampath-test.h"

#define RP_CAP      (1 * GiB)
#define RP_PAGE     4096
#define RP_PROPS    "ram-path=on,poison-mce=off,cache-size=256K"

/*
 * Each test runs twice: under the qtest accelerator, where the window
 * gets an alias of the store's mapping, and under TCG (its vCPU stopped),
 * where it gets the IOMMU region whose translations load each page first
 * (ram-path-tlb-fill); qtest's accesses go through that translation too.
 */
#define RP_TCG      "-accel tcg -S"

static bool rp_tcg(const char *args)
{
    return strstr(args, "tcg") != NULL;
}

/* Is the store's mapping in the window (info mtree)? */
static bool rp_mapped(QTestState *qts)
{
    g_autofree char *mtree = qtest_hmp(qts, "info mtree");

    return strstr(mtree, "cxl-cram-ram-alias") != NULL;
}

/* Is what the window maps the IOMMU region, not the RAM region? */
static bool rp_iommu(QTestState *qts)
{
    g_autofree char *mtree = qtest_hmp(qts, "info mtree");

    return strstr(mtree, "@cxl-cram-ram-iommu") != NULL;
}

static uint64_t rp_stat(CramQT *t, const char *key)
{
    QDict *st = cram_stats(t);
    uint64_t v = qdict_get_int(st, key);

    qobject_unref(st);
    return v;
}

/* Page @n's content: text-like (compressible), different per page. */
static void rp_fill(uint8_t *buf, uint64_t n, uint32_t seed)
{
    int i;

    for (i = 0; i < RP_PAGE; i += 8) {
        stq_le_p(buf + i, (n * 0x9e3779b97f4a7c15ULL + seed) ^
                          ((uint64_t)(i / 64) << 40));
    }
}

static void rp_write(CramQT *t, uint64_t first, uint64_t n, uint32_t seed)
{
    uint8_t buf[RP_PAGE];
    uint64_t p;

    for (p = first; p < first + n; p++) {
        rp_fill(buf, p, seed);
        qtest_memwrite(t->qts, t->window + p * RP_PAGE, buf, RP_PAGE);
    }
}

static void rp_check(CramQT *t, uint64_t first, uint64_t n, uint32_t seed)
{
    uint8_t buf[RP_PAGE], want[RP_PAGE];
    uint64_t p;

    for (p = first; p < first + n; p++) {
        rp_fill(want, p, seed);
        qtest_memread(t->qts, t->window + p * RP_PAGE, buf, RP_PAGE);
        g_assert_cmpmem(buf, RP_PAGE, want, RP_PAGE);
    }
}

static void rp_check_zero(CramQT *t, uint64_t first, uint64_t n)
{
    uint8_t buf[RP_PAGE], zero[RP_PAGE] = { 0 };
    uint64_t p;

    for (p = first; p < first + n; p++) {
        qtest_memread(t->qts, t->window + p * RP_PAGE, buf, RP_PAGE);
        g_assert_cmpmem(buf, RP_PAGE, zero, RP_PAGE);
    }
}

static void rp_inject_poison(CramQT *t, uint64_t dpa)
{
    qtest_qmp_assert_success(t->qts, "{'execute': 'cxl-inject-poison', "
                             "'arguments': {'path': "
                             "'/machine/peripheral/cram0', "
                             "'start': %" PRIu64 ", 'length': 64}}", dpa);
}

static void rp_discard(CramQT *t, uint64_t page, uint64_t n)
{
    qtest_writeq(t->qts, t->regs + CXL_CRAM_REG_DISCARD_DPA, page * RP_PAGE);
    qtest_writeq(t->qts, t->regs + CXL_CRAM_REG_DISCARD_PAGES, n);
    g_assert_cmpuint(qtest_readq(t->qts, t->regs +
                                 CXL_CRAM_REG_DISCARD_RESULT), ==,
                     CXL_CRAM_DISCARD_OK);
}

/*
 * Off by default; on, the window maps the store once the decoder is
 * committed.  More pages than the cache holds go through the mapping
 * (each miss a fault served by the device), read back through it, and
 * are in the store: stores after a flush, the same data through the I/O
 * path once the alias is off.
 */
static void test_rp_data(const void *args)
{
    uint64_t loaded;
    CramQT t;

    cram_start_args(&t, RP_CAP, "poison-mce=off", args);
    g_assert_false(rp_mapped(t.qts));
    rp_write(&t, 0, 4, 1);
    rp_check(&t, 0, 4, 1);
    g_assert_cmpuint(rp_stat(&t, "cache-faults"), ==, 0);
    cram_stop(&t);

    cram_start_window(&t, RP_CAP, RP_CAP, RP_PROPS, args);
    g_assert_false(rp_mapped(t.qts));
    cram_commit_hdm(&t);
    g_assert_true(rp_mapped(t.qts));
    g_assert_cmpint(rp_iommu(t.qts), ==, rp_tcg(args));

    rp_write(&t, 0, 256, 7);            /* 4 times the cache */
    rp_write(&t, 100000, 16, 8);        /* far away */
    loaded = rp_stat(&t, "tlb-fill-misses");
    rp_check(&t, 0, 256, 7);
    rp_check(&t, 100000, 16, 8);
    g_assert_cmpuint(rp_stat(&t, "cache-faults"), >=, 256 + 16);
    g_assert_cmpuint(rp_stat(&t, "cache-misses"), >, 256);
    if (rp_tcg(args)) {
        /*
         * Each read of a page evicted since its write (all but the 64
         * the cache holds) loaded it at translation, and none reached the
         * fault thread.  Each write still faulted once, on its clean
         * page, to be charged.
         */
        g_assert_cmpuint(rp_stat(&t, "tlb-fill-misses") - loaded, >=,
                         256 + 16 - 64);
        g_assert_cmpuint(rp_stat(&t, "fault-misses"), ==, 0);
    } else {
        g_assert_cmpuint(rp_stat(&t, "tlb-fills"), ==, 0);
        g_assert_cmpuint(rp_stat(&t, "fault-misses"), >, 0);
    }
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_STORES), >=, 256 + 16 - 64);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_LOGICAL_HELD), ==,
                     (256 + 16) * RP_PAGE);
    g_assert_true(rp_mapped(t.qts));

    /* The same bytes through the I/O path: poison elsewhere. */
    rp_inject_poison(&t, 200000ULL * RP_PAGE);
    g_assert_false(rp_mapped(t.qts));
    rp_check(&t, 0, 256, 7);
    rp_check(&t, 100000, 16, 8);
    cram_stop(&t);
}

/*
 * Poison takes the alias out: the poisoned page reads all-ones through
 * the I/O path (poison-mce=off), its neighbours their data, written
 * through the mapping.  Discarding the page clears the poison and the
 * alias comes back; a write through the mapping lands in the store.
 */
static void test_rp_poison(const void *args)
{
    CramQT t;

    cram_start_args(&t, RP_CAP, RP_PROPS, args);
    g_assert_true(rp_mapped(t.qts));
    rp_write(&t, 0, 32, 3);
    rp_inject_poison(&t, 10 * RP_PAGE);
    g_assert_false(rp_mapped(t.qts));
    g_assert_cmphex(qtest_readq(t.qts, t.window + 10 * RP_PAGE), ==,
                    UINT64_MAX);
    rp_check(&t, 0, 10, 3);
    rp_check(&t, 11, 21, 3);
    /* still off after more accesses and a flush */
    cram_flush(&t);
    g_assert_false(rp_mapped(t.qts));

    rp_discard(&t, 10, 1);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_POISONED_PAGES), ==, 0);
    g_assert_true(rp_mapped(t.qts));
    rp_check_zero(&t, 10, 1);
    rp_write(&t, 10, 1, 4);
    rp_check(&t, 10, 1, 4);
    rp_check(&t, 0, 10, 3);
    cram_stop(&t);
}

/*
 * Discard and Media Operations Zero through the registers and mailbox,
 * of pages written through the mapping, resident or not: they read zero
 * through the mapping, the others their data, and media use falls.
 */
static void test_rp_discard_zero(const void *args)
{
    uint8_t in[8 + 16];
    uint64_t used;
    size_t len;
    CramQT t;

    cram_start_args(&t, RP_CAP, RP_PROPS, args);
    rp_write(&t, 0, 192, 5);            /* 3 times the cache */
    used = cram_reg(&t, CXL_CRAM_REG_MEDIA_USED);
    g_assert_true(rp_mapped(t.qts));

    rp_discard(&t, 0, 16);              /* long written back */
    rp_discard(&t, 180, 4);             /* likely still cached */

    memset(in, 0, sizeof(in));
    in[0] = 1;                          /* sanitize */
    in[1] = 1;                          /* zero */
    stl_le_p(in + 4, 1);
    stq_le_p(in + 8, 100 * RP_PAGE);
    stq_le_p(in + 16, 8 * RP_PAGE);
    g_assert_cmpint(cram_mbox(&t, 0x4402, in, 24, NULL, &len), ==, 0);
    stq_le_p(in + 8, 188 * RP_PAGE);
    stq_le_p(in + 16, 2 * RP_PAGE);
    g_assert_cmpint(cram_mbox(&t, 0x4402, in, 24, NULL, &len), ==, 0);

    g_assert_true(rp_mapped(t.qts));
    rp_check_zero(&t, 0, 16);
    rp_check(&t, 16, 84, 5);
    rp_check_zero(&t, 100, 8);
    rp_check(&t, 108, 72, 5);
    rp_check_zero(&t, 180, 4);
    rp_check(&t, 184, 4, 5);
    rp_check_zero(&t, 188, 2);
    rp_check(&t, 190, 2, 5);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_MEDIA_USED), <, used);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_LOGICAL_HELD), ==,
                     (192 - 30) * RP_PAGE);
    cram_stop(&t);
}

/*
 * Media use at the high watermark takes the alias out; discarding back
 * below it puts it in again.  Pseudo-random data barely compresses:
 * 4 MiB of media, the high watermark at 90 %.
 */
static void test_rp_watermark(const void *args)
{
    uint8_t buf[RP_PAGE];
    uint64_t p, status;
    CramQT t;

    cram_start_args(&t, RP_CAP, RP_PROPS ",media-size=4M", args);
    g_assert_true(rp_mapped(t.qts));
    for (p = 0; p < 1100; p++) {
        uint64_t i;

        for (i = 0; i < RP_PAGE; i += 8) {
            stq_le_p(buf + i, g_test_rand_int() |
                     ((uint64_t)g_test_rand_int() << 32));
        }
        qtest_memwrite(t.qts, t.window + p * RP_PAGE, buf, RP_PAGE);
    }
    status = cram_reg(&t, CXL_CRAM_REG_STATUS);
    /* some writes came after the switch: the I/O path took them */
    g_assert_cmpuint(rp_stat(&t, "cache-faults"), <, 1100);
    g_assert_cmphex(status & CXL_CRAM_STATUS_ABOVE_HIGH, ==,
                    CXL_CRAM_STATUS_ABOVE_HIGH);
    g_assert_cmphex(status & CXL_CRAM_STATUS_POISON, ==, 0);
    g_assert_false(rp_mapped(t.qts));

    rp_discard(&t, 0, 1100);
    status = cram_reg(&t, CXL_CRAM_REG_STATUS);
    g_assert_cmphex(status & CXL_CRAM_STATUS_ABOVE_HIGH, ==, 0);
    g_assert_true(rp_mapped(t.qts));
    rp_write(&t, 0, 8, 2);
    rp_check(&t, 0, 8, 2);
    cram_stop(&t);
}

/*
 * failure-policy=log: pages written through the mapping (ones, and a
 * page never written) whose random rewrite finds no media (the host took
 * it all, which takes the alias out too) read back as they were, without
 * poison, through the I/O path and, once the media is given back and the
 * alias is in again, through the mapping: the dropped content left no
 * trace in the mapped pages.
 */
static void test_rp_failure_log(const void *args)
{
    uint8_t buf[RP_PAGE], want[RP_PAGE];
    QDict *st;
    CramQT t;
    int i;

    cram_start_args(&t, RP_CAP, RP_PROPS ",media-size=4M,failure-policy=log",
                    args);
    g_assert_true(rp_mapped(t.qts));
    memset(want, 1, RP_PAGE);
    qtest_memwrite(t.qts, t.window + 3 * RP_PAGE, want, RP_PAGE);
    cram_flush(&t);
    st = cram_stats(&t);
    qtest_qmp_assert_success(t.qts, "{'execute': 'cxl-cram-take-media', "
                             "'arguments': {'path': "
                             "'/machine/peripheral/cram0', 'size': %"
                             PRIu64 "}}", qdict_get_int(st, "media-free") /
                             RP_PAGE * RP_PAGE);
    qobject_unref(st);
    g_assert_false(rp_mapped(t.qts));
    for (i = 0; i < RP_PAGE; i++) {
        buf[i] = g_test_rand_int();
    }
    qtest_memwrite(t.qts, t.window + 3 * RP_PAGE, buf, RP_PAGE);
    qtest_memwrite(t.qts, t.window + 4 * RP_PAGE, buf, RP_PAGE);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_DROPPED_WRITES), >, 0);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_POISONED_PAGES), ==, 0);
    qtest_memread(t.qts, t.window + 3 * RP_PAGE, buf, RP_PAGE);
    g_assert_cmpmem(buf, RP_PAGE, want, RP_PAGE);
    rp_check_zero(&t, 4, 1);

    qtest_qmp_assert_success(t.qts, "{'execute': 'cxl-cram-take-media', "
                             "'arguments': {'path': "
                             "'/machine/peripheral/cram0', 'size': 0}}");
    g_assert_true(rp_mapped(t.qts));
    qtest_memread(t.qts, t.window + 3 * RP_PAGE, buf, RP_PAGE);
    g_assert_cmpmem(buf, RP_PAGE, want, RP_PAGE);
    rp_check_zero(&t, 4, 1);
    cram_stop(&t);
}

/* Uncommitting the device's decoder takes the alias out. */
static void test_rp_uncommit(const void *args)
{
    uint64_t hdm;
    CramQT t;

    cram_start_args(&t, RP_CAP, RP_PROPS, args);
    rp_write(&t, 0, 4, 6);
    g_assert_true(rp_mapped(t.qts));
    hdm = cram_find_cm_cap(t.qts, t.bar[0] + 0x1000, 5);
    qtest_writel(t.qts, hdm + 0x10 + 0x10, 0);          /* uncommit */
    g_assert_false(rp_mapped(t.qts));
    /* the window's I/O path: no device decodes it, a failed read */
    g_assert_cmphex(qtest_readq(t.qts, t.window), ==, 0);
    cram_commit_hdm(&t);
    g_assert_true(rp_mapped(t.qts));
    rp_check(&t, 0, 4, 6);
    cram_stop(&t);
}

/*
 * Migration: the source's data, written through its mapping (part still
 * in its cache), reads back on the destination, whose alias is in once
 * it runs.
 */
static void test_rp_migration(const void *args)
{
    g_autofree char *sock = g_strdup_printf("%s/cram-rp-mig-%d.sock",
                                            g_get_tmp_dir(), getpid());
    g_autofree char *uri = g_strdup_printf("unix:%s", sock);
    g_autofree char *st = NULL;
    CramQT s, d;

    cram_start_args(&s, RP_CAP, RP_PROPS, args);
    rp_write(&s, 0, 160, 9);
    rp_write(&s, 50000, 8, 10);
    g_assert_true(rp_mapped(s.qts));

    cram_mig_launch(&d, RP_CAP, RP_PROPS, args);
    cram_mig_incoming(&d, uri);
    cram_migrate(&s, uri);
    st = cram_mig_wait(s.qts, NULL);
    g_assert_cmpstr(st, ==, "completed");
    cram_mig_attach(&d, &s);
    g_assert_true(rp_mapped(d.qts));
    rp_check(&d, 0, 160, 9);
    rp_check(&d, 50000, 8, 10);
    g_assert_cmpuint(cram_reg(&d, CXL_CRAM_REG_LOGICAL_HELD), ==,
                     168 * RP_PAGE);
    qtest_quit(s.qts);
    cram_stop(&d);
    unlink(sock);
}

void cxl_cram_rampath_add_tests(void)
{
    const char *extra = g_getenv("CRAM_QTEST_PROPS");

    /*
     * They choose their own properties: not in make check-qtest's
     * cache-size=0 pass, nor when the suite runs with ram-path=on.
     */
    if (extra && *extra) {
        return;
    }
    /*
     * Migration only under qtest's accelerator: the destination's region
     * comes in once it runs, and under TCG a running machine would run
     * its firmware, which reprograms the PCI windows the test set up.
     */
    static const struct {
        const char *name;
        void (*fn)(const void *args);
        bool tcg;
    } tests[] = {
        { "data", test_rp_data, true },
        { "poison", test_rp_poison, true },
        { "discard-zero", test_rp_discard_zero, true },
        { "watermark", test_rp_watermark, true },
        { "uncommit", test_rp_uncommit, true },
        { "failure-log", test_rp_failure_log, true },
        { "migration", test_rp_migration, false },
    };
    int i;

    for (i = 0; i < ARRAY_SIZE(tests); i++) {
        g_autofree char *alias = g_strdup_printf("/cxl-cram/ram-path/%s",
                                                 tests[i].name);
        g_autofree char *tcg = g_strdup_printf("/cxl-cram/ram-path/"
                                               "tlb-fill/%s", tests[i].name);

        qtest_add_data_func(alias, "", tests[i].fn);
        if (tests[i].tcg && qtest_has_accel("tcg")) {
            qtest_add_data_func(tcg, RP_TCG, tests[i].fn);
        }
    }
}
