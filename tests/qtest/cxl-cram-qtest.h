/*
 * Helpers for the cxl-cram qtests: bring one cxl-cram up the way firmware
 * and the Linux CXL driver would (PCI enumeration through ECAM, BARs, an
 * HDM decoder commit), then reach its memory through the CXL fixed memory
 * window, its mailbox and its vendor register block.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef CXL_CRAM_QTEST_H
#define CXL_CRAM_QTEST_H

#include "libqtest.h"
#include "qobject/qdict.h"
#include "../../hw/mem/cxl-cram/cxl-cram-regs.h"

#define CRAM_ECAM_BASE      0xb0000000ULL
#define CRAM_MMIO_BASE      0xc0000000ULL
#define CRAM_HB_BUS         52
#define CRAM_DEV_BUS        53

typedef struct CramQT {
    QTestState *qts;
    uint64_t window;        /* HPA of the fixed memory window */
    uint64_t capacity;
    uint64_t bar[6];
    uint64_t mbox;          /* mailbox registers */
    uint64_t regs;          /* vendor register block */
    int devno;              /* its id is cram<devno> (0 unless set) */
} CramQT;

static inline uint64_t cram_ecam(int bus, int devfn, int off)
{
    return CRAM_ECAM_BASE + ((uint64_t)bus << 20) + (devfn << 12) + off;
}

/* q35 leaves ECAM off until firmware enables PCIEXBAR (MCH 0x60). */
static inline void cram_enable_ecam(QTestState *qts)
{
    qtest_outl(qts, 0xcf8, 0x80000000 | 0x60);
    qtest_outl(qts, 0xcfc, (uint32_t)CRAM_ECAM_BASE | 1);
    qtest_outl(qts, 0xcf8, 0x80000000 | 0x64);
    qtest_outl(qts, 0xcfc, 0);
}

/* Config-space offset of PCI capability @id of bus:devfn (0: none). */
static inline uint8_t cram_find_cap(QTestState *qts, int bus, int devfn,
                                    uint8_t id)
{
    uint8_t pos = qtest_readb(qts, cram_ecam(bus, devfn, 0x34));

    while (pos && qtest_readb(qts, cram_ecam(bus, devfn, pos)) != id) {
        pos = qtest_readb(qts, cram_ecam(bus, devfn, pos + 1));
    }
    return pos;
}

/* Size and place every BAR of bus:devfn from *next upward, enable it. */
static inline void cram_assign_bars(QTestState *qts, int bus, int devfn,
                                    uint64_t *next, uint64_t *bar)
{
    int i;

    for (i = 0; i < 6; i++) {
        uint64_t cfg = cram_ecam(bus, devfn, 0x10 + 4 * i);
        uint32_t lo;
        uint64_t size;
        bool is64;

        bar[i] = 0;
        qtest_writel(qts, cfg, 0xffffffff);
        lo = qtest_readl(qts, cfg);
        if (!lo) {
            continue;
        }
        is64 = (lo & 0x6) == 0x4;
        size = (uint32_t)~(lo & ~0xfu) + 1;
        *next = (*next + size - 1) & ~(size - 1);
        bar[i] = *next;
        qtest_writel(qts, cfg, (uint32_t)*next);
        if (is64) {
            qtest_writel(qts, cfg + 4, 0);
            i++;
        }
        *next += size;
    }
    qtest_writew(qts, cram_ecam(bus, devfn, 0x04), 0x6); /* MEM | MASTER */
}

/* Address of the first memory region named @name in "info mtree". */
static inline uint64_t cram_find_region(QTestState *qts, const char *name)
{
    g_autofree char *mtree = qtest_hmp(qts, "info mtree");
    g_autofree char *pat = g_strdup_printf(": %s", name);
    char *p = strstr(mtree, pat);

    while (p && !g_ascii_isspace(p[strlen(pat)])) {
        p = strstr(p + 1, pat);
    }
    g_assert_nonnull(p);
    while (p > mtree && p[-1] != '\n') {
        p--;
    }
    while (*p == ' ') {
        p++;
    }
    return g_ascii_strtoull(p, NULL, 16);
}

static inline uint64_t cram_find_window(QTestState *qts)
{
    return cram_find_region(qts, "cxl-fixed-memory-region");
}

/* Offset of capability @id in a CXL component register array at @base. */
static inline uint64_t cram_find_cm_cap(QTestState *qts, uint64_t base,
                                        int id)
{
    uint32_t hdr = qtest_readl(qts, base);
    int n = hdr >> 24, i;

    for (i = 1; i <= n; i++) {
        uint32_t cap = qtest_readl(qts, base + 4 * i);

        if ((cap & 0xffff) == id) {
            return base + (cap >> 20);
        }
    }
    g_assert_not_reached();
}

/* Address of device capability @id (CXL r3.1 8.2.8.2) in BAR 2. */
static inline uint64_t cram_find_dev_cap(QTestState *qts, uint64_t base,
                                         int id)
{
    int n = (qtest_readq(qts, base) >> 32) & 0xffff, i;

    for (i = 1; i <= n; i++) {
        uint64_t cap = base + 0x10 * i;

        if ((qtest_readl(qts, cap) & 0xffff) == id) {
            return base + qtest_readl(qts, cap + 4);
        }
    }
    g_assert_not_reached();
}

/* Config-space offset of the CXL DVSEC with @id on the device. */
static inline uint16_t cram_find_dvsec(CramQT *t, uint16_t id)
{
    uint16_t off = 0x100;

    while (off) {
        uint32_t hdr = qtest_readl(t->qts, cram_ecam(CRAM_DEV_BUS, 0, off));
        uint32_t h1 = qtest_readl(t->qts,
                                  cram_ecam(CRAM_DEV_BUS, 0, off + 4));
        uint16_t h2 = qtest_readw(t->qts,
                                  cram_ecam(CRAM_DEV_BUS, 0, off + 8));

        if ((hdr & 0xffff) == 0x23 && (h1 & 0xffff) == 0x1e98 && h2 == id) {
            return off;
        }
        off = hdr >> 20;
    }
    g_assert_not_reached();
}

/*
 * Find register block @block_id through the Register Locator DVSEC (ID 8),
 * as Linux's cxl_find_regblock() does: BAR address plus offset.
 */
static inline uint64_t cram_find_regblock(CramQT *t, int block_id)
{
    uint16_t loc = cram_find_dvsec(t, 8);
    uint32_t len = qtest_readl(t->qts,
                               cram_ecam(CRAM_DEV_BUS, 0, loc + 4)) >> 20;
    uint32_t i;

    for (i = 0; 0xc + 8 * (i + 1) <= len; i++) {
        uint64_t e = cram_ecam(CRAM_DEV_BUS, 0, loc + 0xc + 8 * i);
        uint32_t lo = qtest_readl(t->qts, e);
        uint32_t hi = qtest_readl(t->qts, e + 4);

        if (((lo >> 8) & 0xff) == block_id) {
            return t->bar[lo & 7] + (((uint64_t)hi << 32) | (lo & 0xffff0000));
        }
    }
    g_assert_not_reached();
}

/*
 * Commit HDM decoder 0 at the start of the window: @size bytes of HPA
 * over DPA @skip onwards (256 MiB multiples, as the registers hold).
 */
static inline void cram_commit_hdm_range(CramQT *t, uint64_t size,
                                         uint64_t skip)
{
    uint64_t hdm = cram_find_cm_cap(t->qts, t->bar[0] + 0x1000, 5);
    uint64_t d0 = hdm + 0x10;

    qtest_writel(t->qts, hdm + 0x4, 0x2);                /* enable */
    qtest_writel(t->qts, d0 + 0x0, (uint32_t)t->window);
    qtest_writel(t->qts, d0 + 0x4, t->window >> 32);
    qtest_writel(t->qts, d0 + 0x8, (uint32_t)size);
    qtest_writel(t->qts, d0 + 0xc, size >> 32);
    qtest_writel(t->qts, d0 + 0x14, (uint32_t)skip);     /* DPA skip */
    qtest_writel(t->qts, d0 + 0x18, skip >> 32);
    qtest_writel(t->qts, d0 + 0x10, 1 << 9);            /* commit */
    g_assert_cmphex(qtest_readl(t->qts, d0 + 0x10) & (1 << 10), ==, 1 << 10);
}

/* Commit HDM decoder 0: DPA 0..capacity at the start of the window. */
static inline void cram_commit_hdm(CramQT *t)
{
    cram_commit_hdm_range(t, t->capacity, 0);
}

/*
 * Start QEMU with one cxl-cram (id cram0) on rp0, given its extra
 * properties (and CRAM_QTEST_PROPS) and extra QEMU arguments, but do not
 * touch the machine yet (a migration destination must not).
 */
static inline void cram_launch_window(CramQT *t, uint64_t capacity,
                                      uint64_t window, const char *props,
                                      const char *args)
{
    g_autofree char *fmw = g_strdup_printf("%" PRIu64 "M", window >> 20);
    const char *extra = g_getenv("CRAM_QTEST_PROPS");
    g_autofree char *all = NULL;

    if (extra && *extra) {
        all = props ? g_strdup_printf("%s,%s", props, extra)
                    : g_strdup(extra);
        props = all;
    }
    memset(t, 0, sizeof(*t));
    t->capacity = capacity;
    t->qts = qtest_initf("%s -machine q35,cxl=on -nodefaults "
                         "-device pxb-cxl,id=cxl.0,bus=pcie.0,bus_nr=52 "
                         "-device cxl-rp,id=rp0,bus=cxl.0,chassis=0,slot=0 "
                         "-M cxl-fmw.0.targets.0=cxl.0,cxl-fmw.0.size=%s "
                         "-device cxl-cram,bus=rp0,id=cram0,capacity=%"
                         PRIu64 "%s%s", args, fmw, capacity,
                         props ? "," : "", props ? props : "");
}

/* The same, with a fixed memory window the size of the device. */
static inline void cram_launch(CramQT *t, uint64_t capacity,
                               const char *props, const char *args)
{
    cram_launch_window(t, capacity, capacity, props, args);
}

/*
 * Root port 52:@devfn: secondary bus @bus, a 256 MiB memory window at
 * @mmio, forwarding.
 */
static inline void cram_setup_rp_at(QTestState *qts, int devfn, int bus,
                                    uint64_t mmio)
{
    qtest_writeb(qts, cram_ecam(CRAM_HB_BUS, devfn, 0x18), CRAM_HB_BUS);
    qtest_writeb(qts, cram_ecam(CRAM_HB_BUS, devfn, 0x19), bus);
    qtest_writeb(qts, cram_ecam(CRAM_HB_BUS, devfn, 0x1a), bus);
    qtest_writew(qts, cram_ecam(CRAM_HB_BUS, devfn, 0x20),
                 (mmio >> 16) & 0xfff0);
    qtest_writew(qts, cram_ecam(CRAM_HB_BUS, devfn, 0x22),
                 ((mmio + 0x0fffffff) >> 16) & 0xfff0);
    qtest_writew(qts, cram_ecam(CRAM_HB_BUS, devfn, 0x04), 0x6);
}

/* Root port 52:00.0, the cxl-cram's */
static inline void cram_setup_rp(QTestState *qts)
{
    cram_setup_rp_at(qts, 0, CRAM_DEV_BUS, CRAM_MMIO_BASE);
}

/*
 * Make a launched cxl-cram's registers reachable (again, after a reset):
 * ECAM, the root port's windows, the BARs; the caller commits a decoder.
 */
static inline void cram_setup(CramQT *t)
{
    uint64_t next = CRAM_MMIO_BASE;

    cram_enable_ecam(t->qts);
    cram_setup_rp(t->qts);

    g_assert_cmphex(qtest_readw(t->qts, cram_ecam(CRAM_DEV_BUS, 0, 0)), ==,
                    CXL_CRAM_PCI_VENDOR_ID);
    g_assert_cmphex(qtest_readw(t->qts, cram_ecam(CRAM_DEV_BUS, 0, 2)), ==,
                    CXL_CRAM_PCI_DEVICE_ID);
    cram_assign_bars(t->qts, CRAM_DEV_BUS, 0, &next, t->bar);

    t->window = cram_find_window(t->qts);
    t->mbox = cram_find_dev_cap(t->qts, t->bar[2], 2);
    t->regs = cram_find_regblock(t, CXL_CRAM_REGLOC_BLOCK_ID);
    g_assert_cmphex(t->regs, ==, t->bar[CXL_CRAM_REGS_BAR]);
}

/*
 * Start QEMU with one cxl-cram in a fixed memory window of @window bytes,
 * and make its registers reachable; the caller commits a decoder.
 */
static inline void cram_start_window(CramQT *t, uint64_t capacity,
                                     uint64_t window, const char *props,
                                     const char *args)
{
    cram_launch_window(t, capacity, window, props, args);
    cram_setup(t);
}

/*
 * Start QEMU with one cxl-cram (id cram0) on rp0, given its extra
 * properties, and make its memory, mailbox and registers reachable.
 */
static inline void cram_start_args(CramQT *t, uint64_t capacity,
                                   const char *props, const char *args)
{
    cram_start_window(t, capacity, capacity, props, args);
    cram_commit_hdm(t);
}

/* Store the cached dirty pages: the figures become exact. */
static inline void cram_flush(CramQT *t)
{
    qtest_writeq(t->qts, t->regs + CXL_CRAM_REG_CACHE_FLUSH, 1);
}

/* A register, read after a flush so that tests can assert exact values */
static inline uint64_t cram_reg(CramQT *t, uint64_t reg)
{
    cram_flush(t);
    return qtest_readq(t->qts, t->regs + reg);
}

/* Run mailbox command @opcode; returns the CXL return code. */
static inline int cram_mbox(CramQT *t, uint16_t opcode, const void *in,
                            size_t in_len, void *out, size_t *out_len)
{
    uint64_t cmd;

    if (in_len) {
        qtest_memwrite(t->qts, t->mbox + 0x20, in, in_len);
    }
    qtest_writeq(t->qts, t->mbox + 0x8, opcode | ((uint64_t)in_len << 16));
    qtest_writel(t->qts, t->mbox + 0x4, 1);             /* doorbell */
    g_assert_cmpint(qtest_readl(t->qts, t->mbox + 0x4) & 1, ==, 0);
    cmd = qtest_readq(t->qts, t->mbox + 0x8);
    if (out) {
        *out_len = (cmd >> 16) & 0x1fffff;
        qtest_memread(t->qts, t->mbox + 0x20, out, *out_len);
    }
    return (qtest_readq(t->qts, t->mbox + 0x10) >> 32) & 0xffff;
}

/* qom-get of the device's "stats"; the caller unrefs. */
static inline QDict *cram_stats(CramQT *t)
{
    g_autofree char *path = g_strdup_printf("/machine/peripheral/cram%d",
                                            t->devno);
    QDict *rsp = qtest_qmp(t->qts, "{'execute': 'qom-get', 'arguments': "
                           "{'path': %s, 'property': 'stats'}}", path);
    QDict *ret = qdict_get_qdict(rsp, "return");

    g_assert_nonnull(ret);
    qobject_ref(ret);
    qobject_unref(rsp);
    return ret;
}

/* qom-get of one of the device's bool properties. */
static inline bool cram_prop_bool(CramQT *t, const char *name)
{
    g_autofree char *path = g_strdup_printf("/machine/peripheral/cram%d",
                                            t->devno);
    QDict *rsp = qtest_qmp(t->qts, "{'execute': 'qom-get', 'arguments': "
                           "{'path': %s, 'property': %s}}", path, name);
    bool on = qdict_get_bool(rsp, "return");

    qobject_unref(rsp);
    return on;
}

/*
 * The registers and QMP must agree, and the figures must add up, at the
 * end of every test that still has its BARs (a guest reset unmaps them).
 */
static inline void cram_check_accounts(CramQT *t)
{
    QDict *st;
    uint64_t used, size, pages;

    cram_flush(t);
    st = cram_stats(t);
    used = qtest_readq(t->qts, t->regs + CXL_CRAM_REG_MEDIA_USED);
    size = qtest_readq(t->qts, t->regs + CXL_CRAM_REG_MEDIA_SIZE);
    pages = qdict_get_int(st, "pages-same") +
            qdict_get_int(st, "pages-compressed") +
            qdict_get_int(st, "pages-raw");
    g_assert_cmpuint(qdict_get_int(st, "media-reserved"), ==, 0);

    g_assert_cmpuint(qdict_get_int(st, "media-used"), ==, used);
    g_assert_cmpuint(used, <=, size);
    g_assert_cmpuint(qtest_readq(t->qts, t->regs + CXL_CRAM_REG_MEDIA_FREE),
                     ==, size - used);
    g_assert_cmpuint(qdict_get_int(st, "logical-held"), ==, pages * 4096);
    g_assert_cmpuint(qtest_readq(t->qts, t->regs +
                                 CXL_CRAM_REG_LOGICAL_HELD), ==,
                     pages * 4096);
    g_assert_cmpuint(qdict_get_int(st, "stored-bytes"), <=, used);
    g_assert_cmpuint(qdict_get_int(st, "poisoned-pages"), ==,
                     qtest_readq(t->qts, t->regs +
                                 CXL_CRAM_REG_POISONED_PAGES));
    g_assert_cmpuint(qdict_get_int(st, "dropped-writes"), ==,
                     qtest_readq(t->qts, t->regs +
                                 CXL_CRAM_REG_DROPPED_WRITES));
    g_assert_cmpuint(!!(qtest_readq(t->qts, t->regs + CXL_CRAM_REG_STATUS) &
                        CXL_CRAM_STATUS_POISON), ==,
                     !!qdict_get_int(st, "poisoned-pages"));
    qobject_unref(st);
}

/* @len bytes of English-like text: compresses about 3:1 or better */
static inline void cram_fill_words(uint8_t *buf, size_t len, uint32_t seed)
{
    static const char *const words[] = {
        "memory ", "compressed ", "the ", "page ", "device ", "write ",
        "ratio ", "of ", "expander ", "CXL ", "media ", "and ", "guest ",
    };
    GRand *r = g_rand_new_with_seed(seed);
    size_t i = 0;

    while (i < len) {
        const char *w = words[g_rand_int_range(r, 0, G_N_ELEMENTS(words))];
        size_t n = MIN(strlen(w), len - i);

        memcpy(buf + i, w, n);
        i += n;
    }
    g_rand_free(r);
}

static inline void cram_start(CramQT *t, uint64_t capacity,
                              const char *props)
{
    cram_start_args(t, capacity, props, "");
}

static inline void cram_stop(CramQT *t)
{
    cram_check_accounts(t);
    qtest_quit(t->qts);
}

/*
 * Start a migration destination: QEMU with -incoming defer and @args
 * (which may redirect its stderr), the machine not touched.
 */
static inline void cram_mig_launch(CramQT *d, uint64_t capacity,
                                   const char *props, const char *args)
{
    g_autofree char *a = g_strdup_printf("-incoming defer %s",
                                         args ? args : "");

    cram_launch(d, capacity, props, a);
}

/* @qts's migration status ("none" before one); @transferred: RAM bytes */
static inline char *cram_mig_status(QTestState *qts, uint64_t *transferred)
{
    QDict *rsp = qtest_qmp(qts, "{'execute': 'query-migrate'}");
    QDict *ret = qdict_get_qdict(rsp, "return");
    char *st = g_strdup(qdict_haskey(ret, "status") ?
                        qdict_get_str(ret, "status") : "none");

    if (transferred && qdict_haskey(ret, "ram")) {
        *transferred = qdict_get_int(qdict_get_qdict(ret, "ram"),
                                     "transferred");
    }
    qobject_unref(rsp);
    return st;
}

/* Waits until @qts's migration is over; returns its status. */
static inline char *cram_mig_wait(QTestState *qts, uint64_t *transferred)
{
    int i;

    for (i = 0; i < 6000; i++) {
        char *st = cram_mig_status(qts, transferred);

        if (!strcmp(st, "completed") || !strcmp(st, "failed") ||
            !strcmp(st, "cancelled")) {
            return st;
        }
        g_free(st);
        g_usleep(10 * 1000);
    }
    g_assert_not_reached();
}

/* Migrate @s to @uri. */
static inline void cram_migrate(CramQT *s, const char *uri)
{
    qtest_qmp_assert_success(s->qts, "{'execute': 'migrate', 'arguments': "
                             "{'uri': %s}}", uri);
}

/* Load the stream at @uri into the destination @d. */
static inline void cram_mig_incoming(CramQT *d, const char *uri)
{
    qtest_qmp_assert_success(d->qts, "{'execute': 'migrate-incoming', "
                             "'arguments': {'uri': %s, "
                             "'exit-on-error': false}}", uri);
}

/*
 * Wait for @d's load to complete and take over the layout of its source
 * @s.  Upstream's cxl-rp has no vmstate in QEMU 10.0, so its bus numbers
 * and window are set again here, as firmware would; the device's own
 * state (BARs, MSI-X, HDM decoder) came across.
 */
static inline void cram_mig_attach(CramQT *d, const CramQT *s)
{
    char *st = cram_mig_wait(d->qts, NULL);

    g_assert_cmpstr(st, ==, "completed");
    g_free(st);
    cram_setup_rp(d->qts);
    memcpy(d->bar, s->bar, sizeof(d->bar));
    d->window = s->window;
    d->mbox = s->mbox;
    d->regs = s->regs;
}

/*
 * A migration through files: the stream cram_mig_save() saved, altered
 * copies that cram_mig_refused() loads, and the destinations' stderr.
 */
typedef struct CramMig {
    const char *props;          /* the destinations' properties */
    uint64_t capacity;          /* the source's */
    char *file, *bad, *log, *redirect, *uri, *bad_uri;
} CramMig;

static inline void cram_mig_init(CramMig *m, const char *props)
{
    const char *tmp = g_get_tmp_dir();

    m->props = props;
    m->capacity = 0;
    m->file = g_strdup_printf("%s/cram-mig-%d.bin", tmp, getpid());
    m->bad = g_strdup_printf("%s/cram-mig-%d.bad", tmp, getpid());
    m->log = g_strdup_printf("%s/cram-mig-%d.err", tmp, getpid());
    m->redirect = g_strdup_printf("2>%s", m->log);
    m->uri = g_strdup_printf("file:%s", m->file);
    m->bad_uri = g_strdup_printf("file:%s", m->bad);
}

static inline void cram_mig_free(CramMig *m)
{
    unlink(m->file);
    unlink(m->bad);
    unlink(m->log);
    g_free(m->file);
    g_free(m->bad);
    g_free(m->log);
    g_free(m->redirect);
    g_free(m->uri);
    g_free(m->bad_uri);
}

/* Migrate @s into the file and stop it; the stream is returned. */
static inline uint8_t *cram_mig_save(CramMig *m, CramQT *s, size_t *len)
{
    uint8_t *buf;
    char *st;

    cram_migrate(s, m->uri);
    st = cram_mig_wait(s->qts, NULL);
    g_assert_cmpstr(st, ==, "completed");
    g_free(st);
    m->capacity = s->capacity;
    cram_stop(s);
    g_assert_true(g_file_get_contents(m->file, (char **)&buf, len, NULL));
    return buf;
}

/* Start a destination and load @uri into it; the final status. */
static inline char *cram_mig_load(CramMig *m, CramQT *d, const char *uri)
{
    cram_mig_launch(d, m->capacity, m->props, m->redirect);
    cram_mig_incoming(d, uri);
    return cram_mig_wait(d->qts, NULL);
}

/* The altered stream @b fails to load, with @msg in QEMU's error. */
static inline void cram_mig_refused(CramMig *m, const uint8_t *b, size_t len,
                                    const char *what, const char *msg)
{
    g_autofree char *err = NULL;
    CramQT d;
    char *st;

    g_assert_true(g_file_set_contents(m->bad, (const char *)b, len, NULL));
    st = cram_mig_load(m, &d, m->bad_uri);
    g_assert_true(g_file_get_contents(m->log, &err, NULL, NULL));
    if (strcmp(st, "failed") || !strstr(err, msg)) {
        g_error("%s: load %s, expected '%s' in: %s", what, st, msg, err);
    }
    g_free(st);
    g_test_message("%s: %s", what, strstr(err, "cxl-cram"));
    qtest_quit(d.qts);
}

/* The stream as saved loads into @d, which then has @s's layout. */
static inline void cram_mig_load_saved(CramMig *m, CramQT *d,
                                       const CramQT *s)
{
    cram_mig_launch(d, m->capacity, m->props, m->redirect);
    cram_mig_incoming(d, m->uri);
    cram_mig_attach(d, s);
}

#endif
