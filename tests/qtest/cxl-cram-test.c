/*
 * QTest testcase for cxl-cram, the CXL compressed-memory expander
 *
 * Each test starts its own QEMU, brings the device up like firmware would
 * (cxl-cram-qtest.h) and checks what a guest would observe: data read
 * back, mailbox answers, register values and the QMP statistics.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/units.h"
#include "qemu/bswap.h"
#include "qobject/qjson.h"
#include "qapi/error.h"
#include "hw/pci/pci_regs.h"
#include "cxl-cram-qtest.h"
#include "cxl-cram-hostinput-test.h"
#include "cxl-cram-interleave-test.h"
#include "cxl-cram-rampath-test.h"
#include "cxl-cram-qmp-test.h"

#define CAP_8G      (8 * GiB)
#define PAGE        4096

static void fill_random(uint8_t *buf, size_t len, uint32_t seed)
{
    GRand *r = g_rand_new_with_seed(seed);
    size_t i;

    for (i = 0; i < len; i += 4) {
        uint32_t v = g_rand_int(r);

        memcpy(buf + i, &v, MIN(4, len - i));
    }
    g_rand_free(r);
}

/* Table size from the MSI-X capability's Message Control. */
static int cram_msix_vectors(CramQT *t)
{
    uint8_t pos = cram_find_cap(t->qts, CRAM_DEV_BUS, 0, PCI_CAP_ID_MSIX);

    if (!pos) {
        return 0;
    }
    return (qtest_readw(t->qts, cram_ecam(CRAM_DEV_BUS, 0, pos + 2)) &
            0x7ff) + 1;
}

typedef struct BadProps {
    const char *props;
    const char *err;
} BadProps;

/*
 * Device-add a cxl-cram with each of the @n @cases' properties on rp1 of
 * a machine that has a RAM backend m0: each must fail with its error.
 */
static void expect_bad_props(const BadProps *cases, int n)
{
    QTestState *qts = qtest_init(
        "-machine q35,cxl=on -nodefaults "
        "-device pxb-cxl,id=cxl.0,bus=pcie.0,bus_nr=52 "
        "-device cxl-rp,id=rp0,bus=cxl.0,chassis=0,slot=0 "
        "-device cxl-rp,id=rp1,bus=cxl.0,chassis=0,slot=1 "
        "-object memory-backend-ram,id=m0,size=256M "
        "-M cxl-fmw.0.targets.0=cxl.0,cxl-fmw.0.size=8G");
    int i;

    for (i = 0; i < n; i++) {
        g_autofree char *json = g_strdup_printf(
            "{'driver': 'cxl-cram', 'bus': 'rp1', 'id': 'bad', %s}",
            cases[i].props);
        QDict *args = qobject_to(QDict,
                                 qobject_from_json(json, &error_abort));
        QDict *rsp, *e;
        const char *desc;

        rsp = qtest_qmp(qts, "{'execute': 'device_add', 'arguments': %p}",
                        args);
        e = qdict_get_qdict(rsp, "error");
        g_assert_nonnull(e);
        desc = qdict_get_str(e, "desc");
        if (!strstr(desc, cases[i].err)) {
            g_test_message("props %s: got '%s', want '%s'", cases[i].props,
                           desc, cases[i].err);
            g_assert_not_reached();
        }
        qobject_unref(rsp);
    }
    qtest_quit(qts);
}

static void test_bad_props(void)
{
    static const BadProps cases[] = {
        { "'capacity': 0", "non-zero multiple of 256 MiB" },
        { "'capacity': 268439552", "non-zero multiple of 256 MiB" },
        { "'capacity': 2199023255552", "is above the maximum" },
        { "'media-size': 0", "media-size must not be 0" },
        { "'media-size': 1000000", "not a multiple of 4096" },
        { "'capacity': 268435456, 'media-size': 536870912",
          "is larger than capacity" },
        { "'compress': 'gzip'", "does not accept value 'gzip'" },
        { "'compress': 'zstd', 'compress-level': 99", "out of range" },
        { "'compress': 'lz4', 'compress-level': 65538", "out of range" },
        { "'cache-size': 1000", "cache-size 1000" },
        { "'cache-size': 2147483648", "at most 1 GiB" },
        { "'low-watermark': 90, 'high-watermark': 80",
          "watermarks must satisfy" },
        { "'ram-path': true, 'cache-size': 0", "needs cache-size > 0" },
        { "'failure-policy': 'refuse'", "does not accept value 'refuse'" },
    };

    expect_bad_props(cases, G_N_ELEMENTS(cases));
}

static void test_bad_memdev(void)
{
    static const BadProps cases[] = {
        { "'volatile-memdev': 'm0'", "cxl-cram provides its own memory" },
    };

    expect_bad_props(cases, G_N_ELEMENTS(cases));
}

/*
 * Identify (4000h), Get Partition Info (4100h) and the DVSEC range all
 * report the advertised capacity.
 */
static void test_identify(void)
{
    uint8_t out[2048];
    uint32_t size_hi, size_lo;
    uint16_t dvsec;
    size_t len;
    CramQT t;

    cram_start(&t, CAP_8G, NULL);
    g_assert_cmpint(cram_mbox(&t, 0x4000, NULL, 0, out, &len), ==, 0);
    g_assert_cmpuint(len, >=, 0x28);
    g_assert_cmpuint(ldq_le_p(out + 0x10), ==, CAP_8G / (256 * MiB));
    g_assert_cmpuint(ldq_le_p(out + 0x18), ==, CAP_8G / (256 * MiB));
    g_assert_cmpuint(ldq_le_p(out + 0x20), ==, 0);

    g_assert_cmpint(cram_mbox(&t, 0x4100, NULL, 0, out, &len), ==, 0);
    g_assert_cmpuint(ldq_le_p(out + 0x0), ==, CAP_8G / (256 * MiB));
    g_assert_cmpuint(ldq_le_p(out + 0x8), ==, 0);

    /* CXL device DVSEC (ID 0): range 1 size, valid and active bits. */
    dvsec = cram_find_dvsec(&t, 0);
    size_hi = qtest_readl(t.qts, cram_ecam(CRAM_DEV_BUS, 0, dvsec + 0x18));
    size_lo = qtest_readl(t.qts, cram_ecam(CRAM_DEV_BUS, 0, dvsec + 0x1c));
    g_assert_cmphex(((uint64_t)size_hi << 32) | (size_lo & 0xf0000000), ==,
                    CAP_8G);
    g_assert_cmphex(size_lo & 0x3, ==, 0x3);
    cram_stop(&t);
}

static void test_registers(void)
{
    CramQT t;

    /* lz4's highest acceleration: the property was 8 bits wide before */
    cram_start(&t, CAP_8G,
               "media-size=512M,compress=lz4,compress-level=65537");
    g_assert_cmphex(cram_reg(&t, CXL_CRAM_REG_ID), ==,
                    CXL_CRAM_MAGIC | ((uint64_t)CXL_CRAM_VERSION << 32));
    g_assert_cmphex(cram_reg(&t, CXL_CRAM_REG_CONFIG), ==,
                    12 | (CXL_CRAM_CODEC_LZ4 << 8) | (65537ULL << 16));
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_CAPACITY), ==, CAP_8G);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_MEDIA_SIZE), ==, 512 * MiB);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_MEDIA_USED), ==, 0);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_MEDIA_FREE), ==, 512 * MiB);
    /* MSI-X: 16 vectors (cxl-type3's 0-7, ours 8, and 12/13) */
    g_assert_cmpuint(cram_msix_vectors(&t), ==, CXL_CRAM_MSIX_NR);
    /* 32-bit halves */
    g_assert_cmphex(qtest_readl(t.qts, t.regs + CXL_CRAM_REG_ID), ==,
                    CXL_CRAM_MAGIC);
    g_assert_cmphex(qtest_readl(t.qts, t.regs + CXL_CRAM_REG_CAPACITY + 4),
                    ==, CAP_8G >> 32);
    /* Read-only: writes are ignored. */
    qtest_writeq(t.qts, t.regs + CXL_CRAM_REG_MEDIA_SIZE, 42);
    qtest_writeq(t.qts, t.regs + CXL_CRAM_REG_MEDIA_USED, 42);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_MEDIA_SIZE), ==, 512 * MiB);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_MEDIA_USED), ==, 0);
    cram_stop(&t);
}

/* Shadow of the pages a test touched. */
typedef struct Shadow {
    GHashTable *pages;      /* page index -> PAGE bytes */
} Shadow;

static uint8_t *shadow_page(Shadow *s, uint64_t page)
{
    uint8_t *p = g_hash_table_lookup(s->pages, &page);

    if (!p) {
        uint64_t *key = g_new(uint64_t, 1);

        *key = page;
        p = g_malloc0(PAGE);
        g_hash_table_insert(s->pages, key, p);
    }
    return p;
}

static void shadow_write(Shadow *s, uint64_t dpa, const uint8_t *buf,
                         size_t len)
{
    while (len) {
        size_t off = dpa % PAGE, n = MIN(len, PAGE - off);

        memcpy(shadow_page(s, dpa / PAGE) + off, buf, n);
        dpa += n;
        buf += n;
        len -= n;
    }
}

static void cram_write_sized(CramQT *t, uint64_t dpa, uint64_t val,
                             int size)
{
    uint64_t a = t->window + dpa;

    switch (size) {
    case 1:
        qtest_writeb(t->qts, a, val);
        break;
    case 2:
        qtest_writew(t->qts, a, val);
        break;
    case 4:
        qtest_writel(t->qts, a, val);
        break;
    default:
        qtest_writeq(t->qts, a, val);
    }
}

static uint64_t cram_read_sized(CramQT *t, uint64_t dpa, int size)
{
    uint64_t a = t->window + dpa;

    switch (size) {
    case 1:
        return qtest_readb(t->qts, a);
    case 2:
        return qtest_readw(t->qts, a);
    case 4:
        return qtest_readl(t->qts, a);
    default:
        return qtest_readq(t->qts, a);
    }
}

/*
 * Writes of every size, aligned, unaligned and page-crossing, at offsets
 * spread over the whole 8 GiB (the last byte included), then rewrites;
 * every touched page must match the shadow, untouched pages read zero.
 */
static void test_integrity(void)
{
    static const int sizes[] = { 1, 2, 4, 8 };
    Shadow s = { g_hash_table_new_full(g_int64_hash, g_int64_equal,
                                       g_free, g_free) };
    GRand *r = g_rand_new_with_seed(0xc0ffee);
    uint8_t buf[3 * PAGE], got[PAGE];
    GHashTableIter it;
    gpointer key, val;
    uint64_t spots[40];
    CramQT t;
    int i, n;

    cram_start(&t, CAP_8G, NULL);
    for (i = 0; i < G_N_ELEMENTS(spots); i++) {
        spots[i] = (CAP_8G / G_N_ELEMENTS(spots)) * i +
                   g_rand_int_range(r, 0, 64) * PAGE;
    }
    spots[G_N_ELEMENTS(spots) - 1] = CAP_8G - 2 * PAGE;

    for (n = 0; n < 3000; n++) {
        uint64_t base = spots[g_rand_int_range(r, 0, G_N_ELEMENTS(spots))];
        uint64_t dpa = base + g_rand_int_range(r, 0, 2 * PAGE - 8);
        int size = sizes[g_rand_int_range(r, 0, 4)];
        uint64_t v = ((uint64_t)g_rand_int(r) << 32) | g_rand_int(r);
        uint8_t le[8];

        cram_write_sized(&t, dpa, v, size);
        stq_le_p(le, v);
        shadow_write(&s, dpa, le, size);
        if (n % 7 == 0) {
            /* read back at once, same size and alignment */
            uint64_t mask = size == 8 ? ~0ULL : (1ULL << (8 * size)) - 1;

            g_assert_cmphex(cram_read_sized(&t, dpa, size), ==, v & mask);
        }
    }
    /* Bulk writes that cross pages, over earlier small writes. */
    for (i = 0; i < G_N_ELEMENTS(spots); i++) {
        uint64_t dpa = spots[i] + g_rand_int_range(r, 1, PAGE);
        size_t len = g_rand_int_range(r, 1, PAGE + 100);

        if (i % 2) {
            cram_fill_words(buf, len, i);
        } else {
            fill_random(buf, len, i);
        }
        qtest_memwrite(t.qts, t.window + dpa, buf, len);
        shadow_write(&s, dpa, buf, len);
    }
    /* The very last byte of the capacity. */
    qtest_writeb(t.qts, t.window + CAP_8G - 1, 0xa5);
    buf[0] = 0xa5;
    shadow_write(&s, CAP_8G - 1, buf, 1);
    g_assert_cmphex(qtest_readb(t.qts, t.window + CAP_8G - 1), ==, 0xa5);

    g_hash_table_iter_init(&it, s.pages);
    while (g_hash_table_iter_next(&it, &key, &val)) {
        uint64_t page = *(uint64_t *)key;

        qtest_memread(t.qts, t.window + page * PAGE, got, PAGE);
        g_assert_cmpmem(got, PAGE, val, PAGE);
    }
    /* An untouched page in the middle reads zero. */
    qtest_memread(t.qts, t.window + CAP_8G / 2 + 100 * PAGE, got, PAGE);
    memset(buf, 0, PAGE);
    g_assert_cmpmem(got, PAGE, buf, PAGE);

    g_hash_table_destroy(s.pages);
    g_rand_free(r);
    cram_stop(&t);
}

static void write_pages(CramQT *t, uint64_t dpa, size_t npages,
                        void (*fill)(uint8_t *, size_t, uint32_t),
                        uint32_t seed)
{
    g_autofree uint8_t *buf = g_malloc(64 * PAGE);

    while (npages) {
        size_t n = MIN(npages, 64);

        fill(buf, n * PAGE, seed++);
        qtest_memwrite(t->qts, t->window + dpa, buf, n * PAGE);
        dpa += n * PAGE;
        npages -= n;
    }
}

static void fill_zero(uint8_t *buf, size_t len, uint32_t seed)
{
    memset(buf, 0, len);
}

/* Each page one repeated 64-bit word, different per page. */
static void fill_same(uint8_t *buf, size_t len, uint32_t seed)
{
    size_t i;

    for (i = 0; i < len; i += 8) {
        stq_le_p(buf + i, 0x0101010101010101ULL * (seed + i / PAGE + 1));
    }
}

static void test_zero_pages(void)
{
    CramQT t;

    cram_start(&t, CAP_8G, NULL);
    write_pages(&t, 0, 256, cram_fill_words, 1);
    write_pages(&t, 0, 256, fill_zero, 0);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_MEDIA_USED), ==, 0);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_LOGICAL_HELD), ==, 0);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_PAGES_ZERO), ==, 256);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_PAGES_COMP), ==, 0);
    cram_stop(&t);
}

static void test_ratio_compressible(void)
{
    QDict *st;
    uint64_t used, ratio;
    CramQT t;

    cram_start(&t, CAP_8G, NULL);
    write_pages(&t, 1 * GiB, 1024, cram_fill_words, 7);
    used = cram_reg(&t, CXL_CRAM_REG_MEDIA_USED);
    ratio = cram_reg(&t, CXL_CRAM_REG_RATIO);
    g_test_message("4 MiB text: media used %" PRIu64 ", ratio %.2f",
                   used, ratio / 65536.0);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_LOGICAL_HELD), ==, 4 * MiB);
    g_assert_cmpuint(ratio, >, 2 << 16);
    g_assert_cmpuint(used, >, 0);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_MEDIA_FREE), ==,
                     1 * GiB - used);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_PAGES_COMP), ==, 1024);

    st = cram_stats(&t);
    g_assert_cmpuint(qdict_get_int(st, "media-used"), ==, used);
    g_assert_cmpuint(qdict_get_int(st, "logical-held"), ==, 4 * MiB);
    g_assert_cmpuint(qdict_get_int(st, "pages-compressed"), ==, 1024);
    g_assert_cmpfloat_with_epsilon(qdict_get_double(st, "ratio"),
                                   ratio / 65536.0, 0.000001);
    qobject_unref(st);
    cram_stop(&t);
}

static void test_ratio_random(void)
{
    uint64_t ratio;
    CramQT t;

    cram_start(&t, CAP_8G, NULL);
    write_pages(&t, 3 * GiB, 1024, fill_random, 9);
    ratio = cram_reg(&t, CXL_CRAM_REG_RATIO);
    g_test_message("4 MiB random: ratio %.3f", ratio / 65536.0);
    g_assert_cmpuint(ratio, >=, 0.95 * 65536);
    g_assert_cmpuint(ratio, <=, 65536);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_PAGES_RAW), ==, 1024);
    cram_stop(&t);
}

/* Rewrites and zeroing return media used to the baseline exactly. */
static void test_no_leak(void)
{
    uint64_t base;
    uint8_t out[64];
    size_t len;
    CramQT t;
    int round;

    cram_start(&t, CAP_8G, "media-size=64M");
    write_pages(&t, 0, 512, cram_fill_words, 3);            /* baseline data */
    base = cram_reg(&t, CXL_CRAM_REG_MEDIA_USED);
    g_assert_cmpuint(base, >, 0);
    for (round = 0; round < 3; round++) {
        write_pages(&t, 2 * GiB, 256, cram_fill_words, 10 + round);
        write_pages(&t, 2 * GiB + 128 * PAGE, 256, fill_random, 20 + round);
        g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_MEDIA_USED), >, base);
        write_pages(&t, 2 * GiB, 384, fill_zero, 0);
        g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_MEDIA_USED), ==, base);
    }
    /* Sanitize discards everything at once. */
    g_assert_cmpint(cram_mbox(&t, 0x4400, NULL, 0, out, &len), ==, 0);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_MEDIA_USED), ==, 0);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_LOGICAL_HELD), ==, 0);
    g_assert_cmphex(qtest_readq(t.qts, t.window), ==, 0);
    cram_stop(&t);
}

/*
 * 16 MiB of media: text pages first, then random pages until the media
 * is full.  Further writes are dropped and counted; every page stored
 * before reads back intact, and each dropped page is poisoned: it reads
 * all-ones.
 */
static void test_overfill(void)
{
    const size_t text_pages = 1024, rand_pages = 5120;
    g_autofree uint8_t *want = g_malloc(64 * PAGE);
    g_autofree uint8_t *have = g_malloc(64 * PAGE);
    g_autofree uint8_t *ones = g_malloc(PAGE);
    uint8_t got[PAGE];
    uint64_t dropped, lost = 0, used;
    const uint64_t rbase = 4 * GiB;
    CramQT t;
    size_t i;

    memset(ones, 0xff, PAGE);
    cram_start(&t, CAP_8G, "media-size=16M,poison-mce=off");
    write_pages(&t, 0, text_pages, cram_fill_words, 100);
    write_pages(&t, rbase, rand_pages, fill_random, 200);
    dropped = cram_reg(&t, CXL_CRAM_REG_DROPPED_WRITES);
    used = cram_reg(&t, CXL_CRAM_REG_MEDIA_USED);
    g_test_message("dropped %" PRIu64 " of %zu, used %" PRIu64, dropped,
                   rand_pages, used);
    g_assert_cmpuint(dropped, >, 0);
    g_assert_cmpuint(used, <=, 16 * MiB);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_MEDIA_FREE), ==,
                     16 * MiB - used);

    for (i = 0; i < text_pages; i += 64) {
        cram_fill_words(want, 64 * PAGE, 100 + i / 64);
        qtest_memread(t.qts, t.window + i * PAGE, have, 64 * PAGE);
        g_assert_cmpmem(have, 64 * PAGE, want, 64 * PAGE);
    }
    for (i = 0; i < rand_pages; i++) {
        if (i % 64 == 0) {
            fill_random(want, 64 * PAGE, 200 + i / 64);
        }
        qtest_memread(t.qts, t.window + rbase + i * PAGE, got, PAGE);
        if (memcmp(got, want + (i % 64) * PAGE, PAGE)) {
            g_assert_cmpmem(got, PAGE, ones, PAGE);   /* poisoned */
            lost++;
        }
    }
    g_assert_cmpuint(lost, ==, dropped);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_DROPPED_WRITES), ==,
                     dropped);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_POISONED_PAGES), ==, dropped);
    /* every 8-byte read of a poisoned page took poison */
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_POISONED_READS), ==,
                     dropped * (PAGE / 8));
    cram_stop(&t);
}

static void cram_wreg(CramQT *t, uint64_t reg, uint64_t val)
{
    qtest_writeq(t->qts, t->regs + reg, val);
}

/* MSI-X is not enabled in these tests, so a fired vector is pending. */
static bool msix_pending(CramQT *t, int vector)
{
    return qtest_readq(t->qts, t->bar[CXL_CRAM_MSIX_BAR] +
                       CXL_CRAM_MSIX_PBA) & (1ULL << vector);
}

static void test_watermarks(void)
{
    CramQT t;

    cram_start(&t, CAP_8G, "media-size=100M");
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_WM_LOW), ==, 75 * MiB);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_WM_HIGH), ==, 90 * MiB);
    cram_wreg(&t, CXL_CRAM_REG_WM_LOW, 10 * MiB);
    cram_wreg(&t, CXL_CRAM_REG_WM_HIGH, 20 * MiB);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_WM_LOW), ==, 10 * MiB);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_WM_HIGH), ==, 20 * MiB);
    /* Rejected: low >= high, high above the media; nothing changes. */
    cram_wreg(&t, CXL_CRAM_REG_WM_LOW, 20 * MiB);
    cram_wreg(&t, CXL_CRAM_REG_WM_HIGH, 101 * MiB);
    cram_wreg(&t, CXL_CRAM_REG_WM_HIGH, 5 * MiB);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_WM_LOW), ==, 10 * MiB);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_WM_HIGH), ==, 20 * MiB);
    /* A 4-byte write changes one half. */
    qtest_writel(t.qts, t.regs + CXL_CRAM_REG_WM_HIGH, 30 * MiB);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_WM_HIGH), ==, 30 * MiB);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_STATUS), ==, 0);
    /* Read-only and reserved registers ignore writes. */
    cram_wreg(&t, CXL_CRAM_REG_STATUS, ~0ULL);
    cram_wreg(&t, CXL_CRAM_REG_HEADROOM_PAGES, 1);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_STATUS), ==, 0);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_HEADROOM_PAGES), ==,
                     100 * MiB / PAGE);
    cram_stop(&t);
}

/*
 * Random data fills 16 MiB of media: NO_ALLOC, interrupts (own vector and
 * 12), dropped writes poison pages; discard heals and brings the device
 * back below low: NO_ALLOC clears and vector 13 fires.
 */
static void test_no_alloc(void)
{
    const uint32_t all = CXL_CRAM_IRQ_MASK;
    uint64_t st, used;
    uint8_t page[PAGE];
    CramQT t;

    cram_start(&t, CAP_8G, "media-size=16M,poison-mce=off");
    cram_wreg(&t, CXL_CRAM_REG_IRQ_ENABLE, all);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_IRQ_ENABLE), ==, all);

    write_pages(&t, 0, 3800, fill_random, 5);     /* 14.8 MiB: > 14.4 */
    st = cram_reg(&t, CXL_CRAM_REG_STATUS);
    g_assert_cmphex(st, ==, CXL_CRAM_STATUS_ABOVE_LOW |
                    CXL_CRAM_STATUS_ABOVE_HIGH | CXL_CRAM_STATUS_NO_ALLOC);
    g_assert_cmphex(cram_reg(&t, CXL_CRAM_REG_IRQ_STATUS), ==,
                    (1 << CXL_CRAM_IRQ_LOW_RISE) |
                    (1 << CXL_CRAM_IRQ_HIGH_RISE));
    g_assert_true(msix_pending(&t, CXL_CRAM_MSIX_VECTOR));
    g_assert_true(msix_pending(&t, CXL_CRAM_MSIX_DANGER));
    g_assert_false(msix_pending(&t, CXL_CRAM_MSIX_SAFE));
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_IRQ_DANGER), ==, 1);
    used = cram_reg(&t, CXL_CRAM_REG_MEDIA_USED);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_HEADROOM_PAGES), ==,
                     (16 * MiB - used) / PAGE);
    /* W1C */
    cram_wreg(&t, CXL_CRAM_REG_IRQ_STATUS, 1 << CXL_CRAM_IRQ_LOW_RISE);
    g_assert_cmphex(cram_reg(&t, CXL_CRAM_REG_IRQ_STATUS), ==,
                    1 << CXL_CRAM_IRQ_HIGH_RISE);

    /* Past exhaustion: dropped, poisoned, the DROPPED cause once. */
    write_pages(&t, 1 * GiB, 1024, fill_random, 50);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_DROPPED_WRITES), >, 0);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_POISONED_PAGES), ==,
                     cram_reg(&t, CXL_CRAM_REG_DROPPED_WRITES));
    st = cram_reg(&t, CXL_CRAM_REG_STATUS);
    g_assert_true(st & CXL_CRAM_STATUS_EXHAUSTED);
    g_assert_true(st & CXL_CRAM_STATUS_POISON);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_IRQ_COUNT(
                                  CXL_CRAM_IRQ_DROPPED)), ==, 1);
    g_assert_cmpuint(qtest_readq(t.qts, t.window + 1 * GiB + 1023 * PAGE),
                     ==, ~0ULL);

    /* Bad discards change nothing. */
    used = cram_reg(&t, CXL_CRAM_REG_MEDIA_USED);
    cram_wreg(&t, CXL_CRAM_REG_DISCARD_DPA, 100);
    cram_wreg(&t, CXL_CRAM_REG_DISCARD_PAGES, 1);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_DISCARD_RESULT), ==,
                     CXL_CRAM_DISCARD_UNALIGNED);
    cram_wreg(&t, CXL_CRAM_REG_DISCARD_DPA, CAP_8G - PAGE);
    cram_wreg(&t, CXL_CRAM_REG_DISCARD_PAGES, 2);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_DISCARD_RESULT), ==,
                     CXL_CRAM_DISCARD_RANGE);
    cram_wreg(&t, CXL_CRAM_REG_DISCARD_PAGES, 0);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_DISCARD_RESULT), ==,
                     CXL_CRAM_DISCARD_EMPTY);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_MEDIA_USED), ==, used);

    /* A partial write does not heal a poisoned page; a full one does. */
    qtest_writeq(t.qts, t.window + 1 * GiB + 1023 * PAGE, 42);
    g_assert_cmpuint(qtest_readq(t.qts, t.window + 1 * GiB + 1023 * PAGE),
                     ==, 42);
    cram_flush(&t);                     /* the partial write is dropped */
    g_assert_cmpuint(qtest_readq(t.qts, t.window + 1 * GiB + 1023 * PAGE),
                     ==, ~0ULL);

    /* Discard the random data: below low, safe again, poison cleared. */
    cram_wreg(&t, CXL_CRAM_REG_DISCARD_DPA, 0);
    cram_wreg(&t, CXL_CRAM_REG_DISCARD_PAGES, 3800);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_DISCARD_RESULT), ==,
                     CXL_CRAM_DISCARD_OK);
    cram_wreg(&t, CXL_CRAM_REG_DISCARD_DPA, 1 * GiB);
    cram_wreg(&t, CXL_CRAM_REG_DISCARD_PAGES, 1024);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_POISONED_PAGES), ==, 0);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_STATUS), ==, 0);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_MEDIA_USED), ==, 0);
    g_assert_true(msix_pending(&t, CXL_CRAM_MSIX_SAFE));
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_IRQ_SAFE), ==, 1);
    g_assert_true(cram_reg(&t, CXL_CRAM_REG_IRQ_STATUS) &
                  (1 << CXL_CRAM_IRQ_LOW_FALL));
    g_assert_cmpuint(qtest_readq(t.qts, t.window + 1 * GiB), ==, 0);

    /* A full-page write that fits heals a poisoned page. */
    write_pages(&t, 0, 4200, fill_random, 70);      /* overfill again */
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_POISONED_PAGES), >, 0);
    g_assert_cmpuint(qtest_readq(t.qts, t.window + 4199 * PAGE), ==, ~0ULL);
    cram_wreg(&t, CXL_CRAM_REG_DISCARD_DPA, 0);
    cram_wreg(&t, CXL_CRAM_REG_DISCARD_PAGES, 16);   /* make room */
    memset(page, 0x3c, PAGE);
    page[7] = 1;
    qtest_memwrite(t.qts, t.window + 4199 * PAGE, page, PAGE);
    g_assert_cmpuint(qtest_readb(t.qts, t.window + 4199 * PAGE + 7), ==, 1);
    g_assert_cmpuint(qtest_readb(t.qts, t.window + 4199 * PAGE + 8), ==,
                     0x3c);
    cram_stop(&t);
}

/* Write the MSI-X capability's Message Control. */
static void msix_control(CramQT *t, uint16_t ctrl)
{
    uint8_t pos = cram_find_cap(t->qts, CRAM_DEV_BUS, 0, PCI_CAP_ID_MSIX);

    g_assert(pos);
    qtest_writew(t->qts, cram_ecam(CRAM_DEV_BUS, 0, pos + PCI_MSIX_FLAGS),
                 ctrl);
}

/* MSI-X Enable with Function Mask: vectors pend instead of firing. */
static void msix_enable_masked(CramQT *t)
{
    msix_control(t, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
}

/* Get Poison List over [start, start + len); returns the record count. */
static int get_poison(CramQT *t, uint64_t start, uint64_t len,
                      uint8_t *out, bool *more)
{
    uint8_t in[16];
    size_t out_len;

    stq_le_p(in, start);
    stq_le_p(in + 8, len / 64);
    g_assert_cmpint(cram_mbox(t, 0x4300, in, 16, out, &out_len), ==, 0);
    *more = out[0] & 1;
    g_assert_cmpuint(out_len, ==, 0x20 + 16 * lduw_le_p(out + 0xa));
    return lduw_le_p(out + 0xa);
}

static int inject_poison(CramQT *t, uint64_t dpa)
{
    uint8_t in[8];
    size_t len;

    stq_le_p(in, dpa);
    return cram_mbox(t, 0x4301, in, 8, NULL, &len);
}

/*
 * MSI-X on with the function masked, so that signalled vectors show as
 * pending; failure log interrupts on (Set Event Interrupt Policy).
 */
static void failure_irq_on(CramQT *t)
{
    uint8_t in4[4] = { 0, 0, 0x01, 0 };                 /* failure: MSI-X */
    size_t len;

    msix_enable_masked(t);
    g_assert_cmpint(cram_mbox(t, 0x0103, in4, 4, NULL, &len), ==, 0);
    g_assert_false(msix_pending(t, 4));
}

/*
 * Dropped writes show in the poison list, coalesced into one record per
 * run of pages with source "internal", and in the Failure event log as
 * General Media Events carrying the DPA.
 */
static void test_poison_list(void)
{
    uint8_t out[2048], in[1];
    uint64_t dropped, first_bad = 0;
    size_t len;
    bool more;
    CramQT t;
    int n, i;

    cram_start(&t, CAP_8G, "media-size=16M,poison-mce=off");
    failure_irq_on(&t);
    write_pages(&t, 1 * GiB, 4608, fill_random, 3);     /* 18 MiB */
    g_assert_true(msix_pending(&t, 4));     /* cxl-type3's failure log */
    dropped = cram_reg(&t, CXL_CRAM_REG_DROPPED_WRITES);
    g_assert_cmpuint(dropped, ==, 4608 - 4096);

    n = get_poison(&t, 0, CAP_8G, out, &more);
    g_assert_cmpint(n, ==, 1);
    g_assert_false(more);
    first_bad = ldq_le_p(out + 0x20) & ~0x3fULL;
    g_assert_cmphex(ldq_le_p(out + 0x20) & 7, ==, 2);      /* internal */
    g_assert_cmphex(first_bad, ==, 1 * GiB + 4096ULL * PAGE);
    g_assert_cmpuint(ldl_le_p(out + 0x28), ==, dropped * PAGE / 64);
    /* A query inside the run is clipped to the query. */
    n = get_poison(&t, first_bad + 2 * PAGE, PAGE, out, &more);
    g_assert_cmpint(n, ==, 1);
    g_assert_cmphex(ldq_le_p(out + 0x20) & ~0x3fULL, ==,
                    first_bad + 2 * PAGE);
    g_assert_cmpuint(ldl_le_p(out + 0x28), ==, PAGE / 64);
    /* Misaligned or out-of-range queries are rejected. */
    stq_le_p(out, 32);
    stq_le_p(out + 8, 1);
    g_assert_cmpint(cram_mbox(&t, 0x4300, out, 16, NULL, &len), ==, 0x2);
    stq_le_p(out, CAP_8G);                  /* Invalid Physical Address */
    g_assert_cmpint(cram_mbox(&t, 0x4300, out, 16, NULL, &len), ==, 0xf);

    /* Failure log (2): General Media Events with the dropped DPAs. */
    in[0] = 2;
    g_assert_cmpint(cram_mbox(&t, 0x0100, in, 1, out, &len), ==, 0);
    n = lduw_le_p(out + 0x14);
    g_assert_cmpint(n, >, 0);
    /* General Media Event UUID fbcd0a77-... */
    g_assert_cmphex((uint32_t)ldl_be_p(out + 0x20), ==, 0xfbcd0a77);
    g_assert_cmphex(ldq_le_p(out + 0x20 + 48), ==, first_bad | 1);
    for (i = 1; i < n; i++) {
        g_assert_cmphex(ldq_le_p(out + 0x20 + 128 * i + 48), ==,
                        (first_bad + i * PAGE) | 1);
    }
    cram_stop(&t);
}

/* A failure-policy set by the property (@runtime false) or by QMP */
static void start_failure_policy(CramQT *t, bool runtime, const char *policy)
{
    g_autofree char *props = g_strdup_printf("media-size=16M,poison-mce=off"
                                             "%s%s", runtime ? "" :
                                             ",failure-policy=", runtime ?
                                             "" : policy);
    QDict *rsp;

    cram_start(t, CAP_8G, props);
    g_assert_null(qtest_qmp_event_ref(t->qts, "CXL_CRAM_WRITE_DROPPED"));
    if (runtime) {
        qtest_qmp_assert_success(t->qts, "{'execute': 'cxl-cram-set', "
                                 "'arguments': {'path': "
                                 "'/machine/peripheral/cram0', "
                                 "'failure-policy': %s}}", policy);
    }
    rsp = qtest_qmp(t->qts, "{'execute': 'qom-get', 'arguments': {'path': "
                    "'/machine/peripheral/cram0', 'property': "
                    "'failure-policy'}}");
    g_assert_cmpstr(qdict_get_str(rsp, "return"), ==, policy);
    qobject_unref(rsp);
}

/* The host takes every free media page: any new object finds none. */
static void take_all_media(CramQT *t)
{
    QDict *st = cram_stats(t);
    uint64_t free = qdict_get_int(st, "media-free") / PAGE * PAGE;

    qobject_unref(st);
    qtest_qmp_assert_success(t->qts, "{'execute': 'cxl-cram-take-media', "
                             "'arguments': {'path': "
                             "'/machine/peripheral/cram0', 'size': %"
                             PRIu64 "}}", free);
}

/*
 * failure-policy=log (@data: set at run time by cxl-cram-set instead of
 * the property): a write that finds no media is dropped, counted and
 * logged, but nothing is poisoned: a page written with ones and a page
 * never written read back as they were after random data found no media
 * for them; POISON is clear, the poison list empty; CXL_CRAM_WRITE_DROPPED
 * names the first page, not poisoned; the Failure log holds
 * a General Media Event (data path error, host write, permanent) with
 * the page's DPA and its interrupt fired; the log's overflow bounds the
 * records.  Switched back to poison, the next dropped write poisons.
 */
static void test_failure_log(const void *data)
{
    const uint64_t a = 1 * GiB, b = a + PAGE, c = a + 2 * PAGE;
    uint8_t out[2048], page[PAGE], want[PAGE], in[1] = { 2 };
    uint64_t dropped;
    size_t len;
    bool more;
    QDict *ev;
    CramQT t;

    start_failure_policy(&t, GPOINTER_TO_INT(data), "log");
    failure_irq_on(&t);
    qtest_memset(t.qts, t.window + a, 1, PAGE);         /* same-filled */
    cram_flush(&t);
    take_all_media(&t);

    write_pages(&t, a, 2, fill_random, 7);              /* a and b */
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_DROPPED_WRITES), >, 0);
    ev = qtest_qmp_eventwait_ref(t.qts, "CXL_CRAM_WRITE_DROPPED");
    g_assert_cmphex(qdict_get_int(qdict_get_qdict(ev, "data"), "dpa"), ==,
                    a);
    g_assert_false(qdict_get_bool(qdict_get_qdict(ev, "data"), "poisoned"));
    qobject_unref(ev);
    g_assert_cmphex(cram_reg(&t, CXL_CRAM_REG_STATUS) &
                    (CXL_CRAM_STATUS_EXHAUSTED | CXL_CRAM_STATUS_POISON), ==,
                    CXL_CRAM_STATUS_EXHAUSTED);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_POISONED_PAGES), ==, 0);
    memset(want, 1, PAGE);
    qtest_memread(t.qts, t.window + a, page, PAGE);
    g_assert_cmpmem(page, PAGE, want, PAGE);
    memset(want, 0, PAGE);
    qtest_memread(t.qts, t.window + b, page, PAGE);
    g_assert_cmpmem(page, PAGE, want, PAGE);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_POISONED_READS), ==, 0);
    g_assert_cmpint(get_poison(&t, 0, CAP_8G, out, &more), ==, 0);

    /*
     * Failure log: a record per drop, the first one's first; 8 at most,
     * the rest counted as overflow (with the cache, each 8-byte write of
     * a page that cannot be charged is a store, and drops)
     */
    g_assert_true(msix_pending(&t, 4));
    g_assert_cmpint(cram_mbox(&t, 0x0100, in, 1, out, &len), ==, 0);
    dropped = cram_reg(&t, CXL_CRAM_REG_DROPPED_WRITES);
    g_assert_cmpuint(lduw_le_p(out + 0x14), ==, MIN(dropped, 8));
    g_assert_cmphex(out[0] & 1, ==, dropped > 8);       /* overflow */
    g_assert_cmpuint(lduw_le_p(out + 2), ==, dropped - MIN(dropped, 8));
    g_assert_cmphex((uint32_t)ldl_be_p(out + 0x20), ==, 0xfbcd0a77);
    g_assert_cmphex(out[0x20 + 17], ==, 2 | 4);     /* failure, permanent */
    g_assert_cmphex(ldq_le_p(out + 0x20 + 48), ==, a | 1);  /* volatile */
    g_assert_cmpuint(out[0x20 + 0x38], ==, 1);          /* uncorrectable */
    g_assert_cmpuint(out[0x20 + 0x39], ==, 2);          /* data path */
    g_assert_cmpuint(out[0x20 + 0x3a], ==, 2);          /* host write */

    /* back to poison: the next page that finds no media is poisoned */
    qtest_qmp_assert_success(t.qts, "{'execute': 'cxl-cram-set', "
                             "'arguments': {'path': "
                             "'/machine/peripheral/cram0', "
                             "'failure-policy': 'poison'}}");
    write_pages(&t, c, 1, fill_random, 9);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_POISONED_PAGES), ==, 1);
    g_assert_cmpint(get_poison(&t, 0, CAP_8G, out, &more), ==, 1);
    g_assert_cmphex(ldq_le_p(out + 0x20) & ~0x3fULL, ==, c);
    cram_stop(&t);
}

/* Hundreds of records: Get Poison List pages through them, no assert. */
static void test_poison_many(void)
{
    uint8_t out[2048];
    int total = 0, calls = 0, n, i;
    bool more;
    CramQT t;

    cram_start(&t, CAP_8G, "poison-mce=off");
    for (i = 0; i < 300; i++) {
        g_assert_cmpint(inject_poison(&t, 2 * GiB + 2ULL * i * PAGE), ==, 0);
    }
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_POISONED_PAGES), ==, 300);
    do {
        n = get_poison(&t, 0, CAP_8G, out, &more);
        for (i = 0; i < n; i++) {
            uint64_t a = ldq_le_p(out + 0x20 + 16 * i);

            g_assert_cmphex(a & 7, ==, 3);                  /* injected */
            g_assert_cmphex(a & ~0x3fULL, ==,
                            2 * GiB + 2ULL * (total + i) * PAGE);
            g_assert_cmpuint(ldl_le_p(out + 0x28 + 16 * i), ==, PAGE / 64);
        }
        total += n;
        calls++;
    } while (more && calls < 10);
    g_assert_cmpint(total, ==, 300);
    g_assert_cmpint(calls, ==, 3);
    /* Injected poison is felt: all-ones. */
    g_assert_cmphex(qtest_readq(t.qts, t.window + 2 * GiB), ==, ~0ULL);
    cram_stop(&t);
}

/* Clear Poison writes its 64 bytes; the rest of the page reads zero. */
static void test_clear_poison(void)
{
    uint8_t in[72], out[2048], line[64];
    const uint64_t dpa = 3 * GiB + 5 * PAGE;
    size_t len;
    bool more;
    CramQT t;

    cram_start(&t, CAP_8G, "poison-mce=off");
    write_pages(&t, 3 * GiB, 8, cram_fill_words, 4);
    g_assert_cmpint(inject_poison(&t, dpa + 128), ==, 0);
    g_assert_cmphex(qtest_readq(t.qts, t.window + dpa + 64), ==, ~0ULL);
    g_assert_cmpint(get_poison(&t, 0, CAP_8G, out, &more), ==, 1);

    memset(in + 8, 0x5a, 64);
    stq_le_p(in, dpa + 64);
    g_assert_cmpint(cram_mbox(&t, 0x4302, in, 72, NULL, &len), ==, 0);
    qtest_memread(t.qts, t.window + dpa + 64, line, 64);
    g_assert_cmpmem(line, 64, in + 8, 64);
    g_assert_cmphex(qtest_readq(t.qts, t.window + dpa), ==, 0);
    g_assert_cmphex(qtest_readq(t.qts, t.window + dpa + PAGE - 8), ==, 0);
    g_assert_cmpint(get_poison(&t, 0, CAP_8G, out, &more), ==, 0);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_POISONED_PAGES), ==, 0);
    /* Bad input */
    stq_le_p(in, dpa + 8);
    g_assert_cmpint(cram_mbox(&t, 0x4302, in, 72, NULL, &len), ==, 0x2);
    g_assert_cmpint(cram_mbox(&t, 0x4302, in, 40, NULL, &len), ==, 0x16);
    cram_stop(&t);
}

/* Media Operations (4402h): discovery, probe, zero, bad input. */
static void test_media_ops(void)
{
    uint8_t in[8 + 16 * 4], out[2048];
    uint64_t used;
    size_t len;
    bool more;
    CramQT t;

    cram_start(&t, CAP_8G, "media-size=16M,poison-mce=off");
    memset(in, 0, sizeof(in));
    stw_le_p(in + 10, 2);                       /* discovery: 0, 2 ops */
    g_assert_cmpint(cram_mbox(&t, 0x4402, in, 12, out, &len), ==, 0);
    g_assert_cmpuint(len, ==, 16);
    g_assert_cmpuint(ldq_le_p(out), ==, 64);
    g_assert_cmpuint(lduw_le_p(out + 8), ==, 2);
    g_assert_cmpuint(lduw_le_p(out + 10), ==, 2);
    g_assert_cmphex(out[14], ==, 1);
    g_assert_cmphex(out[15], ==, 1);
    stw_le_p(in + 10, 3);                       /* asks too many */
    g_assert_cmpint(cram_mbox(&t, 0x4402, in, 12, out, &len), ==, 0x2);

    /* Probe: zero with no range succeeds and changes nothing. */
    in[0] = 1;
    in[1] = 1;
    g_assert_cmpint(cram_mbox(&t, 0x4402, in, 8, NULL, &len), ==, 0);

    write_pages(&t, 0, 4200, fill_random, 8);       /* overfill */
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_POISONED_PAGES), ==, 104);
    used = cram_reg(&t, CXL_CRAM_REG_MEDIA_USED);

    /* Bad input changes nothing. */
    stl_le_p(in + 4, 1);
    stq_le_p(in + 8, 32);
    stq_le_p(in + 16, PAGE);
    g_assert_cmpint(cram_mbox(&t, 0x4402, in, 24, NULL, &len), ==, 0x2);
    stq_le_p(in + 8, CAP_8G - PAGE);
    stq_le_p(in + 16, 2 * PAGE);
    g_assert_cmpint(cram_mbox(&t, 0x4402, in, 24, NULL, &len), ==, 0x2);
    stq_le_p(in + 16, 0);
    g_assert_cmpint(cram_mbox(&t, 0x4402, in, 24, NULL, &len), ==, 0x2);
    g_assert_cmpint(cram_mbox(&t, 0x4402, in, 40, NULL, &len), ==, 0x16);
    in[1] = 7;
    g_assert_cmpint(cram_mbox(&t, 0x4402, in, 24, NULL, &len), ==, 0x3);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_MEDIA_USED), ==, used);

    /* Zero: the first 100 pages, a partial line run, the poisoned tail. */
    in[1] = 1;
    stl_le_p(in + 4, 3);
    stq_le_p(in + 8, 0);
    stq_le_p(in + 16, 100 * PAGE);
    stq_le_p(in + 24, 200 * PAGE + 64);
    stq_le_p(in + 32, 128);
    stq_le_p(in + 40, 4096ULL * PAGE);
    stq_le_p(in + 48, 104 * PAGE);
    g_assert_cmpint(cram_mbox(&t, 0x4402, in, 56, NULL, &len), ==, 0);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_POISONED_PAGES), ==, 0);
    g_assert_cmpint(get_poison(&t, 0, CAP_8G, out, &more), ==, 0);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_MEDIA_USED), ==,
                     used - 100 * PAGE);
    g_assert_cmphex(qtest_readq(t.qts, t.window + 99 * PAGE), ==, 0);
    g_assert_cmphex(qtest_readq(t.qts, t.window + 4100ULL * PAGE), ==, 0);
    g_assert_cmphex(qtest_readq(t.qts, t.window + 200 * PAGE + 64), ==, 0);
    g_assert_cmphex(qtest_readq(t.qts, t.window + 200 * PAGE + 184), ==, 0);
    g_assert_cmphex(qtest_readq(t.qts, t.window + 200 * PAGE + 192), !=, 0);
    cram_stop(&t);
}

/*
 * With poison-mce on (the default), only a load that a vCPU executes takes
 * a machine check (the guest tests take them).  A read by anything else,
 * here qtest and the monitor's xp, is a failed transaction (qtest reads
 * all-ones, xp says "Cannot access memory"), one poisoned read each, and
 * no check.  It used to queue a check to vCPU 0, which
 * under qtest never enabled CR4.MCE, so the machine was reset.
 */
static void test_poison_mce(void)
{
    uint64_t hpa;
    g_autofree char *cmd = NULL;
    g_autofree char *out = NULL;
    CramQT t;

    cram_start(&t, CAP_8G, NULL);
    g_assert_cmpint(inject_poison(&t, 5 * GiB), ==, 0);
    hpa = t.window + 5 * GiB + 8;
    g_assert_cmphex(qtest_readq(t.qts, hpa), ==, ~0ULL);
    cmd = g_strdup_printf("xp /1gx 0x%" PRIx64, hpa);
    out = qtest_hmp(t.qts, "%s", cmd);
    g_assert_nonnull(strstr(out, "Cannot access memory"));
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_POISONED_READS), ==, 2);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_MCE_RAISED), ==, 0);
    /* no reset: the BARs are still where the test put them */
    g_assert_cmphex(qtest_readw(t.qts, cram_ecam(CRAM_DEV_BUS, 0, 0)), ==,
                    CXL_CRAM_PCI_VENDOR_ID);
    cram_stop(&t);
}

/*
 * The cache: a dirty page is charged one media page until stored, the
 * page in use stays dirty, a flush stores everything; with cache-size=0
 * nothing is ever reserved.  With ram-path=on (CRAM_QTEST_PROPS) the
 * window maps the cached pages: a hit is a plain access the device does
 * not see, and the device sees each page's first access as a fault.
 */
static void test_cache(void)
{
    uint64_t reserved, dirty, hits;
    bool ram_path;
    QDict *st;
    CramQT t;

    cram_start(&t, CAP_8G, "cache-size=1M");
    write_pages(&t, 0, 100, cram_fill_words, 1);
    /* raw reads: no flush */
    reserved = qtest_readq(t.qts, t.regs + CXL_CRAM_REG_MEDIA_RESERVED);
    dirty = qtest_readq(t.qts, t.regs + CXL_CRAM_REG_CACHE_DIRTY);
    hits = qtest_readq(t.qts, t.regs + CXL_CRAM_REG_CACHE_HITS);
    ram_path = cram_prop_bool(&t, "ram-path");
    if (!g_getenv("CRAM_QTEST_PROPS")) {
        g_assert_cmpuint(dirty, >=, 1);
        g_assert_cmpuint(reserved, ==, dirty * PAGE);
    }
    if (ram_path) {
        st = cram_stats(&t);
        g_assert_cmpuint(hits, ==, 0);
        g_assert_cmpuint(qdict_get_int(st, "cache-faults"), >=, 100);
        qobject_unref(st);
    } else {
        g_assert_cmpuint(hits, >, 100 * 500);
    }
    cram_flush(&t);
    g_assert_cmpuint(qtest_readq(t.qts, t.regs + CXL_CRAM_REG_MEDIA_RESERVED),
                     ==, 0);
    g_assert_cmpuint(qtest_readq(t.qts, t.regs + CXL_CRAM_REG_CACHE_DIRTY),
                     ==, 0);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_PAGES_COMP), ==, 100);
    cram_stop(&t);
    if (ram_path) {
        return;     /* ram-path needs the cache: cache-size=0 is refused */
    }

    cram_start(&t, CAP_8G, "cache-size=0");
    write_pages(&t, 0, 100, cram_fill_words, 1);
    g_assert_cmpuint(qtest_readq(t.qts, t.regs + CXL_CRAM_REG_MEDIA_RESERVED),
                     ==, 0);
    g_assert_cmpuint(qtest_readq(t.qts, t.regs + CXL_CRAM_REG_PAGES_COMP),
                     ==, 100);      /* exact without a flush */
    cram_stop(&t);
}

/*
 * The largest device: 1 TiB advertised over 1 GiB.  It realizes, serves
 * I/O at both ends and in the middle, and its metadata stays small.
 */
/*
 * Two guest-triggerable faults of the upstream CXL code that generic-fuzz
 * found (patches/0004): a 1- or 2-byte write to a mailbox register
 * aborted QEMU, and INTx Disable toggled behind the pxb-cxl indexed the
 * chipset's IRQ routing with -1 (UBSan).  QEMU survives both, the narrow
 * writes change nothing, and the mailbox still works.
 */
static void test_narrow_writes(void)
{
    uint64_t ctrl, cmd, off;
    uint16_t command;
    uint8_t out[2048];
    size_t len;
    CramQT t;

    cram_start(&t, CAP_8G, NULL);
    ctrl = qtest_readl(t.qts, t.mbox + 0x4);
    cmd = qtest_readq(t.qts, t.mbox + 0x8);
    for (off = 0; off < 0x20; off++) {
        qtest_writeb(t.qts, t.mbox + off, 0xff);
    }
    for (off = 0; off < 0x20; off += 2) {
        qtest_writew(t.qts, t.mbox + off, 0xffff);
    }
    g_assert_cmphex(qtest_readl(t.qts, t.mbox + 0x4), ==, ctrl);
    g_assert_cmphex(qtest_readq(t.qts, t.mbox + 0x8), ==, cmd);

    /* INTx Disable on the root port and on the device, then back */
    qtest_writew(t.qts, cram_ecam(CRAM_HB_BUS, 0, 0x04), 0x6 | 0x400);
    qtest_writew(t.qts, cram_ecam(CRAM_HB_BUS, 0, 0x04), 0x6);
    command = qtest_readw(t.qts, cram_ecam(CRAM_DEV_BUS, 0, 0x04));
    qtest_writew(t.qts, cram_ecam(CRAM_DEV_BUS, 0, 0x04), command | 0x400);
    qtest_writew(t.qts, cram_ecam(CRAM_DEV_BUS, 0, 0x04), command);

    g_assert_cmpint(cram_mbox(&t, 0x4000, NULL, 0, out, &len), ==, 0);
    g_assert_cmpuint(ldq_le_p(out + 0x10), ==, CAP_8G / (256 * MiB));
    cram_check_accounts(&t);
    cram_stop(&t);
}

/*
 * Accesses of 1 to 8 bytes at every offset from capacity - 8 to
 * capacity - 1, through a decoder that maps the end of the device at
 * @last8 (the HPA of DPA capacity - 8): the bytes inside the capacity are
 * stored and read back, the bytes past it read as all-ones and are never
 * stored.
 */
static void edge_accesses(CramQT *t, uint64_t last8)
{
    static const unsigned sizes[] = { 1, 2, 4, 8 };
    const uint64_t base = 0x0706050403020100ULL;
    unsigned off, i, b;

    for (off = 0; off < 8; off++) {
        for (i = 0; i < G_N_ELEMENTS(sizes); i++) {
            unsigned size = sizes[i], inside = MIN(size, 8 - off);
            uint64_t val = 0xa1b2c3d4e5f60718ULL ^ (off * 0x1111 + size);
            uint64_t want = base, mask = 0, got;

            qtest_writeq(t->qts, last8, base);
            cram_write_sized(t, last8 - t->window + off, val, size);
            for (b = 0; b < inside; b++) {
                want &= ~(0xffULL << (8 * (off + b)));
                want |= ((val >> (8 * b)) & 0xff) << (8 * (off + b));
                mask |= 0xffULL << (8 * b);
            }
            g_assert_cmphex(qtest_readq(t->qts, last8), ==, want);
            got = cram_read_sized(t, last8 - t->window + off, size);
            if (size < 8) {
                got |= ~0ULL << (8 * size);
            }
            /* inside: the value written; past the end: all-ones */
            g_assert_cmphex(got, ==, (val & mask) | ~mask);
        }
    }
}

/*
 * Guest-programmed decoders that reach past the capacity: a DPA skip in
 * decoder 0, and a decoder (and window) twice the device.  An access that
 * straddles the end used to reach the engine with its last bytes past the
 * capacity and abort QEMU.
 */
static void test_edge_of_capacity(void)
{
    const uint64_t cap = 1 * GiB;
    QDict *st;
    CramQT t;

    /* DPA skip 256 MiB: the decoder's last 256 MiB are past the device */
    cram_start_window(&t, cap, cap, "media-size=64M", "");
    cram_commit_hdm_range(&t, cap, 256 * MiB);
    edge_accesses(&t, t.window + cap - 256 * MiB - 8);
    qtest_writeq(t.qts, t.window + cap - 8, ~0ULL);     /* wholly past */
    cram_flush(&t);
    st = cram_stats(&t);
    g_assert_cmpuint(qdict_get_int(st, "logical-held"), ==, PAGE);
    qobject_unref(st);
    cram_stop(&t);

    /* A decoder and a window twice the device */
    cram_start_window(&t, cap, 2 * cap, "media-size=64M", "");
    cram_commit_hdm_range(&t, 2 * cap, 0);
    edge_accesses(&t, t.window + cap - 8);
    qtest_writeq(t.qts, t.window + cap + 4 * PAGE, ~0ULL);
    cram_flush(&t);
    st = cram_stats(&t);
    g_assert_cmpuint(qdict_get_int(st, "logical-held"), ==, PAGE);
    qobject_unref(st);
    cram_stop(&t);
}

static void test_1tib(void)
{
    const uint64_t cap = 1ULL << 40;
    const uint64_t spots[] = { 0, cap / 2 + 12345 * PAGE, cap - PAGE };
    uint8_t page[PAGE], got[PAGE];
    uint64_t meta0, meta1;
    CramQT t;
    int i;

    cram_start_args(&t, cap, NULL, "-cpu qemu64,phys-bits=42");
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_CAPACITY), ==, cap);
    meta0 = cram_reg(&t, CXL_CRAM_REG_METADATA_BYTES);
    for (i = 0; i < G_N_ELEMENTS(spots); i++) {
        cram_fill_words(page, PAGE, i);
        qtest_memwrite(t.qts, t.window + spots[i], page, PAGE);
    }
    for (i = 0; i < G_N_ELEMENTS(spots); i++) {
        cram_fill_words(page, PAGE, i);
        qtest_memread(t.qts, t.window + spots[i], got, PAGE);
        g_assert_cmpmem(got, PAGE, page, PAGE);
    }
    g_assert_cmphex(qtest_readb(t.qts, t.window + cap - 1), ==, page[PAGE - 1]);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_LOGICAL_HELD), ==, 3 * PAGE);
    /*
     * Nothing sized by the 1 TiB: the allocator's bookkeeping of the
     * 1 GiB media (70064 bytes: its media-page bitmaps and class table,
     * room for a span in each class included), then the page table's
     * first shard and its entries (docs/metadata.md).
     */
    meta1 = cram_reg(&t, CXL_CRAM_REG_METADATA_BYTES);
    g_test_message("1 TiB, 3 pages touched: metadata %" PRIu64 " bytes, "
                   "%" PRIu64 " before", meta1, meta0);
    g_assert_cmpuint(meta0, <, 96 * KiB);
    g_assert_cmpuint(meta1 - meta0, <, 4 * KiB);
    cram_stop(&t);
}

/*
 * Migrate @s to @d through @uri (unix socket or file); with a return
 * path the source learns of a failed load.  Returns the source's status.
 */
static char *mig_run(CramQT *s, CramQT *d, const char *uri,
                     uint64_t *transferred)
{
    QTestState *both[] = { s->qts, d->qts };
    int i;

    for (i = 0; i < 2; i++) {
        qtest_qmp_assert_success(both[i], "{'execute': "
                                 "'migrate-set-capabilities', 'arguments': "
                                 "{'capabilities': [{'capability': "
                                 "'return-path', 'state': true}]}}");
    }
    cram_mig_incoming(d, uri);
    cram_migrate(s, uri);
    return cram_mig_wait(s->qts, transferred);
}

/*
 * After the load: @d has the layout of @s (cram_mig_attach()), and the
 * device's BARs and HDM decoder commit came across.
 */
static void mig_attach(CramQT *d, CramQT *s)
{
    uint64_t hdm;
    int i;

    cram_mig_attach(d, s);
    for (i = 0; i < 6; i++) {
        uint64_t cfg = cram_ecam(CRAM_DEV_BUS, 0, 0x10 + 4 * i);

        g_assert_cmphex(qtest_readl(d->qts, cfg), ==,
                        qtest_readl(s->qts, cfg));
    }
    hdm = cram_find_cm_cap(d->qts, d->bar[0] + 0x1000, 5);
    g_assert_cmphex(qtest_readl(d->qts, hdm + 0x10 + 0x10) & (1 << 10), ==,
                    1 << 10);                       /* still committed */
}

/* Host-side figures that do not travel: the cache is not migrated. */
static bool mig_host_figure(const char *key)
{
    static const char *const keys[] = {
        "metadata-bytes", "cache-pages", "cache-hits", "cache-misses",
        "writebacks-sync", "writebacks-async", "cache-faults",
        "fault-misses", "fault-lock-ns", "fault-evict-ns",
        "fault-decompress-ns", "fault-fill-ns", "tlb-fills",
        "tlb-fill-misses", "tlb-fill-ns", "tlb-writes",
    };
    int i;

    for (i = 0; i < G_N_ELEMENTS(keys); i++) {
        if (!strcmp(key, keys[i])) {
            return true;
        }
    }
    return false;
}

/* Every QMP figure and every register must be the source's, exactly. */
static void mig_assert_same_figures(CramQT *s, CramQT *d)
{
    QDict *a = cram_stats(s), *b = cram_stats(d);
    const QDictEntry *e;
    int compared = 0;
    uint64_t reg;

    for (e = qdict_first(a); e; e = qdict_next(a, e)) {
        g_autoptr(GString) va = NULL, vb = NULL;

        if (mig_host_figure(e->key)) {
            continue;
        }
        g_assert_true(qdict_haskey(b, e->key));
        va = qobject_to_json(e->value);
        vb = qobject_to_json(qdict_get(b, e->key));
        if (strcmp(va->str, vb->str)) {
            g_error("stats %s: source %s, destination %s", e->key, va->str,
                    vb->str);
        }
        compared++;
    }
    g_assert_cmpint(compared, ==, 33);
    for (reg = 0; reg < CXL_CRAM_REG_CACHE_FLUSH; reg += 8) {
        if (reg == CXL_CRAM_REG_METADATA_BYTES ||
            reg == CXL_CRAM_REG_CACHE_HITS ||
            reg == CXL_CRAM_REG_CACHE_MISSES) {
            continue;
        }
        if (qtest_readq(s->qts, s->regs + reg) !=
            qtest_readq(d->qts, d->regs + reg)) {
            g_error("register 0x%" PRIx64 ": source 0x%" PRIx64
                    ", destination 0x%" PRIx64, reg,
                    qtest_readq(s->qts, s->regs + reg),
                    qtest_readq(d->qts, d->regs + reg));
        }
    }
    /* MSI-X pending bits, the memory device status */
    g_assert_cmphex(qtest_readq(s->qts, s->bar[CXL_CRAM_MSIX_BAR] +
                                CXL_CRAM_MSIX_PBA), ==,
                    qtest_readq(d->qts, d->bar[CXL_CRAM_MSIX_BAR] +
                                CXL_CRAM_MSIX_PBA));
    qobject_unref(a);
    qobject_unref(b);
}

typedef struct MigShadow {
    GHashTable *pages;          /* page -> PAGE bytes written */
} MigShadow;

static void mig_write(CramQT *t, MigShadow *sh, uint64_t dpa,
                      size_t npages, void (*fill)(uint8_t *, size_t,
                                                  uint32_t), uint32_t seed)
{
    g_autofree uint8_t *buf = g_malloc(64 * PAGE);

    while (npages) {
        size_t n = MIN(npages, 64), j;

        fill(buf, n * PAGE, seed++);
        qtest_memwrite(t->qts, t->window + dpa, buf, n * PAGE);
        for (j = 0; j < n; j++) {
            uint64_t *key = g_new(uint64_t, 1);

            *key = dpa / PAGE + j;
            g_hash_table_replace(sh->pages, key,
                                 g_memdup2(buf + j * PAGE, PAGE));
        }
        dpa += n * PAGE;
        npages -= n;
    }
}

static void mig_discard(CramQT *t, MigShadow *sh, uint64_t page,
                        uint64_t n)
{
    uint64_t i;

    cram_wreg(t, CXL_CRAM_REG_DISCARD_DPA, page * PAGE);
    cram_wreg(t, CXL_CRAM_REG_DISCARD_PAGES, n);
    g_assert_cmpuint(cram_reg(t, CXL_CRAM_REG_DISCARD_RESULT), ==, 0);
    for (i = page; i < page + n; i++) {
        g_hash_table_remove(sh->pages, &i);
    }
}

/* The poisoned pages, from Get Poison List over the whole capacity. */
static GHashTable *mig_poisoned(CramQT *t, uint8_t *out)
{
    GHashTable *set = g_hash_table_new_full(g_int64_hash, g_int64_equal,
                                            g_free, NULL);
    bool more;
    int n = get_poison(t, 0, CAP_8G, out, &more), i;

    g_assert_false(more);
    for (i = 0; i < n; i++) {
        uint64_t a = ldq_le_p(out + 0x20 + 16 * i) & ~0x3fULL;
        uint64_t len = (uint64_t)ldl_le_p(out + 0x28 + 16 * i) * 64;
        uint64_t p;

        for (p = a / PAGE; p < (a + len) / PAGE; p++) {
            g_hash_table_add(set, g_memdup2(&p, sizeof(p)));
        }
    }
    return set;
}

/*
 * A loaded device migrates: text, random, zero and same-filled pages,
 * holes from discards, dropped writes and injected poison, dirty pages
 * still in the cache, changed watermarks, interrupt state and event
 * records.  The destination holds every page, the poison list, the event
 * log, the MSI-X state, the registers and the QMP figures of the source,
 * exactly, and goes on working.
 */
static void test_migration(void)
{
    g_autofree char *sock = g_strdup_printf("%s/cram-mig-%d.sock",
                                            g_get_tmp_dir(), getpid());
    g_autofree char *uri = g_strdup_printf("unix:%s", sock);
    g_autofree uint8_t *ps = g_malloc(2048), *pd = g_malloc(2048);
    uint8_t got[PAGE], want[PAGE], in4[4] = { 0 }, in[1] = { 2 };
    MigShadow sh = {
        g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free),
    };
    uint64_t i, dropped, poisoned = 0, checked = 0;
    GHashTable *bad, *bad_d;
    GHashTableIter it;
    gpointer key, val;
    size_t ls, ld;
    CramQT s, d;
    char *st;

    cram_start(&s, CAP_8G, "media-size=4M,poison-mce=off");
    msix_enable_masked(&s);
    in4[2] = 0x01;                          /* failure log on MSI-X */
    g_assert_cmpint(cram_mbox(&s, 0x0103, in4, 4, NULL, &ls), ==, 0);
    mig_write(&s, &sh, 0, 256, cram_fill_words, 1);
    mig_write(&s, &sh, 2 * GiB, 32, fill_zero, 0);
    mig_write(&s, &sh, 3 * GiB, 32, fill_same, 5);
    mig_write(&s, &sh, CAP_8G - 4 * PAGE, 4, cram_fill_words, 9);
    mig_write(&s, &sh, 1 * GiB, 1100, fill_random, 3);  /* media runs out */
    dropped = cram_reg(&s, CXL_CRAM_REG_DROPPED_WRITES);
    g_assert_cmpuint(dropped, >, 0);
    for (i = 0; i < 256; i += 3) {          /* holes in the spans */
        mig_discard(&s, &sh, i, 1);
    }
    mig_discard(&s, &sh, 1 * GiB / PAGE, 40);
    g_assert_cmpint(inject_poison(&s, 1 * PAGE), ==, 0);
    g_assert_cmpint(inject_poison(&s, 2 * GiB + PAGE), ==, 0);
    g_assert_cmpint(inject_poison(&s, 5 * GiB), ==, 0);
    cram_wreg(&s, CXL_CRAM_REG_IRQ_ENABLE,
              1 << CXL_CRAM_IRQ_LOW_RISE | 1 << CXL_CRAM_IRQ_DROPPED);
    cram_wreg(&s, CXL_CRAM_REG_WM_LOW, 1 * MiB);
    cram_wreg(&s, CXL_CRAM_REG_WM_HIGH, 2 * MiB);
    g_assert_cmpuint(cram_reg(&s, CXL_CRAM_REG_WM_HIGH), ==, 2 * MiB);
    g_assert_cmphex(cram_reg(&s, CXL_CRAM_REG_IRQ_STATUS) &
                    (1 << CXL_CRAM_IRQ_DROPPED), !=, 0);
    /* Dirty in the cache at the time of the migration, never flushed */
    qtest_writeq(s.qts, s.window + 4 * GiB + 8, 0x1122334455667788ULL);
    qtest_writel(s.qts, s.window + 4 * GiB + PAGE + 100, 0xcafe);
    memset(want, 0, PAGE);
    stq_le_p(want + 8, 0x1122334455667788ULL);
    g_hash_table_insert(sh.pages, g_memdup2(&(uint64_t){4 * GiB / PAGE}, 8),
                        g_memdup2(want, PAGE));
    memset(want, 0, PAGE);
    stl_le_p(want + 100, 0xcafe);
    g_hash_table_insert(sh.pages,
                        g_memdup2(&(uint64_t){4 * GiB / PAGE + 1}, 8),
                        g_memdup2(want, PAGE));

    cram_mig_launch(&d, CAP_8G, "media-size=4M,poison-mce=off", NULL);
    st = mig_run(&s, &d, uri, NULL);
    g_assert_cmpstr(st, ==, "completed");
    g_free(st);
    mig_attach(&d, &s);
    mig_assert_same_figures(&s, &d);

    /* The same poison list and failure event log */
    bad = mig_poisoned(&s, ps);
    bad_d = mig_poisoned(&d, pd);
    g_hash_table_destroy(bad_d);
    g_assert_cmpmem(ps, 0x20 + 16 * lduw_le_p(ps + 0xa),
                    pd, 0x20 + 16 * lduw_le_p(pd + 0xa));
    g_assert_cmpuint(g_hash_table_size(bad), ==, dropped + 3);
    g_assert_cmpint(cram_mbox(&s, 0x0100, in, 1, ps, &ls), ==, 0);
    g_assert_cmpint(cram_mbox(&d, 0x0100, in, 1, pd, &ld), ==, 0);
    g_assert_cmpuint(lduw_le_p(pd + 0x14), >, 0);
    g_assert_cmpmem(ps, ls, pd, ld);

    /* Every page written, and the poisoned ones, read back */
    g_hash_table_iter_init(&it, bad);
    while (g_hash_table_iter_next(&it, &key, NULL)) {
        g_hash_table_remove(sh.pages, key);
    }
    g_hash_table_iter_init(&it, sh.pages);
    while (g_hash_table_iter_next(&it, &key, &val)) {
        qtest_memread(d.qts, d.window + *(uint64_t *)key * PAGE, got, PAGE);
        g_assert_cmpmem(got, PAGE, val, PAGE);
        checked++;
    }
    g_hash_table_iter_init(&it, bad);
    memset(want, 0xff, PAGE);
    while (g_hash_table_iter_next(&it, &key, NULL)) {
        qtest_memread(d.qts, d.window + *(uint64_t *)key * PAGE, got, PAGE);
        g_assert_cmpmem(got, PAGE, want, PAGE);
        poisoned++;
    }
    memset(want, 0, PAGE);
    for (i = 0; i < 256; i += 3) {          /* discarded: zero */
        qtest_memread(d.qts, d.window + i * PAGE, got, PAGE);
        g_assert_cmpmem(got, PAGE, want, PAGE);
    }
    g_test_message("migrated: %" PRIu64 " pages verified, %" PRIu64
                   " poisoned, %" PRIu64 " dropped writes", checked,
                   poisoned, dropped);

    /* The destination goes on: a write heals a poisoned page */
    memset(want, 0x3c, PAGE);
    want[5] = 1;
    qtest_memwrite(d.qts, d.window + 5 * GiB, want, PAGE);
    qtest_memread(d.qts, d.window + 5 * GiB, got, PAGE);
    g_assert_cmpmem(got, PAGE, want, PAGE);
    g_hash_table_destroy(bad);
    g_hash_table_destroy(sh.pages);
    unlink(sock);
    cram_stop(&d);
    cram_stop(&s);
}

/* Migrate a device holding @npages of text; the bytes that travelled. */
static uint64_t mig_bytes(size_t npages, uint64_t *stored)
{
    g_autofree char *sock = g_strdup_printf("%s/cram-mig-%d.sock",
                                            g_get_tmp_dir(), getpid());
    g_autofree char *uri = g_strdup_printf("unix:%s", sock);
    uint64_t bytes = 0;
    QDict *a, *b;
    CramQT s, d;
    char *st;

    cram_start(&s, CAP_8G, NULL);
    write_pages(&s, 4 * GiB, npages, cram_fill_words, 11);
    cram_flush(&s);
    a = cram_stats(&s);
    *stored = qdict_get_int(a, "stored-bytes");
    cram_mig_launch(&d, CAP_8G, NULL, NULL);
    st = mig_run(&s, &d, uri, &bytes);
    g_assert_cmpstr(st, ==, "completed");
    g_free(st);
    mig_attach(&d, &s);
    b = cram_stats(&d);
    g_assert_cmpuint(qdict_get_int(b, "media-used"), ==,
                     qdict_get_int(a, "media-used"));
    g_assert_cmpuint(qdict_get_int(b, "pages-compressed"), ==, npages);
    qobject_unref(a);
    qobject_unref(b);
    unlink(sock);
    cram_stop(&d);
    cram_stop(&s);
    return bytes;
}

/*
 * The stream grows with the pages held, compressed, not with the 8 GiB
 * advertised: 4 MiB of text adds its compressed size plus 18 bytes a
 * page to what an empty device sends.
 */
static void test_migration_size(void)
{
    uint64_t stored0, stored, base = mig_bytes(0, &stored0);
    uint64_t loaded = mig_bytes(1024, &stored);

    g_test_message("stream: %" PRIu64 " bytes empty, %" PRIu64 " bytes "
                   "with 1024 pages (%" PRIu64 " bytes compressed)", base,
                   loaded, stored);
    g_assert_cmpuint(stored0, ==, 0);
    g_assert_cmpuint(stored, >, 0);
    g_assert_cmpuint(loaded - base, >=, stored);
    g_assert_cmpuint(loaded - base, <=, stored + 1024 * 18 + 64 * KiB);
    g_assert_cmpuint(loaded, <, 64 * MiB);
}

/*
 * A destination with other properties refuses the stream with a message
 * naming both configurations; the source learns it over the return path
 * and runs on.
 */
static void test_migration_mismatch(gconstpointer data)
{
    const char *props = data;
    g_autofree char *sock = g_strdup_printf("%s/cram-mig-%d.sock",
                                            g_get_tmp_dir(), getpid());
    g_autofree char *uri = g_strdup_printf("unix:%s", sock);
    g_autofree char *log = g_strdup_printf("%s/cram-mig-%d.err",
                                           g_get_tmp_dir(), getpid());
    g_autofree char *redirect = g_strdup_printf("2>%s", log);
    g_autofree char *err = NULL;
    QDict *rsp;
    CramQT s, d;
    char *st;

    cram_start(&s, CAP_8G, "media-size=16M");
    write_pages(&s, 0, 64, cram_fill_words, 4);
    cram_mig_launch(&d, CAP_8G, props, redirect);
    st = mig_run(&s, &d, uri, NULL);
    g_assert_cmpstr(st, ==, "failed");
    g_free(st);
    st = cram_mig_wait(d.qts, NULL);
    g_assert_cmpstr(st, ==, "failed");
    g_free(st);
    g_assert_true(g_file_get_contents(log, &err, NULL, NULL));
    g_test_message("destination: %s", err);
    g_assert_nonnull(strstr(err, "cxl-cram cram0: migration: the source has "
                            "capacity=8589934592,media-size=16777216,"
                            "compress=zstd; this device has "));
    g_assert_nonnull(strstr(err, "start the destination with the same "
                            "properties"));
    qtest_quit(d.qts);

    rsp = qtest_qmp(s.qts, "{'execute': 'query-status'}");
    g_assert_true(qdict_get_bool(qdict_get_qdict(rsp, "return"), "running"));
    qobject_unref(rsp);
    write_pages(&s, 64 * PAGE, 1, cram_fill_words, 5);
    g_assert_cmpuint(cram_reg(&s, CXL_CRAM_REG_PAGES_COMP), ==, 65);
    unlink(sock);
    unlink(log);
    cram_stop(&s);
}

/* Where the cxl-cram store begins in a migration stream. */
static size_t mig_find_store(const uint8_t *buf, size_t len)
{
    size_t i;

    for (i = 0; i + 16 <= len; i++) {
        if (ldl_be_p(buf + i) == 0x4352414d && ldl_be_p(buf + i + 4) == 3 &&
            ldq_be_p(buf + i + 8) == CAP_8G) {
            return i;
        }
    }
    g_assert_not_reached();
}

typedef struct MigBad {
    const char *what;
    const char *msg;
} MigBad;

/*
 * Damaged streams (saved to a file, altered, loaded) fail the load with
 * a message naming the fault; the destination stays up.
 */
static void test_migration_bad_stream(void)
{
    static const MigBad cases[] = {
        { "truncated", "the stream ends at record 0 of" },
        { "bad magic", "not a cxl-cram store" },
        { "count", "pages announced, the capacity has 2097152" },
        { "page", "is beyond the capacity (2097152 pages)" },
        { "size", "has an object of 5000 bytes, more than a page" },
        { "duplicate", "is given twice" },
        { "object", "does not decompress to a page with zstd" },
        { "kind", "unknown kind 9" },
        { "slot", "slot 4000 is beyond the span of a" },
        { "watermarks", "break low < high <= media size" },
        { "figures", "media used is" },
    };
    g_autofree uint8_t *buf = NULL;
    size_t len, off, rec, rec1;
    CramMig m;
    CramQT s;
    int i;

    cram_mig_init(&m, "media-size=16M");
    cram_start(&s, CAP_8G, m.props);
    write_pages(&s, 0, 64, cram_fill_words, 4);
    buf = cram_mig_save(&m, &s, &len);
    off = mig_find_store(buf, len);
    rec = off + 140;                        /* the first page record */
    g_assert_cmpuint(buf[rec + 8], ==, 3);  /* compressed */
    rec1 = rec + 18 + lduw_be_p(buf + rec + 10);

    for (i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree uint8_t *b = g_memdup2(buf, len);
        size_t blen = len;

        switch (i) {
        case 0:
            blen = rec + 10;
            break;
        case 1:
            b[off] ^= 1;
            break;
        case 2:
            stq_be_p(b + off + 132, 1ULL << 40);
            break;
        case 3:
            stq_be_p(b + rec, CAP_8G / PAGE + 5);
            break;
        case 4:
            stw_be_p(b + rec + 10, 5000);
            break;
        case 5:
            memcpy(b + rec1, b + rec, 8);
            break;
        case 6:
            memset(b + rec + 18, 0x5a, 8);
            break;
        case 7:
            b[rec + 8] = 9;
            break;
        case 8:
            stw_be_p(b + rec + 16, 4000);
            break;
        case 9:
            memcpy(b + off - 140, b + off - 132, 8);
            break;
        case 10:
            stq_be_p(b + off + 28, ldq_be_p(b + off + 28) + PAGE);
            break;
        }
        cram_mig_refused(&m, b, blen, cases[i].what, cases[i].msg);
    }
    cram_mig_free(&m);
}

/* Host memory the page cache may hold: pages and their write maps. */
static uint64_t cache_bytes(CramQT *t)
{
    QDict *rsp = qtest_qmp(t->qts, "{'execute': 'qom-get', 'arguments': "
                           "{'path': '/machine/peripheral/cram0', "
                           "'property': 'cache-size'}}");
    uint64_t size = qdict_get_int(rsp, "return");

    qobject_unref(rsp);
    return size + size / 8;
}

/* Resident memory of the QEMU process, in bytes. */
static uint64_t qemu_rss(QTestState *qts)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/status",
                                            (int)qtest_pid(qts));
    g_autofree char *status = NULL;
    char *p;

    g_assert_true(g_file_get_contents(path, &status, NULL, NULL));
    p = strstr(status, "VmRSS:");
    g_assert_nonnull(p);
    return g_ascii_strtoull(p + 6, NULL, 10) * KiB;
}

/*
 * The host pays only for what is written: an idle 8 GiB cxl-cram adds
 * under 64 MiB to QEMU's RSS (against the same machine without it), and
 * 256 MiB of ~4:1 data grows it by at most media used + 10% + metadata.
 */
static void test_host_memory(void)
{
    QTestState *plain = qtest_init(
        "-machine q35,cxl=on -nodefaults "
        "-device pxb-cxl,id=cxl.0,bus=pcie.0,bus_nr=52 "
        "-device cxl-rp,id=rp0,bus=cxl.0,chassis=0,slot=0 "
        "-M cxl-fmw.0.targets.0=cxl.0,cxl-fmw.0.size=8G");
    uint64_t rss_plain, rss_idle, rss_full, used, meta;
    CramQT t;

    rss_plain = qemu_rss(plain);
    qtest_quit(plain);

    cram_start(&t, CAP_8G, NULL);
    rss_idle = qemu_rss(t.qts);
    g_test_message("RSS without cxl-cram %" PRIu64 " MiB, with idle 8 GiB "
                   "cxl-cram %" PRIu64 " MiB", rss_plain >> 20,
                   rss_idle >> 20);
    g_assert_cmpuint(rss_idle, <, rss_plain + 64 * MiB);

    write_pages(&t, 0, 256 * MiB / PAGE, cram_fill_words, 1);
    used = cram_reg(&t, CXL_CRAM_REG_MEDIA_USED);
    meta = cram_reg(&t, CXL_CRAM_REG_METADATA_BYTES);
    rss_full = qemu_rss(t.qts);
    g_test_message("256 MiB written: ratio %.2f, media used %" PRIu64
                   " KiB, metadata %" PRIu64 " KiB, RSS growth %" PRIu64
                   " KiB", cram_reg(&t, CXL_CRAM_REG_RATIO) / 65536.0,
                   used >> 10, meta >> 10, (rss_full - rss_idle) >> 10);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_RATIO), >, 3 << 16);
    /* plus the cache, which holds up to cache-size of pages */
    g_assert_cmpuint(rss_full - rss_idle, <=,
                     used + used / 10 + meta + cache_bytes(&t));
    cram_stop(&t);
}

/*
 * The demo of the run command: write a mix of data, then show the
 * device's own figures.  Also a test: registers and QMP must agree.
 */
static void test_demo(void)
{
    static const struct {
        const char *what;
        void (*fill)(uint8_t *, size_t, uint32_t);
    } mix[] = {
        { "zero pages", fill_zero },
        { "one repeated word", fill_same },
        { "text", cram_fill_words },
        { "random", fill_random },
    };
    const size_t pages = 4096;          /* 16 MiB of each kind */
    CramQT t;
    QDict *st;
    size_t i;

    cram_start(&t, CAP_8G, NULL);
    for (i = 0; i < G_N_ELEMENTS(mix); i++) {
        write_pages(&t, i * GiB, pages, mix[i].fill, 1);
        g_test_message("wrote 16 MiB of %-18s at DPA %zu GiB: media used "
                       "%8" PRIu64 " KiB, ratio %.2f", mix[i].what, i,
                       cram_reg(&t, CXL_CRAM_REG_MEDIA_USED) >> 10,
                       cram_reg(&t, CXL_CRAM_REG_RATIO) / 65536.0);
    }
    g_test_message("device registers (BAR %d):", CXL_CRAM_REGS_BAR);
    g_test_message("  capacity      %10" PRIu64 " MiB",
                   cram_reg(&t, CXL_CRAM_REG_CAPACITY) >> 20);
    g_test_message("  media size    %10" PRIu64 " MiB",
                   cram_reg(&t, CXL_CRAM_REG_MEDIA_SIZE) >> 20);
    g_test_message("  media used    %10" PRIu64 " KiB",
                   cram_reg(&t, CXL_CRAM_REG_MEDIA_USED) >> 10);
    g_test_message("  media free    %10" PRIu64 " KiB",
                   cram_reg(&t, CXL_CRAM_REG_MEDIA_FREE) >> 10);
    g_test_message("  logical held  %10" PRIu64 " KiB",
                   cram_reg(&t, CXL_CRAM_REG_LOGICAL_HELD) >> 10);
    g_test_message("  ratio         %10.2f",
                   cram_reg(&t, CXL_CRAM_REG_RATIO) / 65536.0);
    g_test_message("  pages zero/same/compressed/raw %" PRIu64 "/%" PRIu64
                   "/%" PRIu64 "/%" PRIu64,
                   cram_reg(&t, CXL_CRAM_REG_PAGES_ZERO),
                   cram_reg(&t, CXL_CRAM_REG_PAGES_SAME),
                   cram_reg(&t, CXL_CRAM_REG_PAGES_COMP),
                   cram_reg(&t, CXL_CRAM_REG_PAGES_RAW));
    g_test_message("  dropped writes %9" PRIu64,
                   cram_reg(&t, CXL_CRAM_REG_DROPPED_WRITES));

    st = cram_stats(&t);
    g_test_message("QMP qom-get cram0 stats: media-used %" PRId64
                   " KiB, ratio %.2f", qdict_get_int(st, "media-used") >> 10,
                   qdict_get_double(st, "ratio"));
    g_assert_cmpuint(qdict_get_int(st, "media-used"), ==,
                     cram_reg(&t, CXL_CRAM_REG_MEDIA_USED));
    g_assert_cmpuint(qdict_get_int(st, "pages-zero"), ==, pages);
    g_assert_cmpuint(qdict_get_int(st, "pages-same"), ==, pages);
    g_assert_cmpuint(qdict_get_int(st, "pages-compressed"), ==, pages);
    g_assert_cmpuint(qdict_get_int(st, "pages-raw"), ==, pages);
    g_assert_cmpuint(qdict_get_int(st, "logical-held"), ==,
                     3 * pages * PAGE);
    qobject_unref(st);
    cram_stop(&t);
}

static bool mem_is_zero(const uint8_t *p, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        if (p[i]) {
            return false;
        }
    }
    return true;
}

/*
 * Media Operations Zero with the 127 ranges a payload allows, on a 1 TiB
 * device holding some pages: the pages inside read zero (poison there
 * included), the bytes outside are intact, the figures add up and QMP
 * answers.  The device used to walk every page index of every range under
 * the BQL: minutes for this payload.  It now walks what it holds (the
 * time is printed, not asserted).
 */
static void test_media_ops_1tib(void)
{
    const uint64_t cap = 1ULL << 40, stride = 8 * GiB;
    const uint64_t head = 192;          /* ranges start 192 bytes in */
    uint8_t in[8 + 16 * 127], page[PAGE], got[PAGE];
    uint64_t i, poisoned;
    gint64 t0;
    size_t len;
    QDict *rsp;
    CramQT t;

    cram_start_args(&t, cap, "poison-mce=off", "-cpu qemu64,phys-bits=42");
    /* Range i: [i * 8 GiB + 192, + 4 GiB); every 9th one holds pages. */
    for (i = 0; i < 127; i += 9) {
        uint64_t base = i * stride;
        int k;

        for (k = 0; k < 4; k++) {
            /* the partial first page, inside, the partial last, outside */
            static const uint64_t off[] = { 0, 1 * GiB, 4 * GiB, 6 * GiB };

            cram_fill_words(page, PAGE, i * 4 + k);
            qtest_memwrite(t.qts, t.window + base + off[k], page, PAGE);
        }
        g_assert_cmpint(inject_poison(&t, base + 2 * GiB), ==, 0);
        g_assert_cmpint(inject_poison(&t, base + 7 * GiB), ==, 0);
    }
    poisoned = cram_reg(&t, CXL_CRAM_REG_POISONED_PAGES);
    g_assert_cmpuint(poisoned, ==, 2 * 15);

    memset(in, 0, sizeof(in));
    in[0] = 1;                                  /* sanitize: zero */
    in[1] = 1;
    stl_le_p(in + 4, 127);
    for (i = 0; i < 127; i++) {
        stq_le_p(in + 8 + 16 * i, i * stride + head);
        stq_le_p(in + 16 + 16 * i, 4 * GiB);
    }
    t0 = g_get_monotonic_time();
    g_assert_cmpint(cram_mbox(&t, 0x4402, in, sizeof(in), NULL, &len), ==, 0);
    g_test_message("Media Operations Zero, 127 ranges of 4 GiB on 1 TiB: "
                   "%.1f ms", (g_get_monotonic_time() - t0) / 1000.0);
    rsp = qtest_qmp(t.qts, "{'execute': 'query-status'}");
    g_assert_true(qdict_haskey(rsp, "return"));
    qobject_unref(rsp);

    for (i = 0; i < 127; i += 9) {
        uint64_t base = i * stride;

        /* The first page: its 192 bytes before the range are intact. */
        cram_fill_words(page, PAGE, i * 4);
        qtest_memread(t.qts, t.window + base, got, PAGE);
        g_assert_cmpmem(got, head, page, head);
        g_assert_true(mem_is_zero(got + head, PAGE - head));
        /* Inside: zero, poison gone. */
        qtest_memread(t.qts, t.window + base + 1 * GiB, got, PAGE);
        g_assert_true(mem_is_zero(got, PAGE));
        g_assert_cmphex(qtest_readq(t.qts, t.window + base + 2 * GiB), ==, 0);
        /* The last page: its first 192 bytes were in the range. */
        cram_fill_words(page, PAGE, i * 4 + 2);
        qtest_memread(t.qts, t.window + base + 4 * GiB, got, PAGE);
        g_assert_true(mem_is_zero(got, head));
        g_assert_cmpmem(got + head, PAGE - head, page + head, PAGE - head);
        /* Outside: intact, poison kept. */
        cram_fill_words(page, PAGE, i * 4 + 3);
        qtest_memread(t.qts, t.window + base + 6 * GiB, got, PAGE);
        g_assert_cmpmem(got, PAGE, page, PAGE);
        g_assert_cmphex(qtest_readq(t.qts, t.window + base + 7 * GiB), ==,
                        ~0ULL);
    }
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_POISONED_PAGES), ==, 15);

    /* And the whole 1 TiB, 127 times over: nothing is left. */
    for (i = 0; i < 127; i++) {
        stq_le_p(in + 8 + 16 * i, 0);
        stq_le_p(in + 16 + 16 * i, cap);
    }
    t0 = g_get_monotonic_time();
    g_assert_cmpint(cram_mbox(&t, 0x4402, in, sizeof(in), NULL, &len), ==, 0);
    g_test_message("Media Operations Zero, 127 ranges of 1 TiB: %.1f ms",
                   (g_get_monotonic_time() - t0) / 1000.0);
    rsp = qtest_qmp(t.qts, "{'execute': 'query-status'}");
    g_assert_true(qdict_haskey(rsp, "return"));
    qobject_unref(rsp);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_POISONED_PAGES), ==, 0);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_LOGICAL_HELD), ==, 0);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_MEDIA_USED), ==, 0);
    g_assert_cmphex(qtest_readq(t.qts, t.window + 6 * GiB), ==, 0);
    cram_stop(&t);
}

/* Get Poison List from the start, all pages of it, into @recs. */
static GArray *poison_records(CramQT *t, uint64_t start, uint64_t len,
                              int *queries)
{
    GArray *recs = g_array_new(FALSE, FALSE, sizeof(uint64_t) * 2);
    uint8_t out[2048];
    bool more;
    int n, i;

    *queries = 0;
    do {
        n = get_poison(t, start, len, out, &more);
        for (i = 0; i < n; i++) {
            uint64_t r[2] = { ldq_le_p(out + 0x20 + 16 * i),
                              ldl_le_p(out + 0x28 + 16 * i) * 64ULL };

            g_array_append_val(recs, r);
        }
        g_assert_true(!more || n == 126);
        (*queries)++;
    } while (more && *queries < 1000);
    return recs;
}

#define POISON_SCATTER      10000
#define POISON_STEP         97          /* pages; never adjacent */

/*
 * The poison list derived from the poisoned pages: 10^4 scattered
 * injected pages, one record each; a run of 1000 dropped writes, one
 * record; injected pages next to the run, a record of their own (another
 * source); an injection inside the run changes nothing.  Paged 126
 * records at a time; a query in the middle of the run is cut to it; a
 * zero takes part of it away.
 */
static void test_poison_coalesced(void)
{
    const uint64_t run = 6 * GiB + 4096ULL * PAGE;     /* first dropped */
    const uint64_t tail = run + 1000ULL * PAGE;
    uint64_t meta0, meta1, i, *r;
    uint8_t in[24];
    GArray *recs;
    int queries;
    size_t len;
    CramQT t;

    cram_start(&t, CAP_8G, "media-size=16M,poison-mce=off");
    meta0 = cram_reg(&t, CXL_CRAM_REG_METADATA_BYTES);
    for (i = 0; i < POISON_SCATTER; i++) {
        g_assert_cmpint(inject_poison(&t, (7 + POISON_STEP * i) * PAGE), ==,
                        0);
    }
    meta1 = cram_reg(&t, CXL_CRAM_REG_METADATA_BYTES);
    g_test_message("%d scattered poisoned pages: %.1f bytes of metadata "
                   "each", POISON_SCATTER,
                   (double)(meta1 - meta0) / POISON_SCATTER);
    /* 16 MiB of media holds 4096 random pages; the next 1000 drop. */
    write_pages(&t, 6 * GiB, 5096, fill_random, 11);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_DROPPED_WRITES), ==, 1000);
    for (i = 0; i < 10; i++) {
        g_assert_cmpint(inject_poison(&t, tail + i * PAGE), ==, 0);
    }
    g_assert_cmpint(inject_poison(&t, run + 500 * PAGE + 64), ==, 0);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_POISONED_PAGES), ==,
                     POISON_SCATTER + 1000 + 10);

    recs = poison_records(&t, 0, CAP_8G, &queries);
    g_assert_cmpuint(recs->len, ==, POISON_SCATTER + 2);
    g_assert_cmpint(queries, ==, (POISON_SCATTER + 2 + 125) / 126);
    for (i = 0; i < POISON_SCATTER; i++) {
        r = &g_array_index(recs, uint64_t, 2 * i);
        g_assert_cmphex(r[0], ==, (7 + POISON_STEP * i) * PAGE | 3);
        g_assert_cmpuint(r[1], ==, PAGE);
    }
    r = &g_array_index(recs, uint64_t, 2 * POISON_SCATTER);
    g_assert_cmphex(r[0], ==, run | 2);                 /* internal */
    g_assert_cmpuint(r[1], ==, 1000 * PAGE);
    g_assert_cmphex(r[2], ==, tail | 3);                /* injected */
    g_assert_cmpuint(r[3], ==, 10 * PAGE);
    g_array_free(recs, TRUE);

    /* A query inside the run: cut to the query, one payload. */
    recs = poison_records(&t, run + 100 * PAGE + 64, 2 * PAGE, &queries);
    g_assert_cmpuint(recs->len, ==, 1);
    r = &g_array_index(recs, uint64_t, 0);
    g_assert_cmphex(r[0], ==, (run + 100 * PAGE + 64) | 2);
    g_assert_cmpuint(r[1], ==, 2 * PAGE);
    g_array_free(recs, TRUE);

    /* Zero the first half of the run and every scattered page below 2 GiB. */
    memset(in, 0, sizeof(in));
    in[0] = 1;
    in[1] = 1;
    stl_le_p(in + 4, 1);
    stq_le_p(in + 8, run);
    stq_le_p(in + 16, 500 * PAGE);
    g_assert_cmpint(cram_mbox(&t, 0x4402, in, 24, NULL, &len), ==, 0);
    stq_le_p(in + 8, 0);
    stq_le_p(in + 16, 2 * GiB);
    g_assert_cmpint(cram_mbox(&t, 0x4402, in, 24, NULL, &len), ==, 0);
    recs = poison_records(&t, 0, CAP_8G, &queries);
    for (i = 0; i < recs->len; i++) {
        r = &g_array_index(recs, uint64_t, 2 * i);
        g_assert_cmphex(r[0] & ~0x3fULL, >=, 2 * GiB);
    }
    r = &g_array_index(recs, uint64_t, 2 * (recs->len - 2));
    g_assert_cmphex(r[0], ==, (run + 500 * PAGE) | 2);
    g_assert_cmpuint(r[1], ==, 500 * PAGE);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_POISONED_PAGES), ==,
                     recs->len - 2 + 500 + 10);
    g_array_free(recs, TRUE);
    cram_stop(&t);
}

/*
 * A system reset returns the registers a guest programs to their defaults
 * and keeps the data and the counters (docs/registers.md).  Before,
 * IRQ_ENABLE, IRQ_STATUS, the watermarks and the discard registers kept
 * the values of the driver from before the reset.
 */
static void test_reset(void)
{
    g_autofree uint8_t *buf = g_malloc(4 * PAGE);
    g_autofree uint8_t *got = g_malloc(4 * PAGE);
    uint64_t stores;
    CramQT t;

    cram_start(&t, CAP_8G, "media-size=64M");
    cram_wreg(&t, CXL_CRAM_REG_WM_LOW, 2 * PAGE);
    cram_wreg(&t, CXL_CRAM_REG_WM_HIGH, 3 * PAGE);
    cram_wreg(&t, CXL_CRAM_REG_IRQ_ENABLE, CXL_CRAM_IRQ_MASK);
    cram_wreg(&t, CXL_CRAM_REG_DISCARD_DPA, 5 * PAGE);
    cram_wreg(&t, CXL_CRAM_REG_DISCARD_PAGES, 0);
    fill_random(buf, 4 * PAGE, 9);
    qtest_memwrite(t.qts, t.window + 16 * PAGE, buf, 4 * PAGE);
    stores = cram_reg(&t, CXL_CRAM_REG_STORES);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_IRQ_STATUS), !=, 0);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_STATUS) &
                     CXL_CRAM_STATUS_NO_ALLOC, !=, 0);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_DISCARD_RESULT), ==,
                     CXL_CRAM_DISCARD_EMPTY);

    qtest_system_reset(t.qts);
    cram_setup(&t);
    cram_commit_hdm(&t);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_WM_LOW), ==,
                     64 * MiB / 100 * 75);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_WM_HIGH), ==,
                     64 * MiB / 100 * 90);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_IRQ_ENABLE), ==, 0);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_IRQ_STATUS), ==, 0);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_STATUS), ==, 0);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_DISCARD_DPA), ==, 0);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_DISCARD_RESULT), ==, 0);
    /* data and counters stay */
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_STORES), >=, stores);
    qtest_memread(t.qts, t.window + 16 * PAGE, got, 4 * PAGE);
    g_assert_cmpmem(got, 4 * PAGE, buf, 4 * PAGE);
    cram_stop(&t);
}

/*
 * device_del of cram0 below rp0, as a guest's pciehp driver would answer
 * it.  rp0 handles its slot natively: q35 keeps Hot-Plug Capable on PCIe
 * slots (ICH9-LPC x-keep-pci-slot-hpc) and its ACPI PCI hotplug does not
 * reach the pxb-cxl's bus.  device_del presses the attention button;
 * switching the slot's power off (Power Controller Control off, Power
 * Indicator off) then detaches the device at once.  DEVICE_DELETED comes
 * when the device is finalized, after an RCU grace period.
 */
static void cram_unplug(CramQT *t)
{
    uint8_t exp = cram_find_cap(t->qts, CRAM_HB_BUS, 0, PCI_CAP_ID_EXP);
    uint64_t sltcap = cram_ecam(CRAM_HB_BUS, 0, exp + PCI_EXP_SLTCAP);
    uint64_t sltctl = cram_ecam(CRAM_HB_BUS, 0, exp + PCI_EXP_SLTCTL);
    uint64_t sltsta = cram_ecam(CRAM_HB_BUS, 0, exp + PCI_EXP_SLTSTA);
    uint16_t ctrl;
    QDict *ev;

    g_assert(exp);
    g_assert_cmphex(qtest_readl(t->qts, sltcap) &
                    (PCI_EXP_SLTCAP_HPC | PCI_EXP_SLTCAP_PCP), ==,
                    PCI_EXP_SLTCAP_HPC | PCI_EXP_SLTCAP_PCP);
    g_assert(qtest_readw(t->qts, sltsta) & PCI_EXP_SLTSTA_PDS);
    qtest_qmp_device_del_send(t->qts, "cram0");
    g_assert(qtest_readw(t->qts, sltsta) & PCI_EXP_SLTSTA_ABP);

    ctrl = qtest_readw(t->qts, sltctl) & ~PCI_EXP_SLTCTL_PIC;
    qtest_writew(t->qts, sltctl,
                 ctrl | PCI_EXP_SLTCTL_PWR_OFF | PCI_EXP_SLTCTL_PWR_IND_OFF);
    g_assert_false(qtest_readw(t->qts, sltsta) & PCI_EXP_SLTSTA_PDS);

    for (;;) {
        ev = qtest_qmp_eventwait_ref(t->qts, "DEVICE_DELETED");
        if (!g_strcmp0(qdict_get_try_str(qdict_get_qdict(ev, "data"),
                                         "device"), "cram0")) {
            break;
        }
        qobject_unref(ev);
    }
    g_assert_cmpstr(qdict_get_str(qdict_get_qdict(ev, "data"), "path"), ==,
                    "/machine/peripheral/cram0");
    qobject_unref(ev);
}

/* Whether a QMP answer names cram0 anywhere; takes @rsp. */
static bool names_cram0(QDict *rsp)
{
    g_autoptr(GString) js = NULL;

    g_assert(qdict_haskey(rsp, "return"));
    js = qobject_to_json(qdict_get(rsp, "return"));
    qobject_unref(rsp);
    return strstr(js->str, "\"cram0\"") != NULL;
}

/* cram0 in the QOM tree, in query-pci */
static bool qom_has_cram0(CramQT *t)
{
    return names_cram0(qtest_qmp(t->qts, "{'execute': 'qom-list', "
                                 "'arguments': {'path': "
                                 "'/machine/peripheral'}}"));
}

static bool pci_has_cram0(CramQT *t)
{
    return names_cram0(qtest_qmp(t->qts, "{'execute': 'query-pci'}"));
}

/*
 * After the unplug: cram0 is gone from the QOM tree and from query-pci,
 * nothing answers at its bus address or in the window any more, and
 * QEMU still serves QMP.
 */
static void check_unplugged(CramQT *t)
{
    QDict *rsp;

    g_assert_false(qom_has_cram0(t));
    g_assert_false(pci_has_cram0(t));
    g_assert_cmphex(qtest_readw(t->qts, cram_ecam(CRAM_DEV_BUS, 0, 0)), ==,
                    0xffff);
    qtest_writeq(t->qts, t->window, 42);
    g_assert_cmphex(qtest_readq(t->qts, t->window), ==, 0);
    rsp = qtest_qmp(t->qts, "{'execute': 'query-status'}");
    g_assert_true(qdict_get_bool(qdict_get_qdict(rsp, "return"),
                                 "running"));
    qobject_unref(rsp);
}

/* An idle device: a few pages written and stored, then device_del. */
static void test_device_del_idle(void)
{
    CramQT t;

    cram_start(&t, CAP_8G, NULL);
    write_pages(&t, 0, 16, cram_fill_words, 3);
    cram_check_accounts(&t);
    g_assert_true(qom_has_cram0(&t));
    g_assert_true(pci_has_cram0(&t));
    cram_unplug(&t);
    check_unplugged(&t);
    qtest_quit(t.qts);
}

#define DEL_MSI_DPA     (4 * GiB)       /* vector v writes to its page v */
#define DEL_POISON_DPA  (2 * GiB)
#define DEL_POISONED    16

/* Every MSI-X vector, unmasked, writes into the window: page v for v. */
static void msix_aim_at_window(CramQT *t)
{
    uint64_t table = t->bar[CXL_CRAM_MSIX_BAR];
    int v;

    for (v = 0; v < CXL_CRAM_MSIX_NR; v++) {
        uint64_t e = table + v * PCI_MSIX_ENTRY_SIZE;
        uint64_t addr = t->window + DEL_MSI_DPA + v * PAGE;

        qtest_writel(t->qts, e + PCI_MSIX_ENTRY_LOWER_ADDR, (uint32_t)addr);
        qtest_writel(t->qts, e + PCI_MSIX_ENTRY_UPPER_ADDR, addr >> 32);
        qtest_writel(t->qts, e + PCI_MSIX_ENTRY_DATA, 0xc0de0000 | v);
        qtest_writel(t->qts, e + PCI_MSIX_ENTRY_VECTOR_CTRL, 0);
    }
    msix_control(t, PCI_MSIX_FLAGS_ENABLE);
}

/*
 * device_del under write load, with every interrupt enabled and every
 * MSI-X vector aimed into the device's own window.
 *
 * First the drop path: incompressible pages overfill 16 MiB of media,
 * writes are dropped and poisoned, and the interrupts they raise write
 * into the window, back into the cache.  Then, on emptied media, 16
 * injected-poison pages, media filled to its last page without a drop,
 * a last batch of pages that the worker writes back (the cache holds 256),
 * and the 16 poisoned pages written in full: cached dirty with no room
 * reserved, so their final write-back must drop them, the device's first
 * dropped write since the media was emptied.  device_del now.
 *
 * When the cache still called the device back from its final flush, that
 * drop raised DROPPED on MSI-X vector 8 after cxl-type3's exit had torn
 * MSI-X down: QEMU aborted in msix_notify() (assertion vector <
 * msix_entries_nr), and a live MSI-X would have written into the freed
 * cache.  The store now only lists such pages (engine test
 * store/free-drops), and nobody takes them at the free.
 */
static void test_device_del_load(void)
{
    const bool cache = !g_getenv("CRAM_QTEST_PROPS");
    uint64_t dropped, poisoned, h, dpa = 0;
    uint32_t seed = 100;
    int i;
    CramQT t;

    cram_start(&t, CAP_8G, "media-size=16M,cache-size=1M,poison-mce=off");
    cram_wreg(&t, CXL_CRAM_REG_IRQ_ENABLE, CXL_CRAM_IRQ_MASK);
    msix_aim_at_window(&t);

    write_pages(&t, 0, 5000, fill_random, seed++);
    dropped = cram_reg(&t, CXL_CRAM_REG_DROPPED_WRITES);
    g_assert_cmpuint(dropped, >, 0);
    g_assert_true(cram_reg(&t, CXL_CRAM_REG_STATUS) &
                  CXL_CRAM_STATUS_EXHAUSTED);
    /* vector 12 (NO_ALLOC) fired while there was media: its write is in */
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_IRQ_DANGER), ==, 1);
    g_assert_cmphex(qtest_readl(t.qts, t.window + DEL_MSI_DPA +
                                CXL_CRAM_MSIX_DANGER * PAGE), ==,
                    0xc0de0000 | CXL_CRAM_MSIX_DANGER);

    /* Empty the media: below the low watermark, EXHAUSTED clears. */
    cram_wreg(&t, CXL_CRAM_REG_DISCARD_DPA, 0);
    cram_wreg(&t, CXL_CRAM_REG_DISCARD_PAGES, 5000);
    g_assert_cmphex(cram_reg(&t, CXL_CRAM_REG_STATUS) &
                    (CXL_CRAM_STATUS_EXHAUSTED | CXL_CRAM_STATUS_NO_ALLOC),
                    ==, 0);
    poisoned = cram_reg(&t, CXL_CRAM_REG_POISONED_PAGES);
    for (i = 0; i < DEL_POISONED; i++) {
        g_assert_cmpint(inject_poison(&t, DEL_POISON_DPA + i * PAGE), ==, 0);
    }
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_POISONED_PAGES), ==,
                     poisoned + DEL_POISONED);

    /* Fill to 300 pages from the end (the watermarks fire on the way)... */
    while ((h = cram_reg(&t, CXL_CRAM_REG_HEADROOM_PAGES)) > 300) {
        write_pages(&t, dpa, h - 300, fill_random, seed++);
        dpa += (h - 300) * PAGE;
    }
    /* ...then the last pages, the worker's, and the poisoned ones. */
    write_pages(&t, dpa, h, fill_random, seed++);
    write_pages(&t, DEL_POISON_DPA, DEL_POISONED, fill_random, seed++);
    /*
     * Raw reads: a flush would store the pending pages.  Without the cache
     * (CRAM_QTEST_PROPS=cache-size=0) the poisoned pages dropped already.
     */
    if (cache) {
        g_assert_cmpuint(qtest_readq(t.qts, t.regs +
                                     CXL_CRAM_REG_DROPPED_WRITES), ==,
                         dropped);
        g_assert_cmpuint(qtest_readq(t.qts, t.regs +
                                     CXL_CRAM_REG_HEADROOM_PAGES), ==, 0);
        /* the poisoned pages, and the worker's pages, room reserved */
        g_assert_cmpuint(qtest_readq(t.qts, t.regs +
                                     CXL_CRAM_REG_CACHE_DIRTY), >,
                         DEL_POISONED);
        g_assert_cmpuint(qtest_readq(t.qts, t.regs +
                                     CXL_CRAM_REG_MEDIA_RESERVED), >, 0);
        g_assert_false(qtest_readq(t.qts, t.regs + CXL_CRAM_REG_STATUS) &
                       CXL_CRAM_STATUS_EXHAUSTED);
    }

    cram_unplug(&t);
    check_unplugged(&t);
    qtest_quit(t.qts);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qtest_add_func("/cxl-cram/bad-props", test_bad_props);
    qtest_add_func("/cxl-cram/bad-memdev", test_bad_memdev);
    qtest_add_func("/cxl-cram/identify", test_identify);
    qtest_add_func("/cxl-cram/registers", test_registers);
    qtest_add_func("/cxl-cram/integrity", test_integrity);
    qtest_add_func("/cxl-cram/zero-pages", test_zero_pages);
    qtest_add_func("/cxl-cram/ratio-compressible", test_ratio_compressible);
    qtest_add_func("/cxl-cram/ratio-random", test_ratio_random);
    qtest_add_func("/cxl-cram/no-leak", test_no_leak);
    qtest_add_func("/cxl-cram/overfill", test_overfill);
    qtest_add_func("/cxl-cram/watermarks", test_watermarks);
    qtest_add_func("/cxl-cram/no-alloc", test_no_alloc);
    qtest_add_func("/cxl-cram/poison-list", test_poison_list);
    qtest_add_func("/cxl-cram/poison-many", test_poison_many);
    qtest_add_data_func("/cxl-cram/failure-policy/log", GINT_TO_POINTER(0),
                        test_failure_log);
    qtest_add_data_func("/cxl-cram/failure-policy/log-set",
                        GINT_TO_POINTER(1), test_failure_log);
    qtest_add_func("/cxl-cram/clear-poison", test_clear_poison);
    qtest_add_func("/cxl-cram/media-ops", test_media_ops);
    qtest_add_func("/cxl-cram/poison-mce", test_poison_mce);
    qtest_add_func("/cxl-cram/cache", test_cache);
    qtest_add_func("/cxl-cram/migration", test_migration);
    qtest_add_func("/cxl-cram/migration-size", test_migration_size);
    qtest_add_data_func("/cxl-cram/migration-mismatch/media-size",
                        "media-size=32M", test_migration_mismatch);
    qtest_add_data_func("/cxl-cram/migration-mismatch/compress",
                        "media-size=16M,compress=lz4",
                        test_migration_mismatch);
    qtest_add_func("/cxl-cram/migration-bad-stream",
                   test_migration_bad_stream);
    qtest_add_func("/cxl-cram/narrow-writes", test_narrow_writes);
    qtest_add_func("/cxl-cram/edge-of-capacity", test_edge_of_capacity);
    qtest_add_func("/cxl-cram/1tib", test_1tib);
    qtest_add_func("/cxl-cram/host-memory", test_host_memory);
    qtest_add_func("/cxl-cram/reset", test_reset);
    qtest_add_func("/cxl-cram/demo", test_demo);
    cxl_cram_hostinput_add_tests();
    cxl_cram_interleave_add_tests();
    cxl_cram_rampath_add_tests();
    cxl_cram_qmp_add_tests();
    qtest_add_func("/cxl-cram/media-ops-1tib", test_media_ops_1tib);
    qtest_add_func("/cxl-cram/poison-coalesced", test_poison_coalesced);
    qtest_add_func("/cxl-cram/device-del/idle", test_device_del_idle);
    qtest_add_func("/cxl-cram/device-del/write-load", test_device_del_load);
    return g_test_run();
}
