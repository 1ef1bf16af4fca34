/*
 * Randomized qtest fuzzer for cxl-cram, with a shadow model
 *
 * A seeded PRNG mixes guest reads and writes of every size and alignment,
 * register reads and writes with random values, mailbox commands with
 * random and malformed payloads, discards and watermark changes.  A shadow
 * model says what every touched page must hold: data, zero or poison.
 * After every batch all touched pages are compared with the model, and
 * the counters with each other and with the model.
 *
 * The seed also picks the decoder layout, as a guest could program it: DPA
 * 0 at the start of the window, a DPA skip of 256 MiB with a decoder that
 * reaches 256 MiB past the capacity, or a decoder and window twice the
 * device; the last two add accesses that straddle the end of the device.
 *
 *   CRAM_FUZZ_SEED=N   reproduce a run (the seed is printed)
 *   CRAM_FUZZ_OPS=N    operations (default 3000)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/units.h"
#include "qemu/bswap.h"
#include "qemu/cutils.h"
#include "cxl-cram-qtest.h"

#define CAP         (8 * GiB)
#define PAGE        4096
#define NPAGES      48          /* pages the fuzzer touches */
#define BATCH       100

typedef enum { PG_DATA, PG_POISON } PgState;

typedef struct Fuzz {
    CramQT t;
    GRand *r;
    uint64_t page[NPAGES];      /* DPA page indices */
    PgState st[NPAGES];
    uint8_t *data[NPAGES];      /* PG_DATA content */
    uint64_t skip;              /* DPA skip of decoder 0 */
    bool past_end;              /* decoder 0 reaches past the capacity */
    uint64_t ops[16];           /* per-kind counts, for the report */
    long op;                    /* current operation, for reports */
} Fuzz;

/* CRAM_FUZZ_TRACE=N: report every operation on tracked page N */
static void G_GNUC_PRINTF(3, 4) trace_pg(Fuzz *f, int i, const char *fmt,
                                          ...)
{
    static int want = -2;
    g_autofree char *msg = NULL;
    va_list ap;

    if (want == -2) {
        want = g_getenv("CRAM_FUZZ_TRACE") ?
               atoi(g_getenv("CRAM_FUZZ_TRACE")) : -1;
    }
    if (i != want) {
        return;
    }
    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_test_message("op %ld: page %d state %d: %s", f->op, i, f->st[i], msg);
}

static int find_page(Fuzz *f, uint64_t pg)
{
    int i;

    for (i = 0; i < NPAGES; i++) {
        if (f->page[i] == pg) {
            return i;
        }
    }
    return -1;
}

static uint64_t rnd64(Fuzz *f)
{
    return ((uint64_t)g_rand_int(f->r) << 32) | g_rand_int(f->r);
}

/* Content: random, compressible, zero or one repeated word. */
static void fill(Fuzz *f, uint8_t *buf, size_t len)
{
    int kind = g_rand_int_range(f->r, 0, 4);
    size_t i;

    for (i = 0; i < len; i++) {
        switch (kind) {
        case 0:
            buf[i] = g_rand_int(f->r);
            break;
        case 1:
            buf[i] = "compressible cxl-cram fuzz "[i % 27];
            break;
        case 2:
            buf[i] = 0;
            break;
        default:
            buf[i] = 0x5a ^ (i % 8);
        }
    }
}

static void cram_wreg(CramQT *t, uint64_t reg, uint64_t v)
{
    qtest_writeq(t->qts, t->regs + reg, v);
}

/* Host physical address of @dpa through decoder 0 */
static uint64_t hpa(Fuzz *f, uint64_t dpa)
{
    return f->t.window + dpa - f->skip;
}

/* Model of a write to bytes of a page. */
static void model_write(Fuzz *f, int i, unsigned off, const uint8_t *b,
                        unsigned len)
{
    if (f->st[i] == PG_DATA) {
        memcpy(f->data[i] + off, b, len);
    }
    /* poisoned: partial writes are dropped at the flush that follows */
}

/*
 * A guest write of 1-8 bytes, or a bulk write, into tracked page @i (even)
 * and possibly its tracked neighbour i + 1.
 */
static void op_write(Fuzz *f, int i)
{
    uint8_t buf[2 * PAGE];
    uint64_t dpa;
    unsigned len, done = 0;
    bool poisoned = false;

    if (g_rand_boolean(f->r)) {
        static const unsigned sizes[] = { 1, 2, 4, 8 };
        uint64_t v = rnd64(f);

        len = sizes[g_rand_int_range(f->r, 0, 4)];
        dpa = f->page[i] * PAGE + g_rand_int_range(f->r, 0, PAGE);
        stq_le_p(buf, v);
        switch (len) {
        case 1:
            qtest_writeb(f->t.qts, hpa(f, dpa), v);
            break;
        case 2:
            qtest_writew(f->t.qts, hpa(f, dpa), v);
            break;
        case 4:
            qtest_writel(f->t.qts, hpa(f, dpa), v);
            break;
        default:
            qtest_writeq(f->t.qts, hpa(f, dpa), v);
        }
        f->ops[0]++;
    } else {
        /* whole page (heals poison), or any span, possibly two pages */
        if (g_rand_int_range(f->r, 0, 3) == 0) {
            dpa = f->page[i] * PAGE;
            len = PAGE;
        } else {
            dpa = f->page[i] * PAGE + g_rand_int_range(f->r, 0, PAGE);
            len = g_rand_int_range(f->r, 1, PAGE + 64);
            len = MIN(len, (f->page[i] + 2) * PAGE - dpa);
        }
        fill(f, buf, len);
        qtest_memwrite(f->t.qts, hpa(f, dpa), buf, len);
        f->ops[1]++;
    }
    /* apply to the model page by page */
    while (done < len) {
        uint64_t pg = (dpa + done) / PAGE;
        unsigned off = (dpa + done) % PAGE, n = MIN(len - done, PAGE - off);
        int j = find_page(f, pg);

        if (j < 0) {
            /* the neighbour page was not tracked: track it by writing */
            g_assert_not_reached();
        }
        trace_pg(f, j, "write off %u len %u", off, n);
        if (f->st[j] == PG_POISON) {
            poisoned = true;
            if (off == 0 && n == PAGE) {
                /* a whole page written at once heals it on flush */
                f->st[j] = PG_DATA;
                memcpy(f->data[j], buf + done, PAGE);
            }
        } else {
            model_write(f, j, off, buf + done, n);
        }
        done += n;
    }
    if (poisoned) {
        cram_flush(&f->t);      /* settle the poisoned page now */
    }
}

static void check_page(Fuzz *f, int i)
{
    uint8_t got[PAGE], want[PAGE];

    qtest_memread(f->t.qts, hpa(f, f->page[i] * PAGE), got, PAGE);
    if (f->st[i] == PG_POISON) {
        memset(want, 0xff, PAGE);
    } else {
        memcpy(want, f->data[i], PAGE);
    }
    if (memcmp(got, want, PAGE)) {
        int d = 0, ff = 0, zero = 0, k;

        while (got[d] == want[d]) {
            d++;
        }
        for (k = 0; k < PAGE; k++) {
            ff += got[k] == 0xff;
            zero += got[k] == 0;
        }
        g_test_message("op %ld: page %d (dpa 0x%" PRIx64 ") state %d "
                       "differs at %d: got 0x%02x want 0x%02x (0xff bytes "
                       "%d, zero bytes %d)", f->op, i, f->page[i] * PAGE,
                       f->st[i], d, got[d], want[d], ff, zero);
        g_assert_cmpmem(got, PAGE, want, PAGE);
    }
}

static void op_read(Fuzz *f)
{
    int i = g_rand_int_range(f->r, 0, NPAGES);
    unsigned off = g_rand_int_range(f->r, 0, PAGE - 8);
    static const unsigned sizes[] = { 1, 2, 4, 8 };
    unsigned len = sizes[g_rand_int_range(f->r, 0, 4)];
    uint64_t a = hpa(f, f->page[i] * PAGE + off), got, want = 0;

    switch (len) {
    case 1:
        got = qtest_readb(f->t.qts, a);
        break;
    case 2:
        got = qtest_readw(f->t.qts, a);
        break;
    case 4:
        got = qtest_readl(f->t.qts, a);
        break;
    default:
        got = qtest_readq(f->t.qts, a);
    }
    if (f->st[i] == PG_POISON) {
        want = len == 8 ? ~0ULL : (1ULL << (8 * len)) - 1;
    } else {
        memcpy(&want, f->data[i] + off, len);
        want = le64_to_cpu(want);
    }
    if (got != want) {
        g_test_message("op %ld: read of %u bytes at dpa 0x%" PRIx64
                       " (page %d, state %d): got 0x%" PRIx64 " want 0x%"
                       PRIx64, f->op, len, f->page[i] * PAGE + off, i,
                       f->st[i], got, want);
    }
    g_assert_cmphex(got, ==, want);
    f->ops[2]++;
}

/*
 * An access of 1-8 bytes that straddles the end of the capacity (the
 * decoder reaches past it): the bytes inside land in the last page, the
 * rest is discarded; read back, they are all-ones.
 */
static void op_edge(Fuzz *f)
{
    static const unsigned sizes[] = { 1, 2, 4, 8 };
    unsigned size = sizes[g_rand_int_range(f->r, 0, 4)];
    unsigned off = g_rand_int_range(f->r, 0, 8);
    unsigned inside = MIN(size, 8 - off), b;
    uint64_t a = hpa(f, CAP - 8 + off), v = rnd64(f), got, want = 0;
    int last = NPAGES - 1;
    uint8_t bytes[8];

    g_assert_cmpuint(f->page[last], ==, CAP / PAGE - 1);
    stq_le_p(bytes, v);
    switch (size) {
    case 1:
        qtest_writeb(f->t.qts, a, v);
        break;
    case 2:
        qtest_writew(f->t.qts, a, v);
        break;
    case 4:
        qtest_writel(f->t.qts, a, v);
        break;
    default:
        qtest_writeq(f->t.qts, a, v);
    }
    model_write(f, last, PAGE - 8 + off, bytes, inside);
    if (f->st[last] == PG_POISON) {
        cram_flush(&f->t);      /* settle the poisoned page now */
    }
    got = qtest_readq(f->t.qts, a);
    for (b = 0; b < 8; b++) {
        uint64_t byte = 0xff;

        /* the read is 8 bytes: 8 - off of them inside the capacity */
        if (b < 8 - off && f->st[last] == PG_DATA) {
            byte = f->data[last][PAGE - 8 + off + b];
        }
        want |= byte << (8 * b);
    }
    if (got != want) {
        g_test_message("op %ld: edge access of %u bytes at capacity - %u: "
                       "read 0x%" PRIx64 " want 0x%" PRIx64, f->op, size,
                       8 - off, got, want);
    }
    g_assert_cmphex(got, ==, want);
    f->ops[6]++;
}

/* Discard pages [first, first + n) in the model (only tracked ones). */
static void model_discard(Fuzz *f, uint64_t first, uint64_t n)
{
    int i;

    for (i = 0; i < NPAGES; i++) {
        if (f->page[i] - first < n) {
            trace_pg(f, i, "discard");
            f->st[i] = PG_DATA;
            memset(f->data[i], 0, PAGE);
        }
    }
}

/* Random register traffic, including the control registers. */
static void op_reg(Fuzz *f)
{
    uint64_t reg = g_rand_int_range(f->r, 0, CXL_CRAM_REGS_SIZE / 4) * 4;
    uint64_t v = rnd64(f);

    switch (g_rand_int_range(f->r, 0, 6)) {
    case 0:                         /* any read */
        if (reg % 8 == 0 && g_rand_boolean(f->r)) {
            qtest_readq(f->t.qts, f->t.regs + reg);
        } else {
            qtest_readl(f->t.qts, f->t.regs + reg);
        }
        break;
    case 1:                         /* any write, except the doorbells */
        if ((reg & ~7ULL) == CXL_CRAM_REG_DISCARD_PAGES) {
            reg = CXL_CRAM_REG_IRQ_STATUS;
        }
        if (reg % 8 == 0) {
            qtest_writeq(f->t.qts, f->t.regs + reg, v);
        } else {
            qtest_writel(f->t.qts, f->t.regs + reg, v);
        }
        break;
    case 2: {                       /* a discard, valid or not */
        int i = g_rand_int_range(f->r, 0, NPAGES);
        uint64_t dpa = g_rand_boolean(f->r) ? f->page[i] * PAGE :
                       v % (CAP + PAGE);
        uint64_t n = g_rand_boolean(f->r) ? g_rand_int_range(f->r, 0, 3) :
                     rnd64(f);

        cram_wreg(&f->t, CXL_CRAM_REG_DISCARD_DPA, dpa);
        cram_wreg(&f->t, CXL_CRAM_REG_DISCARD_PAGES, n);
        if (qtest_readq(f->t.qts, f->t.regs +
                        CXL_CRAM_REG_DISCARD_RESULT) == 0) {
            g_assert_cmphex(dpa % PAGE, ==, 0);
            model_discard(f, dpa / PAGE, n);
        }
        f->ops[3]++;
        break;
    }
    case 3:                         /* watermarks */
        cram_wreg(&f->t, g_rand_boolean(f->r) ? CXL_CRAM_REG_WM_LOW :
                  CXL_CRAM_REG_WM_HIGH, v % (1200 * MiB));
        break;
    case 4:
        cram_wreg(&f->t, CXL_CRAM_REG_IRQ_ENABLE, v);
        break;
    default:
        cram_flush(&f->t);
    }
    f->ops[4]++;
}

/* Mailbox commands, valid and malformed. */
static void op_mbox(Fuzz *f)
{
    uint8_t in[256], out[2048];
    int i = g_rand_int_range(f->r, 0, NPAGES);
    /* a tracked line, or an address the device must refuse */
    uint64_t dpa = g_rand_int_range(f->r, 0, 4) ?
                   f->page[i] * PAGE + g_rand_int_range(f->r, 0, 64) * 64 :
                   g_rand_boolean(f->r) ? CAP + rnd64(f) % CAP :
                   f->page[i] * PAGE + g_rand_int_range(f->r, 1, 64);
    size_t len, n;
    int rc;

    fill(f, in, sizeof(in));
    switch (g_rand_int_range(f->r, 0, 8)) {
    case 0:                         /* Get Poison List */
        stq_le_p(in, dpa);
        stq_le_p(in + 8, g_rand_int_range(f->r, 0, 1 << 20));
        cram_mbox(&f->t, 0x4300, in, g_rand_int_range(f->r, 0, 2) ? 16 : 15,
                  out, &len);
        break;
    case 1:                         /* Inject Poison */
        stq_le_p(in, dpa);
        rc = cram_mbox(&f->t, 0x4301, in, 8, NULL, &len);
        if (rc == 0) {
            int j = find_page(f, dpa / PAGE);

            g_assert_cmphex(dpa % 64, ==, 0);
            g_assert_cmpint(j, >=, 0);
            trace_pg(f, j, "inject at 0x%" PRIx64, dpa);
            f->st[j] = PG_POISON;
        }
        break;
    case 2:                         /* Clear Poison */
        stq_le_p(in, dpa);
        rc = cram_mbox(&f->t, 0x4302, in, g_rand_int_range(f->r, 0, 4) ?
                       72 : 71, NULL, &len);
        if (rc == 0) {
            int j = find_page(f, dpa / PAGE);

            if (j >= 0) {
                trace_pg(f, j, "clear poison at 0x%" PRIx64, dpa);
                if (f->st[j] == PG_POISON) {
                    f->st[j] = PG_DATA;
                    memset(f->data[j], 0, PAGE);
                }
                memcpy(f->data[j] + dpa % PAGE, in + 8, 64);
            }
        }
        break;
    case 3: {                       /* Media Operations, zero */
        uint32_t count = g_rand_int_range(f->r, 0, 4);

        in[0] = g_rand_int_range(f->r, 0, 8) ? 1 : g_rand_int(f->r);
        in[1] = g_rand_int_range(f->r, 0, 8) ? 1 : g_rand_int(f->r);
        stl_le_p(in + 4, count);
        for (n = 0; n < count; n++) {
            int j = g_rand_int_range(f->r, 0, NPAGES);
            uint64_t s = g_rand_int_range(f->r, 0, 4) ?
                f->page[j] * PAGE + g_rand_int_range(f->r, 0, 64) * 64 :
                rnd64(f);
            uint64_t l = g_rand_int_range(f->r, 0, 4) ?
                g_rand_int_range(f->r, 1, 2 * PAGE / 64) * 64 : rnd64(f);

            stq_le_p(in + 8 + 16 * n, s);
            stq_le_p(in + 16 + 16 * n, l);
        }
        len = 8 + 16 * count + (g_rand_int_range(f->r, 0, 8) ? 0 : 1);
        rc = cram_mbox(&f->t, 0x4402, in, len, NULL, &n);
        if (g_getenv("CRAM_FUZZ_TRACE_OP") &&
            atol(g_getenv("CRAM_FUZZ_TRACE_OP")) == f->op) {
            g_test_message("op %ld: media op %u/%u count %u len %zu rc %d",
                           f->op, in[0], in[1], count, len, rc);
            for (n = 0; n < count; n++) {
                g_test_message("  range 0x%" PRIx64 " +0x%" PRIx64,
                               ldq_le_p(in + 8 + 16 * n),
                               ldq_le_p(in + 16 + 16 * n));
            }
        }
        if (rc == 0 && in[0] == 1 && in[1] == 1) {
            /*
             * Lines zeroed in a poisoned page are dropped unless the
             * command's ranges, together, cover the whole page.
             */
            uint64_t lines[NPAGES] = { 0 };
            int j;

            for (n = 0; n < count; n++) {
                uint64_t s = ldq_le_p(in + 8 + 16 * n);
                uint64_t l = ldq_le_p(in + 16 + 16 * n), a;

                for (a = s; a < s + l; a += 64) {
                    j = find_page(f, a / PAGE);
                    if (j < 0) {
                        continue;
                    }
                    trace_pg(f, j, "media zero line 0x%" PRIx64, a);
                    lines[j] |= 1ULL << (a % PAGE / 64);
                    if (f->st[j] == PG_DATA) {
                        memset(f->data[j] + a % PAGE, 0, 64);
                    }
                }
            }
            for (j = 0; j < NPAGES; j++) {
                if (lines[j] == ~0ULL) {
                    model_discard(f, f->page[j], 1);
                }
            }
        }
        break;
    }
    case 4:                         /* Identify, Get Partition Info */
        g_assert_cmpint(cram_mbox(&f->t, g_rand_boolean(f->r) ? 0x4000 :
                                  0x4100, NULL, 0, out, &len), ==, 0);
        break;
    case 5:                         /* Sanitize, rarely */
        if (g_rand_int_range(f->r, 0, 20) == 0) {
            g_assert_cmpint(cram_mbox(&f->t, 0x4400, NULL, 0, NULL, &len),
                            ==, 0);
            model_discard(f, 0, UINT64_MAX);
        }
        break;
    case 6:                         /* Get Event Records, any log */
        in[0] = g_rand_int_range(f->r, 0, 6);
        cram_mbox(&f->t, 0x0100, in, 1, out, &len);
        break;
    default:                        /* unknown commands: refused */
        rc = cram_mbox(&f->t, 0x7f00 | g_rand_int_range(f->r, 0, 256),
                       in, g_rand_int_range(f->r, 0, 64), NULL, &len);
        g_assert_cmpint(rc, !=, 0);
    }
    f->ops[5]++;
}

/* Everything touched matches the model; the counters add up. */
static void check_all(Fuzz *f)
{
    uint64_t held = 0, poison = 0;
    QDict *st;
    int i;

    cram_flush(&f->t);
    for (i = 0; i < NPAGES; i++) {
        check_page(f, i);
        if (f->st[i] == PG_POISON) {
            poison++;
        } else if (!buffer_is_zero(f->data[i], PAGE)) {
            held++;
        }
    }
    cram_check_accounts(&f->t);
    st = cram_stats(&f->t);
    g_assert_cmpuint(qdict_get_int(st, "logical-held"), ==, held * PAGE);
    g_assert_cmpuint(qdict_get_int(st, "poisoned-pages"), ==, poison);
    qobject_unref(st);
}

static void test_fuzz(void)
{
    const char *s = g_getenv("CRAM_FUZZ_SEED");
    const char *n = g_getenv("CRAM_FUZZ_OPS");
    guint32 seed = s ? g_ascii_strtoull(s, NULL, 0) : g_random_int();
    long ops = n ? atol(n) : 3000, k;
    Fuzz f = { 0 };
    int i, layout;

    g_test_message("CRAM_FUZZ_SEED=%u CRAM_FUZZ_OPS=%ld", seed, ops);
    f.r = g_rand_new_with_seed(seed);
    layout = g_rand_int_range(f.r, 0, 3);
    f.skip = layout == 1 ? 256 * MiB : 0;
    f.past_end = layout != 0;
    g_test_message("decoder 0: DPA skip %" PRIu64 " MiB, %s", f.skip >> 20,
                   layout == 2 ? "decoder and window twice the device" :
                   layout == 1 ? "reaching 256 MiB past the capacity" :
                   "the capacity");
    /* media large enough that no write is dropped: the model is exact */
    cram_start_window(&f.t, CAP, layout == 2 ? 2 * CAP : CAP,
                      g_rand_boolean(f.r) ? "media-size=256M" :
                      "media-size=256M,cache-size=64K", "");
    cram_commit_hdm_range(&f.t, layout == 2 ? 2 * CAP : CAP, f.skip);
    for (i = 0; i < NPAGES; i++) {
        /* pairs of neighbours, spread over the capacity, the last one too */
        uint64_t base = f.skip / PAGE +
                        i / 2 * ((CAP - f.skip) / PAGE / (NPAGES / 2));

        f.page[i] = i == NPAGES - 1 ? CAP / PAGE - 1 :
                    i == NPAGES - 2 ? CAP / PAGE - 2 : base + i % 2;
        f.st[i] = PG_DATA;
        f.data[i] = g_malloc0(PAGE);
    }
    for (k = 0; k < ops; k++) {
        int kind = g_rand_int_range(f.r, 0, 10);
        int pick = g_rand_int_range(f.r, 0, NPAGES);

        f.op = k;

        if (kind < 4) {
            op_write(&f, pick & ~1);    /* even: its neighbour is tracked */
        } else if (kind == 4 && f.past_end && pick < NPAGES / 4) {
            op_edge(&f);
        } else if (kind < 6) {
            op_read(&f);
        } else if (kind < 8) {
            op_reg(&f);
        } else {
            op_mbox(&f);
        }
        if (k % BATCH == BATCH - 1) {
            check_all(&f);
        }
    }
    check_all(&f);
    g_test_message("ops: small writes %" PRIu64 ", bulk writes %" PRIu64
                   ", reads %" PRIu64 ", discards %" PRIu64 ", register ops %"
                   PRIu64 ", mailbox %" PRIu64 ", past the end %" PRIu64,
                   f.ops[0], f.ops[1], f.ops[2], f.ops[3], f.ops[4],
                   f.ops[5], f.ops[6]);
    for (i = 0; i < NPAGES; i++) {
        g_free(f.data[i]);
    }
    g_rand_free(f.r);
    cram_stop(&f.t);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qtest_add_func("/cxl-cram/fuzz", test_fuzz);
    return g_test_run();
}
