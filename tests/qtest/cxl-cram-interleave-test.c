/*
 * cxl-cram qtests of a 2-way interleaved region: two cxl-cram devices on
 * the two root ports of one host bridge, whose HDM decoder sends the
 * 256-byte granules of the fixed memory window to them in turn, as
 * Linux's `cxl create-region -w 2` programs it.  Each device's decoder
 * takes every other granule of the window into its own DPA space.
 *
 * What must hold: data read back through the window is what was written;
 * each device stores its own half (its figures count only its pages);
 * poison on one device is read through the window only at that device's
 * granules of the poisoned page.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/units.h"
#include "qemu/bswap.h"
#include "cxl-cram-qtest.h"
#include "cxl-cram-interleave-test.h"

#define IL_WAYS         2
#define IL_GRAN         256             /* IG encoding 0 */
#define IL_CAP          (256 * MiB)     /* each device */
#define IL_SPAN         (IL_WAYS * IL_CAP)
#define IL_PAGE         4096
#define IL_IW_2WAY      (1u << 4)       /* HDM decoder control: IW = 1 */
#define IL_COMMIT       (1u << 9)
#define IL_COMMITTED    (1u << 10)

typedef struct IlRig {
    QTestState *qts;
    uint64_t window;
    CramQT dev[IL_WAYS];        /* their qts, BARs, mailbox, registers */
} IlRig;

/* Decoder 0 of the HDM capability at @hdm: @size bytes, control @iw. */
static void il_commit_n(QTestState *qts, uint64_t hdm, uint64_t base,
                        uint64_t size, uint32_t iw, uint32_t targets)
{
    uint64_t d0 = hdm + 0x10;

    qtest_writel(qts, hdm + 0x4, 0x2);                  /* enable */
    qtest_writel(qts, d0 + 0x0, (uint32_t)base);
    qtest_writel(qts, d0 + 0x4, base >> 32);
    qtest_writel(qts, d0 + 0x8, (uint32_t)size);
    qtest_writel(qts, d0 + 0xc, size >> 32);
    qtest_writel(qts, d0 + 0x14, targets);      /* target list / DPA skip */
    qtest_writel(qts, d0 + 0x18, 0);
    qtest_writel(qts, d0 + 0x10, iw | IL_COMMIT);
    g_assert_cmphex(qtest_readl(qts, d0 + 0x10) & IL_COMMITTED, ==,
                    IL_COMMITTED);
}

/* The same over the whole region, 2 ways. */
static void il_commit(QTestState *qts, uint64_t hdm, uint64_t base,
                      uint32_t targets)
{
    il_commit_n(qts, hdm, base, IL_SPAN, IL_IW_2WAY, targets);
}

/* Boot the rig: ECAM, root ports, BARs; no decoder committed. */
static void il_boot(IlRig *r, const char *props)
{
    uint64_t next;
    int i;

    memset(r, 0, sizeof(*r));
    r->qts = qtest_initf(
        "-machine q35,cxl=on -nodefaults "
        "-device pxb-cxl,id=cxl.0,bus=pcie.0,bus_nr=52 "
        "-device cxl-rp,id=rp0,bus=cxl.0,chassis=0,slot=0,port=0 "
        "-device cxl-rp,id=rp1,bus=cxl.0,chassis=0,slot=1,port=1 "
        "-device cxl-cram,bus=rp0,id=cram0,capacity=%" PRIu64 ",%s "
        "-device cxl-cram,bus=rp1,id=cram1,capacity=%" PRIu64 ",%s "
        "-M cxl-fmw.0.targets.0=cxl.0,cxl-fmw.0.size=%" PRIu64 "M",
        (uint64_t)IL_CAP, props, (uint64_t)IL_CAP, props,
        (uint64_t)IL_SPAN >> 20);
    cram_enable_ecam(r->qts);
    r->window = cram_find_window(r->qts);
    for (i = 0; i < IL_WAYS; i++) {
        CramQT *t = &r->dev[i];
        int bus = CRAM_DEV_BUS + i;

        /* root port i is slot i: devfn i << 3 */
        cram_setup_rp_at(r->qts, i << 3, bus,
                         CRAM_MMIO_BASE + i * 0x10000000ULL);
        g_assert_cmphex(qtest_readw(r->qts, cram_ecam(bus, 0, 2)), ==,
                        CXL_CRAM_PCI_DEVICE_ID);
        next = CRAM_MMIO_BASE + i * 0x10000000ULL;
        t->qts = r->qts;
        t->devno = i;
        t->capacity = IL_CAP;
        t->window = r->window;
        cram_assign_bars(r->qts, bus, 0, &next, t->bar);
        t->mbox = cram_find_dev_cap(r->qts, t->bar[2], 2);
        t->regs = t->bar[CXL_CRAM_REGS_BAR];
    }
}

static uint64_t il_hdm(IlRig *r, int dev)
{
    return cram_find_cm_cap(r->qts, r->dev[dev].bar[0] + 0x1000, 5);
}

static uint64_t il_hb_hdm(IlRig *r)
{
    return cram_find_cm_cap(r->qts,
                            cram_find_region(r->qts, "pxb-cxl-host") + 0x1000,
                            5);
}

static void il_start(IlRig *r, const char *props)
{
    int i;

    il_boot(r, props);
    /* every device decodes the whole region, two ways */
    for (i = 0; i < IL_WAYS; i++) {
        il_commit(r->qts, il_hdm(r, i), r->window, 0);
    }
    /* The host bridge: granule k to root port k % 2 */
    il_commit(r->qts, il_hb_hdm(r), r->window, 0 | 1 << 8);
}

/* The device that holds HPA offset @off, and the DPA there */
static int il_dev_of(uint64_t off, uint64_t *dpa)
{
    *dpa = off / (IL_WAYS * IL_GRAN) * IL_GRAN + off % IL_GRAN;
    return off / IL_GRAN % IL_WAYS;
}

static uint64_t il_stat(IlRig *r, int dev, const char *name)
{
    QDict *st = cram_stats(&r->dev[dev]);
    uint64_t v = qdict_get_int(st, name);

    qobject_unref(st);
    return v;
}

/* The value written at HPA offset @off: which device and DPA, visibly */
static uint64_t il_pattern(uint64_t off)
{
    uint64_t dpa;
    int dev = il_dev_of(off, &dpa);

    return 0xc0de000000000000ULL | (uint64_t)dev << 40 | dpa;
}

/*
 * Data through the region lands on both devices, half each, and reads
 * back; each device's figures count its own half; a page poisoned on one
 * device reads as all-ones only at that device's granules.
 */
static void test_interleave_2way(void)
{
    const uint64_t span = 64 * KiB;     /* 8 pages on each device */
    uint8_t in[8];
    uint64_t off, dpa;
    size_t len;
    IlRig r;
    int i;

    il_start(&r, "media-size=16M,poison-mce=off");
    for (off = 0; off < span; off += 8) {
        qtest_writeq(r.qts, r.window + off, il_pattern(off));
    }
    for (off = 0; off < span; off += 8) {
        g_assert_cmphex(qtest_readq(r.qts, r.window + off), ==,
                        il_pattern(off));
    }
    for (i = 0; i < IL_WAYS; i++) {
        cram_flush(&r.dev[i]);
        g_assert_cmpuint(il_stat(&r, i, "logical-held"), ==, span / IL_WAYS);
        g_assert_cmpuint(qtest_readq(r.qts, r.dev[i].regs +
                                     CXL_CRAM_REG_LOGICAL_HELD), ==,
                         span / IL_WAYS);
        g_assert_cmpuint(il_stat(&r, i, "pages-compressed"), ==,
                         span / IL_WAYS / IL_PAGE);
    }

    /* Poison DPA page 1 of cram1: HPA 8 KiB to 16 KiB, odd granules. */
    stq_le_p(in, IL_PAGE);
    g_assert_cmpint(cram_mbox(&r.dev[1], 0x4301, in, 8, NULL, &len), ==, 0);
    g_assert_cmpuint(il_stat(&r, 1, "poisoned-pages"), ==, 1);
    g_assert_cmpuint(il_stat(&r, 0, "poisoned-pages"), ==, 0);
    for (off = 0; off < span; off += 8) {
        bool bad = il_dev_of(off, &dpa) == 1 && dpa / IL_PAGE == 1;

        g_assert_cmphex(qtest_readq(r.qts, r.window + off), ==,
                        bad ? UINT64_MAX : il_pattern(off));
    }
    for (i = 0; i < IL_WAYS; i++) {
        g_assert_cmpuint(il_stat(&r, i, "poisoned-reads"), ==,
                         i ? IL_PAGE / 8 : 0);
        cram_check_accounts(&r.dev[i]);
    }
    qtest_quit(r.qts);
}

/*
 * ram-path=on on both devices: the path is interleaved, so neither maps
 * its store into the window; data still lands on both and reads back.
 */
static void test_interleave_ram_path(void)
{
    g_autofree char *mtree = NULL;
    uint64_t off;
    IlRig r;
    int i;

    il_start(&r, "media-size=16M,poison-mce=off,ram-path=on");
    mtree = qtest_hmp(r.qts, "info mtree");
    g_assert_null(strstr(mtree, "cxl-cram-ram-alias"));
    for (off = 0; off < 32 * KiB; off += 8) {
        qtest_writeq(r.qts, r.window + off, il_pattern(off));
    }
    for (off = 0; off < 32 * KiB; off += 8) {
        g_assert_cmphex(qtest_readq(r.qts, r.window + off), ==,
                        il_pattern(off));
    }
    for (i = 0; i < IL_WAYS; i++) {
        cram_flush(&r.dev[i]);
        g_assert_cmpuint(il_stat(&r, i, "logical-held"), ==, 16 * KiB);
        g_assert_cmpuint(il_stat(&r, i, "cache-faults"), ==, 0);
    }
    qtest_quit(r.qts);
}

/*
 * Not interleaved, but the host bridge has two ports: its 1-way decoder
 * sends the first 256 MiB of the window to port 1 (cram1).  Both devices
 * commit a 1-way decoder there; only cram1 is on the path, so only its
 * store is mapped, and the data lands in it.  Re-aimed at port 0, the
 * same happens with cram0.
 */
static void test_interleave_ram_path_1way(void)
{
    g_autofree char *mtree = NULL;
    uint64_t off;
    IlRig r;

    il_boot(&r, "media-size=16M,poison-mce=off,ram-path=on");
    il_commit_n(r.qts, il_hdm(&r, 0), r.window, IL_CAP, 0, 0);
    il_commit_n(r.qts, il_hdm(&r, 1), r.window, IL_CAP, 0, 0);
    mtree = qtest_hmp(r.qts, "info mtree");
    g_assert_null(strstr(mtree, "cxl-cram-ram-alias"));
    il_commit_n(r.qts, il_hb_hdm(&r), r.window, IL_CAP, 0, 1);  /* port 1 */
    g_free(mtree);
    mtree = qtest_hmp(r.qts, "info mtree");
    g_assert_nonnull(strstr(mtree, "cxl-cram-ram-alias"));
    for (off = 0; off < 16 * KiB; off += 8) {
        qtest_writeq(r.qts, r.window + off, 0xabcd0000 + off);
    }
    for (off = 0; off < 16 * KiB; off += 8) {
        g_assert_cmphex(qtest_readq(r.qts, r.window + off), ==,
                        0xabcd0000 + off);
    }
    cram_flush(&r.dev[0]);
    cram_flush(&r.dev[1]);
    g_assert_cmpuint(il_stat(&r, 0, "logical-held"), ==, 0);
    g_assert_cmpuint(il_stat(&r, 1, "logical-held"), ==, 16 * KiB);
    g_assert_cmpuint(il_stat(&r, 1, "cache-faults"), >=, 4);

    /* Re-aimed at port 0: cram0 is mapped now, and takes new data. */
    qtest_writel(r.qts, il_hb_hdm(&r) + 0x10 + 0x10, 0);    /* uncommit */
    g_free(mtree);
    mtree = qtest_hmp(r.qts, "info mtree");
    g_assert_null(strstr(mtree, "cxl-cram-ram-alias"));
    il_commit_n(r.qts, il_hb_hdm(&r), r.window, IL_CAP, 0, 0);  /* port 0 */
    for (off = 0; off < 8 * KiB; off += 8) {
        qtest_writeq(r.qts, r.window + off, 0xbeef0000 + off);
    }
    for (off = 0; off < 8 * KiB; off += 8) {
        g_assert_cmphex(qtest_readq(r.qts, r.window + off), ==,
                        0xbeef0000 + off);
    }
    cram_flush(&r.dev[0]);
    cram_flush(&r.dev[1]);
    g_assert_cmpuint(il_stat(&r, 0, "logical-held"), ==, 8 * KiB);
    g_assert_cmpuint(il_stat(&r, 0, "cache-faults"), >=, 2);
    g_assert_cmpuint(il_stat(&r, 1, "logical-held"), ==, 16 * KiB);
    qtest_quit(r.qts);
}

void cxl_cram_interleave_add_tests(void)
{
    qtest_add_func("/cxl-cram/interleave/2way", test_interleave_2way);
    qtest_add_func("/cxl-cram/interleave/ram-path", test_interleave_ram_path);
    qtest_add_func("/cxl-cram/interleave/ram-path-1way",
                   test_interleave_ram_path_1way);
}
