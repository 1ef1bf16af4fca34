/*
 * QTest testcase for cxl-cram: hostile guest and host inputs that reach
 * upstream CXL code (patches/0005-qemu-10.0-cxl-hostile-inputs.patch).
 * Built into cxl-cram-test; cxl_cram_hostinput_add_tests() registers
 * the tests.
 *
 * - an HDM decoder committed with a reserved interleave ways (IW) or
 *   granularity (IG) encoding, on the device and on the host bridge,
 *   then the window accessed: QEMU exited ("Encoded interleave ways ...
 *   not supported") or aborted; the commit is now refused;
 * - the same values, and other read-only bits, in the component
 *   registers of a migration stream: the load fails; so does a
 *   poisoned page's record that is malformed or outside the capacity;
 * - a mailbox command whose LENGTH exceeds the payload registers: read
 *   past them, into the device; now Invalid Payload Length;
 * - QMP cxl-inject-poison beyond the capacity or of length zero: was
 *   accepted (and the next migration failed); now refused;
 * - the root port's MSI Multiple Message Enable beyond its 2 vectors,
 *   MSI disabled: the write aborted QEMU (cxl-rp and ioh3420); the AER
 *   interrupt message number now counts the vectors the port has
 *   (patches/0006-qemu-10.0-cxl-rp-msi-vectors.patch).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/units.h"
#include "qemu/bswap.h"
#include "hw/pci/pci_regs.h"
#include "cxl-cram-qtest.h"
#include "cxl-cram-hostinput-test.h"

#define HI_CAP          (8 * GiB)
#define HI_PAGE         4096

#define HDM_CTRL_COMMIT     (1u << 9)
#define HDM_CTRL_COMMITTED  (1u << 10)
#define HDM_CTRL_ERR        (1u << 11)

/* Reserved IW encodings (5-7, 0xb-0xf) and IG encodings (7-0xf). */
static const uint8_t bad_iw[] = { 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf };
static const uint8_t bad_ig[] = { 7, 8, 9, 0xa, 0xb, 0xc, 0xd, 0xe, 0xf };

/* Program decoder @d of the HDM capability at @hdm, then write @ctrl. */
static uint32_t hi_program(QTestState *qts, uint64_t hdm, int d,
                           uint64_t base, uint64_t size, uint32_t target,
                           uint32_t ctrl)
{
    uint64_t r = hdm + 0x10 + 0x20 * d;

    qtest_writel(qts, hdm + 0x4, 0x2);                  /* enable */
    qtest_writel(qts, r + 0x0, (uint32_t)base);
    qtest_writel(qts, r + 0x4, base >> 32);
    qtest_writel(qts, r + 0x8, (uint32_t)size);
    qtest_writel(qts, r + 0xc, size >> 32);
    qtest_writel(qts, r + 0x14, target);        /* target list / DPA skip */
    qtest_writel(qts, r + 0x10, ctrl);
    return qtest_readl(qts, r + 0x10);
}

/* Reads and writes over the window; QEMU must answer each. */
static void hi_poke_window(CramQT *t, uint64_t span)
{
    uint64_t off;

    for (off = 0; off < span; off += span / 16) {
        qtest_readq(t->qts, t->window + off);
        qtest_writeq(t->qts, t->window + off + 8, 0x1122334455667788ULL);
        qtest_readl(t->qts, t->window + off + 8);
    }
    for (off = 0; off < 16 * 256; off += 256) {  /* every interleave slot */
        qtest_readq(t->qts, t->window + off);
        qtest_writeq(t->qts, t->window + off, 0x55aa55aa55aa55aaULL);
    }
}

/* The device works: data through a good decoder, Identify answers. */
static void hi_check_alive(CramQT *t)
{
    uint8_t out[2048];
    size_t len;

    qtest_writeq(t->qts, t->window + 5 * HI_PAGE + 16, 0xfeedfacecafef00dULL);
    g_assert_cmphex(qtest_readq(t->qts, t->window + 5 * HI_PAGE + 16), ==,
                    0xfeedfacecafef00dULL);
    g_assert_cmpint(cram_mbox(t, 0x4000, NULL, 0, out, &len), ==, 0);
    g_assert_cmpuint(ldq_le_p(out + 0x10), ==, HI_CAP / (256 * MiB));
}

/*
 * The cxl-cram's own HDM decoder 0, committed with a reserved IW or IG
 * encoding over the first 256 MiB of the window, then the window read
 * and written inside and beyond it: cxl-type3's HPA to DPA decode called
 * cxl_interleave_ways_dec(..., &error_fatal) and QEMU exited.  The commit
 * is refused: Error Not Committed set, Committed clear, and the window
 * does not decode through that decoder.
 */
static void test_hdm_bad_iw(void)
{
    uint64_t hdm;
    uint32_t ctrl;
    CramQT t;
    int i;

    cram_start_window(&t, HI_CAP, HI_CAP, NULL, "");
    hdm = cram_find_cm_cap(t.qts, t.bar[0] + 0x1000, 5);
    for (i = 0; i < G_N_ELEMENTS(bad_iw) + G_N_ELEMENTS(bad_ig); i++) {
        uint32_t enc = i < G_N_ELEMENTS(bad_iw) ? bad_iw[i] << 4 :
                       bad_ig[i - G_N_ELEMENTS(bad_iw)];

        ctrl = hi_program(t.qts, hdm, 0, t.window, 256 * MiB, 0,
                          enc | HDM_CTRL_COMMIT);
        hi_poke_window(&t, 1 * GiB);
        g_test_message("device decoder 0, control 0x%x: read back 0x%x",
                       enc | HDM_CTRL_COMMIT, ctrl);
        g_assert_cmphex(ctrl & (HDM_CTRL_COMMITTED | HDM_CTRL_ERR), ==,
                        HDM_CTRL_ERR);
        /* Uncommit clears the error */
        ctrl = hi_program(t.qts, hdm, 0, t.window, 256 * MiB, 0, enc);
        g_assert_cmphex(ctrl & (HDM_CTRL_COMMITTED | HDM_CTRL_ERR), ==, 0);
    }
    /* The valid encodings still commit (16 and 3, 6, 12 ways included) */
    for (i = 0; i <= 0xa; i++) {
        if (i >= 5 && i <= 7) {
            continue;
        }
        ctrl = hi_program(t.qts, hdm, 0, t.window, 256 * MiB, 0,
                          i << 4 | 6 | HDM_CTRL_COMMIT);
        g_assert_cmphex(ctrl & (HDM_CTRL_COMMITTED | HDM_CTRL_ERR), ==,
                        HDM_CTRL_COMMITTED);
        hi_poke_window(&t, 1 * GiB);
        hi_program(t.qts, hdm, 0, t.window, 256 * MiB, 0, 0);
    }
    cram_commit_hdm(&t);
    hi_check_alive(&t);
    cram_stop(&t);
}

/*
 * The host bridge's HDM decoder (pxb-cxl with hdm_for_passthrough=on, so
 * that its decoders route the window) committed with an IW its 8-entry
 * target list cannot hold (16 ways, 3/6/12 ways, reserved): the target
 * index ran past the list and extract32() aborted QEMU.  Refused.
 */
static void test_hb_bad_iw(void)
{
    static const uint8_t hb_bad[] = { 4, 5, 6, 7, 8, 9, 0xa, 0xb, 0xc, 0xd,
                                      0xe, 0xf };
    uint64_t hb, hdm;
    uint32_t ctrl;
    CramQT t;
    int i;

    cram_start_window(&t, HI_CAP, HI_CAP, NULL,
                      "-global pxb-cxl.hdm_for_passthrough=on");
    cram_commit_hdm(&t);
    hb = cram_find_region(t.qts, "pxb-cxl-host");
    hdm = cram_find_cm_cap(t.qts, hb + 0x1000, 5);
    /* A good host bridge decoder: one way, to root port 0 */
    ctrl = hi_program(t.qts, hdm, 0, t.window, HI_CAP, 0, HDM_CTRL_COMMIT);
    g_assert_cmphex(ctrl & (HDM_CTRL_COMMITTED | HDM_CTRL_ERR), ==,
                    HDM_CTRL_COMMITTED);
    hi_check_alive(&t);

    for (i = 0; i < G_N_ELEMENTS(hb_bad) + G_N_ELEMENTS(bad_ig); i++) {
        uint32_t enc = i < G_N_ELEMENTS(hb_bad) ? hb_bad[i] << 4 :
                       bad_ig[i - G_N_ELEMENTS(hb_bad)];

        ctrl = hi_program(t.qts, hdm, 0, t.window, HI_CAP, 0,
                          enc | HDM_CTRL_COMMIT);
        hi_poke_window(&t, HI_CAP);
        g_test_message("host bridge decoder 0, control 0x%x: read back 0x%x",
                       enc | HDM_CTRL_COMMIT, ctrl);
        g_assert_cmphex(ctrl & (HDM_CTRL_COMMITTED | HDM_CTRL_ERR), ==,
                        HDM_CTRL_ERR);
    }
    ctrl = hi_program(t.qts, hdm, 0, t.window, HI_CAP, 0, HDM_CTRL_COMMIT);
    g_assert_cmphex(ctrl & (HDM_CTRL_COMMITTED | HDM_CTRL_ERR), ==,
                    HDM_CTRL_COMMITTED);
    hi_check_alive(&t);
    cram_stop(&t);
}

/* Ring the doorbell for @opcode with LENGTH @len; the return code. */
static int hi_mbox_len(CramQT *t, uint16_t opcode, uint64_t len)
{
    qtest_writeq(t->qts, t->mbox + 0x8, opcode | len << 16);
    qtest_writel(t->qts, t->mbox + 0x4, 1);
    g_assert_cmpint(qtest_readl(t->qts, t->mbox + 0x4) & 1, ==, 0);
    return (qtest_readq(t->qts, t->mbox + 0x10) >> 32) & 0xffff;
}

/*
 * The mailbox's LENGTH field (21 bits) beyond the 2048-byte payload
 * registers: the input was copied from past them, out of the device
 * object (up to 2 MiB; ASan: heap-buffer-overflow), and commands of
 * variable length ran on it.  Invalid Payload Length (16h) now, for
 * every command, and nothing else happens.
 */
static void test_mailbox_length(void)
{
    /* Identify, Clear Event Records, Set LSA, Get Poison List, Media Ops */
    static const uint16_t ops[] = { 0x4000, 0x0101, 0x4103, 0x4300, 0x4402 };
    static const uint64_t lens[] = { 2048 + 1, 4096, 0x1fffff };
    uint8_t zero[2048] = { 0 };
    int i, j;
    CramQT t;

    cram_start(&t, HI_CAP, NULL);
    g_assert_cmpuint(1u << ((qtest_readl(t.qts, t.mbox) & 0x1f)), ==, 2048);
    for (i = 0; i < G_N_ELEMENTS(ops); i++) {
        for (j = 0; j < G_N_ELEMENTS(lens); j++) {
            int rc;

            qtest_memwrite(t.qts, t.mbox + 0x20, zero, sizeof(zero));
            rc = hi_mbox_len(&t, ops[i], lens[j]);
            g_test_message("opcode 0x%04x LENGTH 0x%" PRIx64 ": 0x%x",
                           ops[i], lens[j], rc);
            g_assert_cmphex(rc, ==, 0x16);
            /* Nothing returned */
            g_assert_cmphex((qtest_readq(t.qts, t.mbox + 0x8) >> 16) &
                            0x1fffff, ==, 0);
        }
    }
    /* A well-formed command still works */
    g_assert_cmphex(hi_mbox_len(&t, 0x4000, 0), ==, 0);
    hi_check_alive(&t);
    cram_stop(&t);
}

/* Get Poison List over the whole capacity, raw; returns its length. */
static size_t hi_poison_list(CramQT *t, uint8_t *out)
{
    uint8_t in[16];
    size_t len;

    stq_le_p(in, 0);
    stq_le_p(in + 8, HI_CAP / 64);
    g_assert_cmpint(cram_mbox(t, 0x4300, in, 16, out, &len), ==, 0);
    return len;
}

typedef struct HiPoison {
    uint64_t start, length;
    const char *msg;
} HiPoison;

/*
 * QMP cxl-inject-poison at or beyond the capacity, running past it, or of
 * length zero was accepted: a record no guest can clear, and the next
 * migration failed on the destination.  Refused with a GenericError
 * naming the range; the poison list is unchanged.  A range that is
 * accepted poisons its pages for real (patches/0007): they read as
 * poison and the figures count them; before, only a record was added
 * and the data stayed readable.  More than 1 GiB at once is refused.
 */
static void test_qmp_poison(void)
{
    static const HiPoison cases[] = {
        { HI_CAP, 64, "beyond the device's capacity" },
        { HI_CAP + 4096, 4096, "beyond the device's capacity" },
        { HI_CAP - 64, 128, "beyond the device's capacity" },
        { 0, HI_CAP + 64, "beyond the device's capacity" },
        { 1ULL << 62, 64, "beyond the device's capacity" },
        { 0xffffffffffffffc0ULL, 128, "beyond the device's capacity" },
        { 4096, 0, "must not be zero" },
        { HI_CAP, 0, "must not be zero" },
        { 0, 1 * GiB + 64, "at most 1 GiB per cxl-inject-poison" },
    };
    uint8_t before[2048], after[2048];
    size_t n0, n1;
    CramQT t;
    int i;

    cram_start(&t, HI_CAP, "poison-mce=off");
    qtest_writeq(t.qts, t.window + 8192 + 2048, 0x1234);
    qtest_qmp_assert_success(t.qts, "{'execute': 'cxl-inject-poison', "
                             "'arguments': {'path': "
                             "'/machine/peripheral/cram0', "
                             "'start': 8192, 'length': 64}}");
    n0 = hi_poison_list(&t, before);
    g_assert_cmpuint(lduw_le_p(before + 0xa), ==, 1);
    /* the whole page: its data gone, counted, POISON set */
    g_assert_cmpuint(ldl_le_p(before + 0x28), ==, 4096 / 64);
    g_assert_cmphex(qtest_readq(t.qts, t.window + 8192 + 2048), ==,
                    UINT64_MAX);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_POISONED_PAGES), ==, 1);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_STATUS) &
                     CXL_CRAM_STATUS_POISON, !=, 0);
    for (i = 0; i < G_N_ELEMENTS(cases); i++) {
        QDict *rsp = qtest_qmp(t.qts, "{'execute': 'cxl-inject-poison', "
                               "'arguments': {'path': "
                               "'/machine/peripheral/cram0', "
                               "'start': %" PRIu64 ", 'length': %" PRIu64
                               "}}", cases[i].start, cases[i].length);
        QDict *err = qdict_get_qdict(rsp, "error");

        if (!err) {
            g_error("cxl-inject-poison start 0x%" PRIx64 " length 0x%"
                    PRIx64 " was accepted", cases[i].start,
                    cases[i].length);
        }
        g_test_message("start 0x%" PRIx64 " length 0x%" PRIx64 ": %s",
                       cases[i].start, cases[i].length,
                       qdict_get_str(err, "desc"));
        g_assert_cmpstr(qdict_get_str(err, "class"), ==, "GenericError");
        g_assert_nonnull(strstr(qdict_get_str(err, "desc"), cases[i].msg));
        qobject_unref(rsp);
    }
    n1 = hi_poison_list(&t, after);
    g_assert_cmpmem(before, n0, after, n1);
    /* The last line of the capacity can be poisoned */
    qtest_qmp_assert_success(t.qts, "{'execute': 'cxl-inject-poison', "
                             "'arguments': {'path': "
                             "'/machine/peripheral/cram0', "
                             "'start': %" PRIu64 ", 'length': 64}}",
                             HI_CAP - 64);
    hi_poison_list(&t, after);
    g_assert_cmpuint(lduw_le_p(after + 0xa), ==, 2);
    hi_check_alive(&t);
    qtest_quit(t.qts);
}

typedef struct HiMigBad {
    const char *what;
    int reg;            /* register, in 32-bit words from cache_mem */
    uint32_t set, clear;
    const char *msg;
} HiMigBad;

/*
 * The component registers travel raw in cxl-cram's stream: a stream with
 * a committed decoder of a reserved IW or IG, Committed with Error Not
 * Committed, or a change to bits that are read-only to the guest, loaded
 * without a word, and the decoder then took QEMU down on the first
 * access.  The load now fails naming the register; the unaltered stream
 * (decoder 1 holding a reserved IW, uncommitted, as a guest can leave
 * it) still loads.
 */
static void test_migration_regs(void)
{
    g_autofree uint8_t *buf = NULL;
    uint64_t cm, hdm;
    uint32_t head[4];
    int cap, base0, ctrl0, ctrl1, i;
    size_t len, off;
    CramQT s, d;
    CramMig m;

    cram_mig_init(&m, "media-size=16M");
    cram_start(&s, HI_CAP, m.props);
    cm = s.bar[0] + 0x1000;
    hdm = cram_find_cm_cap(s.qts, cm, 5);
    cap = (hdm - cm) / 4;               /* HDM Decoder Capability */
    base0 = cap + 0x10 / 4;             /* decoder 0 base, low */
    ctrl0 = cap + 0x20 / 4;             /* decoder 0 control */
    ctrl1 = cap + 0x40 / 4;             /* decoder 1 control */
    /* Decoder 1: a reserved IW, not committed (a guest may leave it so) */
    qtest_writel(s.qts, cm + 4 * ctrl1, 0xb0);
    g_assert_cmphex(qtest_readl(s.qts, cm + 4 * ctrl1), ==, 0xb0);
    qtest_writeq(s.qts, s.window + 3 * HI_PAGE, 0x0123456789abcdefULL);
    for (i = 0; i < 4; i++) {
        head[i] = cpu_to_be32(qtest_readl(s.qts, cm + 4 * i));
    }
    buf = cram_mig_save(&m, &s, &len);
    for (off = 0; off + 4096 <= len; off++) {
        if (!memcmp(buf + off, head, sizeof(head))) {
            break;
        }
    }
    g_assert_cmpuint(off + 4096, <=, len);

    {
        const HiMigBad cases[] = {
            { "iw", ctrl0, 0xb0, 0xf0, "interleave ways encoding 0xb" },
            { "iw-f", ctrl0, 0xf0, 0xf0, "interleave ways encoding 0xf" },
            { "ig", ctrl0, 0x7, 0xf, "interleave granularity encoding 0x7" },
            { "committed-1", ctrl1, HDM_CTRL_COMMITTED, 0, "HDM decoder 1" },
            { "error", ctrl0, HDM_CTRL_ERR, 0, "Error Not Committed set" },
            { "capability", cap, 0, 1u << 11, "read-only bits 0x00000800" },
            { "base", base0, 0x1000, 0, "read-only bits 0x00001000" },
            { "header", 0, 0x08000000, 0, "component register 0x0 is" },
        };

        for (i = 0; i < G_N_ELEMENTS(cases); i++) {
            g_autofree uint8_t *b = g_memdup2(buf, len);
            uint8_t *r = b + off + 4 * cases[i].reg;

            stl_be_p(r, (ldl_be_p(r) & ~cases[i].clear) | cases[i].set);
            cram_mig_refused(&m, b, len, cases[i].what, cases[i].msg);
        }
    }

    /* As saved: loads, decoder 1 keeps its IW and refuses to commit */
    cram_mig_load_saved(&m, &d, &s);
    g_assert_cmphex(qtest_readq(d.qts, d.window + 3 * HI_PAGE), ==,
                    0x0123456789abcdefULL);
    g_assert_cmphex(qtest_readl(d.qts, cm + 4 * ctrl1), ==, 0xb0);
    qtest_writel(d.qts, cm + 4 * ctrl1, 0xb0 | HDM_CTRL_COMMIT);
    g_assert_cmphex(qtest_readl(d.qts, cm + 4 * ctrl1) &
                    (HDM_CTRL_COMMITTED | HDM_CTRL_ERR), ==, HDM_CTRL_ERR);
    hi_check_alive(&d);
    qtest_quit(d.qts);
    cram_mig_free(&m);
}

#define HI_POISON_INTERNAL  2       /* CXL poison source: Internal */

/*
 * Source @s, with @props, ran the QMP command @fmt and migrated into
 * @m's file: the stream, *@len bytes, for the caller to free
 */
static uint8_t * G_GNUC_PRINTF(5, 6) hi_mig_save_after(CramMig *m,
                                                        CramQT *s,
                                                        const char *props,
                                                        size_t *len,
                                                        const char *fmt, ...)
{
    va_list ap;

    cram_mig_init(m, props);
    cram_start(s, HI_CAP, m->props);
    va_start(ap, fmt);
    qtest_vqmp_assert_success(s->qts, fmt, ap);
    va_end(ap);
    return cram_mig_save(m, s, len);
}

typedef struct HiMigPoison {
    const char *what;
    int byte;           /* in the page's store record */
    uint8_t value;
    const char *msg;
} HiMigPoison;

/*
 * A poisoned page travels as its store record: page (8 bytes), kind
 * EMPTY, flag POISON, size, span group and slot 0, then its CXL poison
 * source (1 byte).  A record with a source CXL does not define, unknown
 * flags, a kind that holds data, or a page beyond the capacity fails to
 * load naming it; the unaltered stream loads, and the guest's Get Poison
 * List gives the record back with its source.
 */
static void test_migration_poison(void)
{
    static const HiMigPoison cases[] = {
        { "type", 18, 8, "page 74565: poison tag 8 with flags 0x1" },
        { "flags", 9, 3, "page 74565: unknown flags 0x3" },
        { "kind", 8, 1, "page 74565: kind 1 with flags 0x1" },
        { "beyond", 3, 1, "page 4295041861 is beyond the capacity" },
    };
    static const uint8_t rec[19] = {
        [5] = 0x01, [6] = 0x23, [7] = 0x45, [9] = 1,
        [18] = HI_POISON_INTERNAL,
    };
    g_autofree uint8_t *buf = NULL;
    uint8_t list[2048];
    size_t len, off;
    CramQT s, d;
    CramMig m;
    int i;

    buf = hi_mig_save_after(&m, &s, "media-size=16M,poison-mce=off", &len,
                            "{'execute': 'cxl-inject-poison', "
                            "'arguments': {'path': "
                            "'/machine/peripheral/cram0', "
                            "'start': %d, 'length': 4096}}", 0x12345000);
    for (off = 0; off + sizeof(rec) <= len; off++) {
        if (!memcmp(buf + off, rec, sizeof(rec))) {
            break;
        }
    }
    g_assert_cmpuint(off + sizeof(rec), <=, len);

    for (i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree uint8_t *b = g_memdup2(buf, len);

        b[off + cases[i].byte] = cases[i].value;
        cram_mig_refused(&m, b, len, cases[i].what, cases[i].msg);
    }

    /* As saved: loads, and the guest reads the record back */
    cram_mig_load_saved(&m, &d, &s);
    hi_poison_list(&d, list);
    g_assert_cmpuint(lduw_le_p(list + 0xa), ==, 1);
    g_assert_cmphex(ldq_le_p(list + 0x20), ==,
                    0x12345000 | HI_POISON_INTERNAL);
    g_assert_cmpuint(ldl_le_p(list + 0x28), ==, 4096 / 64);
    hi_check_alive(&d);
    qtest_quit(d.qts);
    cram_mig_free(&m);
}

/*
 * failure-policy changed by cxl-cram-set travels in subsection
 * cxl-cram/failure-policy: its name, version (4 bytes), then the policy
 * (int32, big-endian).  A policy this QEMU does not know fails the load
 * naming it; as saved, the destination started with the default takes
 * the source's "log".
 */
static void test_migration_failure_policy(void)
{
    static const char name[] = "cxl-cram/failure-policy";
    static const struct {
        uint32_t policy;
        const char *msg;
    } cases[] = {
        { 2, "unknown failure policy 2" },
        { UINT32_MAX, "unknown failure policy -1" },
    };
    g_autofree uint8_t *buf = NULL;
    QDict *rsp;
    uint8_t *at;
    size_t len, off;
    CramQT s, d;
    CramMig m;
    int i;

    buf = hi_mig_save_after(&m, &s, "media-size=16M", &len,
                            "{'execute': 'cxl-cram-set', 'arguments': "
                            "{'path': '/machine/peripheral/cram0', "
                            "'failure-policy': 'log'}}");
    at = memmem(buf, len, name, strlen(name));
    g_assert_nonnull(at);
    off = at - buf + strlen(name) + 4;
    g_assert_cmpuint(ldl_be_p(buf + off), ==, 1);                /* log */

    for (i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree uint8_t *b = g_memdup2(buf, len);

        stl_be_p(b + off, cases[i].policy);
        cram_mig_refused(&m, b, len, cases[i].msg, cases[i].msg);
    }

    cram_mig_load_saved(&m, &d, &s);
    rsp = qtest_qmp(d.qts, "{'execute': 'qom-get', 'arguments': {'path': "
                    "'/machine/peripheral/cram0', 'property': "
                    "'failure-policy'}}");
    g_assert_cmpstr(qdict_get_str(rsp, "return"), ==, "log");
    qobject_unref(rsp);
    hi_check_alive(&d);
    qtest_quit(d.qts);
    cram_mig_free(&m);
}

/* The root ports' MSI: per-vector masking, 2 vectors (MMC 1), 32-bit */
#define HI_RP_MSI_FLAGS     (PCI_MSI_FLAGS_MASKBIT | 1 << 1)
#define HI_RP_MME(n)        ((n) << 4)          /* 2^n vectors asked for */
#define HI_IOH_DEVFN        (0x1c << 3)         /* ioh3420 at 00:1c.0 */

/* Config-space offset of extended capability @id of bus:devfn (0: none). */
static uint16_t hi_find_ext_cap(QTestState *qts, int bus, int devfn,
                                uint16_t id)
{
    uint16_t pos = 0x100;

    while (pos) {
        uint32_t hdr = qtest_readl(qts, cram_ecam(bus, devfn, pos));

        if ((hdr & 0xffff) == id) {
            return pos;
        }
        pos = hdr >> 20;
    }
    return 0;
}

/* Advanced Error Interrupt Message Number (Root Error Status 31:27). */
static uint32_t hi_aer_msg(QTestState *qts, int bus, int devfn, uint16_t aer)
{
    return qtest_readl(qts, cram_ecam(bus, devfn,
                                      aer + PCI_ERR_ROOT_STATUS)) >> 27;
}

/*
 * Root port bus:devfn (@did, Intel): with MSI disabled, MSI control
 * written with Multiple Message Enable for 4, 8, 16, 32 vectors and the
 * reserved 64, 128, each write followed by two of the command register
 * (INTx Disable set, then @cmd again).  Every config write of the port
 * recomputes the AER interrupt message number from the vectors
 * allocated, and anything but 1 or 2 aborted QEMU at the MSI write.  The
 * port has 2 vectors: MME reads back as written (msi_write_config()
 * clamps it only while MSI is enabled), the message number is 1, the
 * last of the 2, and the command register reads back what was written.
 * 1 and 2 vectors give 0 and 1 as before; MSI enabled with 32 asked for
 * is clamped to 2.  Left with 32 vectors asked for, MSI disabled.
 */
static void hi_rp_msi_mme(QTestState *qts, int bus, int devfn, uint16_t did,
                          uint16_t cmd)
{
    uint8_t msi = cram_find_cap(qts, bus, devfn, PCI_CAP_ID_MSI);
    uint16_t aer = hi_find_ext_cap(qts, bus, devfn, PCI_EXT_CAP_ID_ERR);
    uint64_t flags = cram_ecam(bus, devfn, msi + PCI_MSI_FLAGS);
    uint64_t command = cram_ecam(bus, devfn, PCI_COMMAND);
    int n;

    g_assert_cmphex(qtest_readl(qts, cram_ecam(bus, devfn, 0)), ==,
                    (uint32_t)did << 16 | 0x8086);
    g_assert_cmpuint(msi, !=, 0);
    g_assert_cmpuint(aer, !=, 0);
    g_assert_cmphex(qtest_readw(qts, flags), ==, HI_RP_MSI_FLAGS);
    qtest_writew(qts, command, cmd);
    g_assert_cmpuint(hi_aer_msg(qts, bus, devfn, aer), ==, 0);

    for (n = 2; n <= 7; n++) {
        uint16_t f, c;
        uint32_t msg;

        qtest_writew(qts, flags, HI_RP_MME(n));
        qtest_writew(qts, command, cmd | PCI_COMMAND_INTX_DISABLE);
        f = qtest_readw(qts, flags);
        c = qtest_readw(qts, command);
        msg = hi_aer_msg(qts, bus, devfn, aer);
        g_test_message("%02x:%02x.%x MME %u vectors, MSI off: MSI control "
                       "0x%04x, command 0x%04x, AER message %u", bus,
                       devfn >> 3, devfn & 7, 1u << n, f, c, msg);
        g_assert_cmphex(f, ==, HI_RP_MSI_FLAGS | HI_RP_MME(n));
        g_assert_cmphex(c, ==, cmd | PCI_COMMAND_INTX_DISABLE);
        g_assert_cmpuint(msg, ==, 1);
        qtest_writew(qts, command, cmd);
        g_assert_cmphex(qtest_readw(qts, command), ==, cmd);
        g_assert_cmphex(qtest_readw(qts, cram_ecam(bus, devfn, 2)), ==, did);
    }

    qtest_writew(qts, flags, HI_RP_MME(0));
    g_assert_cmpuint(hi_aer_msg(qts, bus, devfn, aer), ==, 0);
    qtest_writew(qts, flags, HI_RP_MME(1));
    g_assert_cmpuint(hi_aer_msg(qts, bus, devfn, aer), ==, 1);
    qtest_writew(qts, flags, PCI_MSI_FLAGS_ENABLE | HI_RP_MME(5));
    g_assert_cmphex(qtest_readw(qts, flags), ==,
                    HI_RP_MSI_FLAGS | PCI_MSI_FLAGS_ENABLE | HI_RP_MME(1));
    g_assert_cmpuint(hi_aer_msg(qts, bus, devfn, aer), ==, 1);
    qtest_writew(qts, flags, HI_RP_MME(5));
    g_assert_cmphex(qtest_readw(qts, flags), ==,
                    HI_RP_MSI_FLAGS | HI_RP_MME(5));
    g_assert_cmpuint(hi_aer_msg(qts, bus, devfn, aer), ==, 1);
}

/* A guest's reset through the reset control register (ICH9 0xcf9). */
static void hi_guest_reset(QTestState *qts)
{
    qtest_outb(qts, 0xcf9, 0x6);
    qtest_qmp_eventwait(qts, "RESET");
    cram_enable_ecam(qts);
}

/*
 * generic-fuzz: a config write of MSI Multiple Message Enable for 4 to
 * 32 vectors to the cxl-rp of the cxl-cram machine aborted QEMU in
 * cxl_rp_aer_vector(); ioh3420 had the same code.  hi_rp_msi_mme() on
 * both, then a guest reset with 32 vectors asked for (the reset
 * recomputes the message number before it clears MSI control); the
 * ports and the cxl-cram below the cxl-rp work on.
 */
static void test_rp_msi_mme(void)
{
    uint64_t next = CRAM_MMIO_BASE;
    QTestState *qts;
    uint16_t aer;
    CramQT t;

    cram_start_args(&t, HI_CAP, NULL, "");
    hi_rp_msi_mme(t.qts, CRAM_HB_BUS, 0, 0x7075, 0x6);
    hi_check_alive(&t);

    hi_guest_reset(t.qts);
    aer = hi_find_ext_cap(t.qts, CRAM_HB_BUS, 0, PCI_EXT_CAP_ID_ERR);
    g_assert_cmphex(qtest_readw(t.qts, cram_ecam(CRAM_HB_BUS, 0, 0x62)), ==,
                    HI_RP_MSI_FLAGS);
    cram_setup_rp(t.qts);
    g_assert_cmpuint(hi_aer_msg(t.qts, CRAM_HB_BUS, 0, aer), ==, 0);
    cram_assign_bars(t.qts, CRAM_DEV_BUS, 0, &next, t.bar);
    cram_commit_hdm(&t);
    hi_check_alive(&t);
    cram_stop(&t);

    qts = qtest_init("-machine q35 -nodefaults "
                     "-device ioh3420,id=rp9,bus=pcie.0,addr=0x1c,"
                     "chassis=1,slot=1");
    cram_enable_ecam(qts);
    hi_rp_msi_mme(qts, 0, HI_IOH_DEVFN, 0x3420, 0x6);
    hi_guest_reset(qts);
    g_assert_cmphex(qtest_readw(qts, cram_ecam(0, HI_IOH_DEVFN, 0x62)),
                    ==, HI_RP_MSI_FLAGS);
    qtest_quit(qts);
}

void cxl_cram_hostinput_add_tests(void)
{
    qtest_add_func("/cxl-cram/hostile/hdm-bad-iw", test_hdm_bad_iw);
    qtest_add_func("/cxl-cram/hostile/hb-bad-iw", test_hb_bad_iw);
    qtest_add_func("/cxl-cram/hostile/mailbox-length", test_mailbox_length);
    qtest_add_func("/cxl-cram/hostile/qmp-poison", test_qmp_poison);
    qtest_add_func("/cxl-cram/hostile/migration-regs", test_migration_regs);
    qtest_add_func("/cxl-cram/hostile/migration-poison",
                   test_migration_poison);
    qtest_add_func("/cxl-cram/hostile/migration-failure-policy",
                   test_migration_failure_policy);
    qtest_add_func("/cxl-cram/hostile/rp-msi-mme", test_rp_msi_mme);
}
