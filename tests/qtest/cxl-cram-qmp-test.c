/*
 * cxl-cram qtests of the QMP commands of qapi/cxl-cram.json: each
 * command's effect is asserted on what the guest and the host observe
 * (registers, pending MSI-X vectors, QMP stats, data read back), and bad
 * arguments get an error and change nothing.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/units.h"
#include "qemu/bswap.h"
#include "qobject/qjson.h"
#include "qapi/error.h"
#include "cxl-cram-qtest.h"
#include "cxl-cram-qmp-test.h"

#define CRAM0       "/machine/peripheral/cram0"
#define PAGE        4096

/* Run a cxl-cram command; NULL when it succeeded, else its error's desc */
static char *cram_cmd(CramQT *t, const char *cmd, const char *args)
{
    QDict *rsp = qtest_qmp(t->qts, "{'execute': %s, 'arguments': %p}", cmd,
                           qobject_from_json(args, &error_abort));
    char *desc = NULL;

    if (qdict_haskey(rsp, "error")) {
        desc = g_strdup(qdict_get_str(qdict_get_qdict(rsp, "error"),
                                      "desc"));
    } else {
        g_assert_nonnull(qdict_get_qdict(rsp, "return"));
    }
    qobject_unref(rsp);
    return desc;
}

static void cram_cmd_ok(CramQT *t, const char *cmd, const char *args)
{
    g_autofree char *err = cram_cmd(t, cmd, args);

    g_assert_null(err);
}

/* The command fails and its message contains @want */
static void cram_cmd_fails(CramQT *t, const char *cmd, const char *args,
                           const char *want)
{
    g_autofree char *err = cram_cmd(t, cmd, args);

    g_assert_nonnull(err);
    g_test_message("%s %s: %s", cmd, args, err);
    g_assert_nonnull(strstr(err, want));
}

static uint64_t figure(CramQT *t, const char *name)
{
    QDict *st = cram_stats(t);
    uint64_t v = qdict_get_int(st, name);

    qobject_unref(st);
    return v;
}

/* A register as it stands, without the flush that cram_reg() does */
static uint64_t reg_now(CramQT *t, uint64_t reg)
{
    return qtest_readq(t->qts, t->regs + reg);
}

/* MSI-X is not enabled here, so a vector that fired is pending. */
static bool msix_pending(CramQT *t, int vector)
{
    return qtest_readq(t->qts, t->bar[CXL_CRAM_MSIX_BAR] +
                       CXL_CRAM_MSIX_PBA) & (1ULL << vector);
}

/* @n pages of random data (raw, one media page each) from @dpa */
static void write_random(CramQT *t, uint64_t dpa, int n, uint32_t seed)
{
    GRand *r = g_rand_new_with_seed(seed);
    uint32_t buf[PAGE / 4];
    int p, i;

    for (p = 0; p < n; p++) {
        for (i = 0; i < PAGE / 4; i++) {
            buf[i] = g_rand_int(r);
        }
        qtest_memwrite(t->qts, t->window + dpa + (uint64_t)p * PAGE, buf,
                       PAGE);
    }
    g_rand_free(r);
}

/* A page of text: compresses well */
static void fill_text(uint8_t *buf, int p)
{
    int i;

    for (i = 0; i < PAGE; i++) {
        buf[i] = "the quick brown fox jumps over the lazy dog "[(i + p) % 44];
    }
    stl_le_p(buf, p);
}

static void set_wm(CramQT *t, uint64_t low, uint64_t high)
{
    g_autofree char *a = g_strdup_printf("{'path': '" CRAM0 "', "
                                         "'low-watermark': %" PRIu64 ", "
                                         "'high-watermark': %" PRIu64 "}",
                                         low, high);

    cram_cmd_ok(t, "cxl-cram-set", a);
    g_assert_cmpuint(cram_reg(t, CXL_CRAM_REG_WM_LOW), ==, low);
    g_assert_cmpuint(cram_reg(t, CXL_CRAM_REG_WM_HIGH), ==, high);
    g_assert_cmpuint(figure(t, "wm-low"), ==, low);
    g_assert_cmpuint(figure(t, "wm-high"), ==, high);
}

/* A system reset, and the device set up again as a driver would */
static void reset(CramQT *t)
{
    qtest_system_reset(t->qts);
    cram_setup(t);
    cram_commit_hdm(t);
}

/*
 * Watermarks moved under 6 MiB of media used: the status, the causes
 * latched, the interrupts and the counters move as the device's own
 * logic has them move for the guest's registers (hysteresis included);
 * a reset returns to the properties.
 */
static void test_set_watermarks(void)
{
    const uint64_t st_high = CXL_CRAM_STATUS_ABOVE_LOW |
                             CXL_CRAM_STATUS_ABOVE_HIGH |
                             CXL_CRAM_STATUS_NO_ALLOC;
    uint64_t used;
    CramQT t;

    cram_start(&t, 8 * GiB, "media-size=16M");
    qtest_writeq(t.qts, t.regs + CXL_CRAM_REG_IRQ_ENABLE, CXL_CRAM_IRQ_MASK);
    write_random(&t, 0, 1536, 1);                   /* 6 MiB */
    used = cram_reg(&t, CXL_CRAM_REG_MEDIA_USED);
    g_assert_cmpuint(used, >=, 6 * MiB);
    g_assert_cmpuint(used, <, 7 * MiB);
    g_assert_cmphex(cram_reg(&t, CXL_CRAM_REG_STATUS), ==, 0);
    g_assert_false(msix_pending(&t, CXL_CRAM_MSIX_DANGER));

    /* both under media used: NO_ALLOC, LOW_RISE, HIGH_RISE, vector 12 */
    set_wm(&t, 4 * MiB, 5 * MiB);
    g_assert_cmphex(cram_reg(&t, CXL_CRAM_REG_STATUS), ==, st_high);
    g_assert_cmphex(cram_reg(&t, CXL_CRAM_REG_IRQ_STATUS), ==,
                    (1 << CXL_CRAM_IRQ_LOW_RISE) |
                    (1 << CXL_CRAM_IRQ_HIGH_RISE));
    g_assert_cmpuint(figure(&t, "irq-low-rise"), ==, 1);
    g_assert_cmpuint(figure(&t, "irq-high-rise"), ==, 1);
    g_assert_cmpuint(figure(&t, "irq-danger"), ==, 1);
    g_assert_true(msix_pending(&t, CXL_CRAM_MSIX_VECTOR));
    g_assert_true(msix_pending(&t, CXL_CRAM_MSIX_DANGER));
    g_assert_false(msix_pending(&t, CXL_CRAM_MSIX_SAFE));
    g_assert_cmpuint(figure(&t, "status"), ==, st_high);

    /* high above media used, low under it: NO_ALLOC holds (hysteresis) */
    set_wm(&t, 4 * MiB, 8 * MiB);
    g_assert_cmphex(cram_reg(&t, CXL_CRAM_REG_STATUS), ==,
                    CXL_CRAM_STATUS_ABOVE_LOW | CXL_CRAM_STATUS_NO_ALLOC);
    g_assert_cmpuint(figure(&t, "irq-high-fall"), ==, 1);
    g_assert_cmpuint(figure(&t, "irq-safe"), ==, 0);

    /* both above: NO_ALLOC clears, LOW_FALL, vector 13 */
    qtest_writeq(t.qts, t.regs + CXL_CRAM_REG_IRQ_STATUS, CXL_CRAM_IRQ_MASK);
    set_wm(&t, 7 * MiB, 8 * MiB);
    g_assert_cmphex(cram_reg(&t, CXL_CRAM_REG_STATUS), ==, 0);
    g_assert_cmphex(cram_reg(&t, CXL_CRAM_REG_IRQ_STATUS), ==,
                    1 << CXL_CRAM_IRQ_LOW_FALL);
    g_assert_cmpuint(figure(&t, "irq-low-fall"), ==, 1);
    g_assert_cmpuint(figure(&t, "irq-safe"), ==, 1);
    g_assert_true(msix_pending(&t, CXL_CRAM_MSIX_SAFE));

    /* one watermark alone: the other stays; ABOVE_LOW, no NO_ALLOC */
    cram_cmd_ok(&t, "cxl-cram-set", "{'path': '" CRAM0 "', "
                "'low-watermark': 5242880}");
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_WM_LOW), ==, 5 * MiB);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_WM_HIGH), ==, 8 * MiB);
    g_assert_cmphex(cram_reg(&t, CXL_CRAM_REG_STATUS), ==,
                    CXL_CRAM_STATUS_ABOVE_LOW);

    /* a reset returns to the properties (75 % and 90 % of 16 MiB) */
    reset(&t);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_WM_LOW), ==,
                     16 * MiB / 100 * 75);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_WM_HIGH), ==,
                     16 * MiB / 100 * 90);
    cram_stop(&t);
}

/* A string property of the device: the caller frees it */
static char *qom_str(CramQT *t, const char *prop)
{
    QDict *rsp = qtest_qmp(t->qts, "{'execute': 'qom-get', 'arguments': "
                           "{'path': '" CRAM0 "', 'property': %s}}", prop);
    char *v = g_strdup(qdict_get_str(rsp, "return"));

    qobject_unref(rsp);
    return v;
}

static void assert_failure_policy(CramQT *t, const char *want)
{
    g_autofree char *v = qom_str(t, "failure-policy");

    g_assert_cmpstr(v, ==, want);
}

/*
 * poison-mce and failure-policy change at run time, where qom-set
 * refuses them, and travel with the device to a destination started
 * with the other values; a reset keeps them.
 */
static void test_set_poison_mce(void)
{
    g_autofree char *uri = g_strdup_printf("unix:%s/cram-qmp-mig-%d.sock",
                                           g_get_tmp_dir(), getpid());
    QDict *rsp;
    CramQT s, d;

    cram_start(&s, 8 * GiB, "media-size=16M");
    g_assert_true(cram_prop_bool(&s, "poison-mce"));
    rsp = qtest_qmp(s.qts, "{'execute': 'qom-set', 'arguments': "
                    "{'path': '" CRAM0 "', 'property': 'poison-mce', "
                    "'value': false}}");
    g_assert_true(qdict_haskey(rsp, "error"));
    qobject_unref(rsp);
    rsp = qtest_qmp(s.qts, "{'execute': 'qom-set', 'arguments': "
                    "{'path': '" CRAM0 "', 'property': 'failure-policy', "
                    "'value': 'log'}}");
    g_assert_true(qdict_haskey(rsp, "error"));
    qobject_unref(rsp);
    cram_cmd_ok(&s, "cxl-cram-set", "{'path': '" CRAM0 "', "
                "'poison-mce': false, 'failure-policy': 'log'}");
    g_assert_false(cram_prop_bool(&s, "poison-mce"));
    assert_failure_policy(&s, "log");
    qtest_system_reset(s.qts);
    cram_setup(&s);
    cram_commit_hdm(&s);
    assert_failure_policy(&s, "log");
    qtest_writeq(s.qts, s.window, 0x1234);

    cram_mig_launch(&d, 8 * GiB, "media-size=16M,poison-mce=on,"
                    "failure-policy=poison", NULL);
    g_assert_true(cram_prop_bool(&d, "poison-mce"));
    assert_failure_policy(&d, "poison");
    cram_mig_incoming(&d, uri);
    cram_migrate(&s, uri);
    g_free(cram_mig_wait(s.qts, NULL));
    cram_mig_attach(&d, &s);
    g_assert_false(cram_prop_bool(&d, "poison-mce"));
    assert_failure_policy(&d, "log");
    g_assert_cmphex(qtest_readq(d.qts, d.window), ==, 0x1234);
    qtest_quit(s.qts);
    cram_stop(&d);
}

/* The device's cache-size property, as it stands */
static uint64_t cache_size(CramQT *t)
{
    QDict *rsp = qtest_qmp(t->qts, "{'execute': 'qom-get', 'arguments': "
                           "{'path': '" CRAM0 "', "
                           "'property': 'cache-size'}}");
    uint64_t v = qdict_get_int(rsp, "return");

    qobject_unref(rsp);
    return v;
}

/*
 * A paused worker stores nothing: pages the guest dirtied stay cached,
 * each charged a whole media page, past the mark where the worker would
 * have written them back; resumed, it writes back to half the cache;
 * cxl-cram-flush stores the rest, paused or not.
 */
static void test_worker(void)
{
    const int n = 1800;     /* of a 2048-page cache: past 3/4 dirty */
    uint8_t buf[PAGE], got[PAGE];
    uint64_t async;
    CramQT t;
    int p, i;

    cram_start(&t, 8 * GiB, "media-size=64M");
    if (!cache_size(&t)) {
        /* CRAM_QTEST_PROPS=cache-size=0: no worker to pause */
        cram_cmd_fails(&t, "cxl-cram-worker", "{'path': '" CRAM0 "', "
                       "'paused': true}", "has no worker");
        cram_stop(&t);
        return;
    }

    cram_cmd_ok(&t, "cxl-cram-worker", "{'path': '" CRAM0 "', "
                "'paused': true}");
    for (p = 0; p < n; p++) {
        fill_text(buf, p);
        qtest_memwrite(t.qts, t.window + (uint64_t)p * PAGE, buf, PAGE);
    }
    g_usleep(300 * 1000);
    g_assert_cmpuint(figure(&t, "cache-dirty"), ==, n);
    g_assert_cmpuint(figure(&t, "writebacks-async"), ==, 0);
    g_assert_cmpuint(figure(&t, "media-reserved"), ==, (uint64_t)n * PAGE);
    g_assert_cmpuint(reg_now(&t, CXL_CRAM_REG_HEADROOM_PAGES), ==,
                     (64 * MiB - (uint64_t)n * PAGE) / PAGE);

    cram_cmd_ok(&t, "cxl-cram-worker", "{'path': '" CRAM0 "', "
                "'paused': false}");
    for (i = 0; i < 1000 && figure(&t, "cache-dirty") > 1024; i++) {
        g_usleep(10 * 1000);
    }
    g_assert_cmpuint(figure(&t, "cache-dirty"), <=, 1024);
    async = figure(&t, "writebacks-async");
    g_assert_cmpuint(async, >=, n - 1024);

    cram_cmd_ok(&t, "cxl-cram-worker", "{'path': '" CRAM0 "', "
                "'paused': true}");
    cram_cmd_ok(&t, "cxl-cram-flush", "{'path': '" CRAM0 "'}");
    g_assert_cmpuint(figure(&t, "cache-dirty"), ==, 0);
    g_assert_cmpuint(figure(&t, "media-reserved"), ==, 0);
    g_assert_cmpuint(figure(&t, "writebacks-async"), ==, async);
    g_assert_cmpuint(figure(&t, "media-used"), <, (uint64_t)n * PAGE / 2);
    for (p = 0; p < n; p += 97) {
        fill_text(buf, p);
        qtest_memread(t.qts, t.window + (uint64_t)p * PAGE, got, PAGE);
        g_assert_cmpmem(got, PAGE, buf, PAGE);
    }
    cram_stop(&t);
}

static void take_media(CramQT *t, uint64_t size)
{
    g_autofree char *a = g_strdup_printf("{'path': '" CRAM0 "', "
                                         "'size': %" PRIu64 "}", size);

    cram_cmd_ok(t, "cxl-cram-take-media", a);
    g_assert_cmpuint(figure(t, "media-taken"), ==, size);
}

/*
 * Media the host takes counts as used: the watermarks, NO_ALLOC, the
 * interrupts and at last dropped writes react as to the guest's data;
 * migration is blocked while the host holds media; given back, the
 * device is safe again and migrates.
 */
static void test_take_media(void)
{
    uint64_t used, ratio, media = 16 * MiB;
    g_autofree char *desc = NULL;
    QDict *rsp;
    CramQT t;

    cram_start(&t, 8 * GiB, "media-size=16M");
    qtest_writeq(t.qts, t.regs + CXL_CRAM_REG_IRQ_ENABLE, CXL_CRAM_IRQ_MASK);
    write_random(&t, 0, 1024, 3);                   /* 4 MiB */
    used = cram_reg(&t, CXL_CRAM_REG_MEDIA_USED);
    ratio = figure(&t, "ratio");
    g_assert_cmphex(cram_reg(&t, CXL_CRAM_REG_STATUS), ==, 0);

    /* past the low watermark (12 MiB) */
    take_media(&t, 9 * MiB);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_MEDIA_USED), ==,
                     used + 9 * MiB);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_MEDIA_FREE), ==,
                     media - used - 9 * MiB);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_HEADROOM_PAGES), ==,
                     (media - used - 9 * MiB) / PAGE);
    g_assert_cmphex(cram_reg(&t, CXL_CRAM_REG_STATUS), ==,
                    CXL_CRAM_STATUS_ABOVE_LOW);
    g_assert_cmpuint(figure(&t, "irq-low-rise"), ==, 1);
    g_assert_cmpuint(figure(&t, "ratio"), ==, ratio);

    /* past the high one (14.4 MiB): NO_ALLOC, vector 12 */
    take_media(&t, 11 * MiB);
    g_assert_cmphex(cram_reg(&t, CXL_CRAM_REG_STATUS), ==,
                    CXL_CRAM_STATUS_ABOVE_LOW | CXL_CRAM_STATUS_ABOVE_HIGH |
                    CXL_CRAM_STATUS_NO_ALLOC);
    g_assert_cmpuint(figure(&t, "irq-high-rise"), ==, 1);
    g_assert_cmpuint(figure(&t, "irq-danger"), ==, 1);
    g_assert_true(msix_pending(&t, CXL_CRAM_MSIX_DANGER));

    /* the guest writes on: what does not fit is dropped */
    write_random(&t, 64 * MiB, 512, 4);             /* 2 MiB, ~1 free */
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_DROPPED_WRITES), >, 0);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_MEDIA_FREE), <, PAGE);
    g_assert_true(cram_reg(&t, CXL_CRAM_REG_STATUS) &
                  CXL_CRAM_STATUS_EXHAUSTED);
    g_assert_cmpuint(figure(&t, "irq-dropped"), ==, 1);

    /* nothing is free: taking more fails and changes nothing */
    cram_cmd_fails(&t, "cxl-cram-take-media", "{'path': '" CRAM0 "', "
                   "'size': 12582912}", "cannot hold 12582912 bytes");
    g_assert_cmpuint(figure(&t, "media-taken"), ==, 11 * MiB);
    cram_cmd_fails(&t, "cxl-cram-take-media", "{'path': '" CRAM0 "', "
                   "'size': 5000}", "multiple of 4 KiB");
    cram_cmd_fails(&t, "cxl-cram-take-media", "{'path': '" CRAM0 "', "
                   "'size': 16781312}", "at most media-size (16777216)");
    g_assert_cmpuint(figure(&t, "media-taken"), ==, 11 * MiB);

    /* held media blocks migration */
    rsp = qtest_qmp(t.qts, "{'execute': 'migrate', 'arguments': "
                    "{'uri': 'exec:cat >/dev/null'}}");
    g_assert_true(qdict_haskey(rsp, "error"));
    g_assert_nonnull(strstr(qdict_get_str(qdict_get_qdict(rsp, "error"),
                                          "desc"), "holds media"));
    qobject_unref(rsp);

    /* given back: below the low watermark, safe again, vector 13 */
    take_media(&t, 0);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_MEDIA_USED), <, 12 * MiB);
    g_assert_cmphex(cram_reg(&t, CXL_CRAM_REG_STATUS) &
                    ~CXL_CRAM_STATUS_POISON, ==, 0);
    g_assert_cmpuint(figure(&t, "irq-safe"), ==, 1);
    g_assert_cmpuint(figure(&t, "irq-low-fall"), ==, 1);
    g_assert_true(msix_pending(&t, CXL_CRAM_MSIX_SAFE));
    cram_check_accounts(&t);
    cram_migrate(&t, "exec:cat >/dev/null");
    desc = cram_mig_wait(t.qts, NULL);
    g_assert_cmpstr(desc, ==, "completed");
    qtest_quit(t.qts);
}

/* Every event QEMU sent, in order: the callback logs them all */
static bool log_event(QTestState *qts, const char *name, QDict *event,
                      void *opaque)
{
    g_queue_push_tail(opaque, qobject_ref(event));
    return true;
}

/* Every event QEMU sent until now has been received (and logged). */
static void sync_events(CramQT *t)
{
    qobject_unref(qtest_qmp(t->qts, "{'execute': 'query-status'}"));
}

/*
 * The next event QEMU sent is a @name of this device: its data.  Events
 * go out while QEMU handles the command or qtest step that caused them,
 * so after one QMP round trip the log holds every event due.
 */
static QDict *event_data(CramQT *t, GQueue *log, const char *name)
{
    QDict *ev, *data;

    if (g_queue_is_empty(log)) {
        sync_events(t);
    }
    ev = g_queue_pop_head(log);
    g_assert_nonnull(ev);
    g_assert_cmpstr(qdict_get_str(ev, "event"), ==, name);
    data = qdict_get_qdict(ev, "data");
    qobject_ref(data);
    qobject_unref(ev);
    g_assert_cmpstr(qdict_get_str(data, "qom-path"), ==, CRAM0);
    return data;
}

static void expect_crossing(CramQT *t, GQueue *log, const char *crossing,
                            uint64_t used)
{
    QDict *d = event_data(t, log, "CXL_CRAM_WATERMARK");

    g_assert_cmpstr(qdict_get_str(d, "crossing"), ==, crossing);
    g_assert_cmpuint(qdict_get_int(d, "media-used"), ==, used);
    g_assert_cmpuint(qdict_get_int(d, "wm-low"), ==, 16 * MiB / 100 * 75);
    g_assert_cmpuint(qdict_get_int(d, "wm-high"), ==, 16 * MiB / 100 * 90);
    qobject_unref(d);
}

/* No event is due */
static void expect_none(CramQT *t, GQueue *log)
{
    sync_events(t);
    if (!g_queue_is_empty(log)) {
        g_error("unexpected event %s",
                qdict_get_str(g_queue_peek_head(log), "event"));
    }
}

/* The next two events are crossings @a and @b, in either order */
static void expect_crossings(CramQT *t, GQueue *log, const char *a,
                             uint64_t used_a, const char *b, uint64_t used_b)
{
    QDict *ev;

    sync_events(t);
    ev = g_queue_peek_head(log);
    g_assert_nonnull(ev);
    if (strcmp(qdict_get_str(qdict_get_qdict(ev, "data"), "crossing"), a)) {
        expect_crossing(t, log, b, used_b);
        expect_crossing(t, log, a, used_a);
    } else {
        expect_crossing(t, log, a, used_a);
        expect_crossing(t, log, b, used_b);
    }
}

/*
 * The events come with the status changes and the first dropped write,
 * each rate-limited per device and per kind (each crossing, NO_ALLOC set
 * and cleared, poison appearing and going): one at once, then the last
 * of a second when the second is over (the monitor's clock is the
 * virtual clock under qtest).
 */
static void test_events(void)
{
    const int64_t second = 1000 * 1000 * 1000;
    uint64_t dropped, used;
    GQueue log = G_QUEUE_INIT;
    QDict *d;
    CramQT t;

    cram_start(&t, 8 * GiB, "media-size=16M");
    qtest_qmp_set_event_callback(t.qts, log_event, &log);
    take_media(&t, 13 * MiB);
    expect_crossing(&t, &log, "low-rise", 13 * MiB);

    /* high-rise, a kind of its own, is not held back behind low-rise */
    take_media(&t, 15 * MiB);
    expect_crossing(&t, &log, "high-rise", 15 * MiB);
    d = event_data(&t, &log, "CXL_CRAM_NO_ALLOC");
    g_assert_true(qdict_get_bool(d, "set"));
    g_assert_cmpuint(qdict_get_int(d, "media-used"), ==, 15 * MiB);
    qobject_unref(d);
    expect_none(&t, &log);

    /* the guest fills the last MiB and more: the first drop, poison */
    write_random(&t, 0, 300, 5);
    dropped = cram_reg(&t, CXL_CRAM_REG_DROPPED_WRITES);
    g_assert_cmpuint(dropped, >, 0);
    d = event_data(&t, &log, "CXL_CRAM_WRITE_DROPPED");
    g_assert_cmpuint(qdict_get_int(d, "dpa"), ==, 256 * PAGE);
    g_assert_cmpuint(qdict_get_int(d, "dropped-writes"), ==, 1);
    qobject_unref(d);
    d = event_data(&t, &log, "CXL_CRAM_POISON");
    g_assert_true(qdict_get_bool(d, "poisoned"));
    g_assert_cmpuint(qdict_get_int(d, "poisoned-pages"), ==, 1);
    qobject_unref(d);
    /* the burst's later drops and poisoned pages: no event */
    qtest_clock_step(t.qts, second);
    expect_none(&t, &log);

    /* media given back: both falls at once, NO_ALLOC clears */
    take_media(&t, 0);
    used = cram_reg(&t, CXL_CRAM_REG_MEDIA_USED);
    g_assert_cmpuint(used, ==, 256 * PAGE);
    expect_crossing(&t, &log, "high-fall", used);
    expect_crossing(&t, &log, "low-fall", used);
    d = event_data(&t, &log, "CXL_CRAM_NO_ALLOC");
    g_assert_false(qdict_get_bool(d, "set"));
    qobject_unref(d);
    expect_none(&t, &log);

    /*
     * Within that second: low-rise goes at once (the last was seconds
     * ago); then a low-fall and a low-rise each come again twice, and
     * are held: the last of each is what comes when the second is over.
     */
    take_media(&t, 13 * MiB);
    expect_crossing(&t, &log, "low-rise", used + 13 * MiB);
    take_media(&t, 0);
    take_media(&t, 12 * MiB);
    take_media(&t, 0);
    take_media(&t, 12 * MiB + 512 * KiB);
    take_media(&t, 0);
    expect_none(&t, &log);
    qtest_clock_step(t.qts, second);
    expect_crossings(&t, &log, "low-fall", used,
                     "low-rise", used + 12 * MiB + 512 * KiB);
    expect_none(&t, &log);

    /* poison discarded: the last poisoned page goes */
    qtest_writeq(t.qts, t.regs + CXL_CRAM_REG_DISCARD_DPA, 0);
    qtest_writeq(t.qts, t.regs + CXL_CRAM_REG_DISCARD_PAGES, 300);
    d = event_data(&t, &log, "CXL_CRAM_POISON");
    g_assert_false(qdict_get_bool(d, "poisoned"));
    g_assert_cmpuint(qdict_get_int(d, "poisoned-pages"), ==, 0);
    qobject_unref(d);
    expect_none(&t, &log);
    cram_stop(&t);
}

/* Bad arguments: an error that says why, nothing changes, QEMU lives on */
/* QMP gives the ratio as a number with a fraction */
static double ratio(CramQT *t)
{
    QDict *st = cram_stats(t);
    double v = qdict_get_double(st, "ratio");

    qobject_unref(st);
    return v;
}

/* Write pages [@from, @to) made by @fill and flush: the stores are done */
static void write_pages(CramQT *t, int from, int to,
                        void (*fill)(uint8_t *buf, int p))
{
    uint8_t buf[PAGE];
    int p;

    for (p = from; p < to; p++) {
        fill(buf, p);
        qtest_memwrite(t->qts, t->window + (uint64_t)p * PAGE, buf, PAGE);
    }
    cram_cmd_ok(t, "cxl-cram-flush", "{'path': '" CRAM0 "'}");
}

static void write_text(CramQT *t, int from, int to)
{
    write_pages(t, from, to, fill_text);
}

/* Get Event Records of @log: the first record's offset in @out, or -1 */
static int first_event(CramQT *t, uint8_t log, uint8_t *out)
{
    size_t len;

    g_assert_cmpint(cram_mbox(t, 0x0100, &log, 1, out, &len), ==, 0);
    g_assert_cmpuint(len, <=, 2048);
    return lduw_le_p(out + 0x14) ? 0x20 : -1;
}

/*
 * The inherited event-record commands work on a cxl-cram: a General
 * Media and a DRAM event injected through QMP are read back from their
 * logs through the mailbox (Get Event Records), with the DPA and fields
 * given.  They are records only: nothing is poisoned, the data stays.
 */
static void test_inherited_events(void)
{
    uint8_t out[2048];
    int r;
    CramQT t;

    cram_start(&t, 8 * GiB, "media-size=16M");
    qtest_writeq(t.qts, t.window + 1 * MiB, 0x1234);
    qtest_qmp_assert_success(t.qts,
        "{'execute': 'cxl-inject-general-media-event', 'arguments': "
        "{'path': '" CRAM0 "', 'log': 'warning', 'flags': 1, "
        "'dpa': 1048576, 'descriptor': 3, 'type': 0, "
        "'transaction-type': 192, 'channel': 1}}");
    qtest_qmp_assert_success(t.qts,
        "{'execute': 'cxl-inject-dram-event', 'arguments': "
        "{'path': '" CRAM0 "', 'log': 'failure', 'flags': 1, "
        "'dpa': 2097152, 'descriptor': 1, 'type': 1, "
        "'transaction-type': 2, 'row': 7, 'column': 3}}");

    r = first_event(&t, 1, out);                    /* warning log */
    g_assert_cmpint(r, >=, 0);
    g_assert_cmphex((uint32_t)ldl_be_p(out + r), ==, 0xfbcd0a77); /* GMER */
    g_assert_cmphex(ldq_le_p(out + r + 0x30) & ~0x3fULL, ==, 1 * MiB);
    g_assert_cmpuint(out[r + 0x38], ==, 3);                /* descriptor */
    g_assert_cmpuint(out[r + 0x3a], ==, 192);        /* transaction type */
    r = first_event(&t, 2, out);                    /* failure log */
    g_assert_cmpint(r, >=, 0);
    g_assert_cmphex((uint32_t)ldl_be_p(out + r), ==, 0x601dcbb3); /* DRAM */
    g_assert_cmphex(ldq_le_p(out + r + 0x30) & ~0x3fULL, ==, 2 * MiB);
    g_assert_cmpuint(out[r + 0x39], ==, 1);                /* type */
    g_assert_cmpint(first_event(&t, 0, out), ==, -1);  /* informational */

    g_assert_cmpuint(figure(&t, "poisoned-pages"), ==, 0);
    g_assert_cmphex(cram_reg(&t, CXL_CRAM_REG_STATUS) &
                    CXL_CRAM_STATUS_POISON, ==, 0);
    g_assert_cmphex(qtest_readq(t.qts, t.window + 1 * MiB), ==, 0x1234);
    cram_stop(&t);
}

/* One bucket of cxl-cram-query-pages's answer: member @key of entry @i */
static uint64_t bucket(QList *l, int i, const char *key)
{
    const QListEntry *e = qlist_first(l);

    while (i--) {
        e = qlist_next(e);
    }
    return qdict_get_int(qobject_to(QDict, qlist_entry_obj(e)), key);
}

/*
 * cxl-cram-query-pages with the members @fmt adds after the path; its
 * answer, of @n buckets, is in *@rsp for the caller to unref.
 */
static QList * G_GNUC_PRINTF(4, 5) query_pages(CramQT *t, QDict **rsp,
                                               int n, const char *fmt, ...)
{
    g_autofree char *more = NULL, *args = NULL;
    va_list ap;
    QList *l;

    va_start(ap, fmt);
    more = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    args = g_strdup_printf("{'path': '" CRAM0 "'%s}", more);
    *rsp = qtest_qmp(t->qts, "{'execute': 'cxl-cram-query-pages', "
                     "'arguments': %p}", qobject_from_json(args, &error_abort));
    l = qdict_get_qlist(*rsp, "return");
    g_assert_cmpint(qlist_size(l), ==, n);
    return l;
}

/*
 * The per-address view counts what was stored where: text pages
 * compressed, a zero page, random pages raw, a poisoned page, empty
 * pages elsewhere; a short last bucket; media bytes that add up to the
 * device's own figure.
 */
static void test_query_pages(void)
{
    uint8_t buf[PAGE];
    uint64_t sum = 0;
    QDict *rsp;
    QList *l;
    CramQT t;
    int i;

    cram_start(&t, 8 * GiB, "media-size=64M");
    write_text(&t, 0, 256);
    memset(buf, 0, PAGE);
    qtest_memwrite(t.qts, t.window + 300 * PAGE, buf, PAGE);
    write_random(&t, 512 * PAGE, 4, 5);
    qtest_qmp_assert_success(t.qts, "{'execute': 'cxl-inject-poison', "
                             "'arguments': {'path': '" CRAM0 "', "
                             "'start': %d, 'length': %d}}", 600 * PAGE, PAGE);
    cram_cmd_ok(&t, "cxl-cram-flush", "{'path': '" CRAM0 "'}");

    /* pages 0 to 899 in 4 buckets of 225: the last has 225 too */
    l = query_pages(&t, &rsp, 4, ", 'length': %d, 'buckets': 4", 900 * PAGE);
    g_assert_cmpuint(bucket(l, 0, "dpa"), ==, 0);
    g_assert_cmpuint(bucket(l, 0, "compressed"), ==, 225);
    g_assert_cmpuint(bucket(l, 0, "stored-bytes"), <, 225 * PAGE / 4);
    g_assert_cmpuint(bucket(l, 1, "dpa"), ==, 225 * PAGE);
    g_assert_cmpuint(bucket(l, 1, "compressed"), ==, 31);   /* 225-255 */
    g_assert_cmpuint(bucket(l, 1, "zero"), ==, 1);          /* 300 */
    g_assert_cmpuint(bucket(l, 1, "empty"), ==, 225 - 32);
    g_assert_cmpuint(bucket(l, 2, "raw"), ==, 4);           /* 512-515 */
    g_assert_cmpuint(bucket(l, 2, "stored-bytes"), ==, 4 * PAGE);
    g_assert_cmpuint(bucket(l, 2, "poisoned"), ==, 1);      /* 600 */
    g_assert_cmpuint(bucket(l, 3, "pages"), ==, 225);
    g_assert_cmpuint(bucket(l, 3, "empty"), ==, 225);
    qobject_unref(rsp);

    /* 10 pages in 4 buckets of 3: the last has 1 */
    l = query_pages(&t, &rsp, 4, ", 'dpa': %d, 'length': %d, 'buckets': 4",
                    250 * PAGE, 10 * PAGE);
    g_assert_cmpuint(bucket(l, 1, "compressed"), ==, 3);     /* 253-255 */
    g_assert_cmpuint(bucket(l, 2, "empty"), ==, 3);
    g_assert_cmpuint(bucket(l, 3, "pages"), ==, 1);
    g_assert_cmpuint(bucket(l, 3, "dpa"), ==, 259 * PAGE);
    qobject_unref(rsp);

    /* 3 pages, buckets not given: one per page */
    l = query_pages(&t, &rsp, 3, ", 'dpa': %d, 'length': %d", 299 * PAGE,
                    3 * PAGE);
    g_assert_cmpuint(bucket(l, 1, "zero"), ==, 1);           /* 300 */
    qobject_unref(rsp);

    /* the whole capacity: the objects' bytes are the device's */
    l = query_pages(&t, &rsp, 64, "%s", "");
    for (i = 0; i < 64; i++) {
        sum += bucket(l, i, "stored-bytes");
    }
    g_assert_cmpuint(sum, ==, figure(&t, "stored-bytes"));
    qobject_unref(rsp);
    cram_stop(&t);
}

static void store_as(CramQT *t, const char *args)
{
    g_autofree char *a = g_strdup_printf("{'path': '" CRAM0 "', %s}", args);

    cram_cmd_ok(t, "cxl-cram-store-as", a);
}

/* cxl-cram-store-as enabled with @args fails, saying @want */
static void store_as_fails(CramQT *t, const char *args, const char *want)
{
    g_autofree char *a = g_strdup_printf("{'path': '" CRAM0 "', "
                                         "'enable': true, %s}", args);

    cram_cmd_fails(t, "cxl-cram-store-as", a, want);
}

/* The media bytes of the objects of pages [@from, @to) */
static uint64_t range_bytes(CramQT *t, int from, int to)
{
    QDict *rsp;
    QList *l = query_pages(t, &rsp, 1, ", 'dpa': %d, 'length': %d, "
                           "'buckets': 1", from * PAGE, (to - from) * PAGE);
    uint64_t v = bucket(l, 0, "stored-bytes");

    qobject_unref(rsp);
    return v;
}

/* Pages [@from, @to) read back as @fill made them */
static void check_pages(CramQT *t, int from, int to,
                        void (*fill)(uint8_t *buf, int p))
{
    uint8_t buf[PAGE], got[PAGE];
    int p;

    for (p = from; p < to; p++) {
        fill(buf, p);
        qtest_memread(t->qts, t->window + (uint64_t)p * PAGE, got, PAGE);
        g_assert_cmpmem(got, PAGE, buf, PAGE);
    }
}

static void check_text(CramQT *t, int from, int to)
{
    check_pages(t, from, to, fill_text);
}

/* A page of words drawn at random: 3:1 or so with lz4, more with zstd */
static void fill_words(uint8_t *buf, int p)
{
    cram_fill_words(buf, PAGE, p);
}

/* Migrate @t to a new QEMU @d with @props (8 GiB), which @t leaves */
static void migrate_away(CramQT *t, CramQT *d, const char *props)
{
    g_autofree char *uri = g_strdup_printf("unix:%s/cram-qmp-%d.sock",
                                           g_get_tmp_dir(), getpid());

    cram_mig_launch(d, 8 * GiB, props, NULL);
    cram_mig_incoming(d, uri);
    cram_migrate(t, uri);
    g_free(cram_mig_wait(t->qts, NULL));
    cram_mig_attach(d, t);
    qtest_quit(t->qts);
}

/*
 * Pages in the host's range are stored as if each compressed to the
 * size it gives: 2048 bytes of media each (two to a media page), the
 * data reads back; 4096 stores them raw; outside the range, and once
 * stopped, pages compress as they do.  A bad call changes nothing.  The
 * range and its size migrate.
 */
static void test_store_as(void)
{
    uint64_t used, real, after;
    CramQT t, d;

    cram_start(&t, 8 * GiB, "media-size=64M");
    write_text(&t, 0, 256);
    g_assert_cmpuint(figure(&t, "pages-raw"), ==, 0);
    used = figure(&t, "media-used");
    g_assert_cmpuint(used, <, 256 * PAGE / 4);
    g_assert_cmpfloat(ratio(&t), >, 4);
    real = range_bytes(&t, 64, 192);
    g_assert_cmpuint(real, <, 128 * 1024);

    /* pages 64 to 191 as 2048 bytes: written again, 64 media pages */
    store_as(&t, "'enable': true, 'dpa': 262144, 'length': 524288, "
             "'size': 2048");
    write_text(&t, 0, 256);
    g_assert_cmpuint(figure(&t, "pages-raw"), ==, 0);
    g_assert_cmpuint(figure(&t, "pages-compressed"), ==, 256);
    g_assert_cmpuint(range_bytes(&t, 64, 192), ==, 128 * 2048);
    g_assert_cmpuint(range_bytes(&t, 0, 64), <, 64 * 1024);
    after = figure(&t, "media-used");
    g_assert_cmpuint(after, >=, used - real + 64 * PAGE);
    g_assert_cmpuint(after, <=, used + 64 * PAGE);
    g_assert_cmpfloat(ratio(&t), <, 4);
    check_text(&t, 0, 256);

    /* refused: the range and size in force stay */
    store_as_fails(&t, "'length': 4096, 'size': 0",
                   "multiple of 16 from 16 to 4080");
    store_as_fails(&t, "'dpa': 100, 'size': 1024", "multiples of 4 KiB");
    write_text(&t, 0, 256);
    g_assert_cmpuint(range_bytes(&t, 64, 192), ==, 128 * 2048);

    /* a reset keeps it */
    reset(&t);
    write_text(&t, 64, 65);
    g_assert_cmpuint(range_bytes(&t, 64, 65), ==, 2048);

    /* the range travels: the destination stores page 100 so too */
    migrate_away(&t, &d, "media-size=64M");
    check_text(&d, 0, 256);
    g_assert_cmpuint(range_bytes(&d, 64, 192), ==, 128 * 2048);
    cram_cmd_ok(&d, "cxl-cram-store-as", "{'path': '" CRAM0 "', "
                "'enable': true, 'dpa': 0, 'length': 409600, 'size': 16}");
    write_text(&d, 100, 101);
    g_assert_cmpuint(range_bytes(&d, 100, 101), <, 2048);

    /* size 4096 (the default): raw */
    store_as(&d, "'enable': true, 'dpa': 262144, 'length': 524288");
    write_text(&d, 0, 256);
    g_assert_cmpuint(figure(&d, "pages-raw"), ==, 128);
    g_assert_cmpuint(figure(&d, "media-used"), >=, 128 * PAGE);
    g_assert_cmpfloat(ratio(&d), <, 2);
    check_text(&d, 0, 256);

    /* stopped: the pages compress when written again */
    store_as(&d, "'enable': false");
    write_text(&d, 0, 256);
    g_assert_cmpuint(figure(&d, "pages-raw"), ==, 0);
    g_assert_cmpuint(figure(&d, "media-used"), <=, used + 8 * PAGE);
    cram_stop(&d);
}

static void write_words(CramQT *t, int from, int to)
{
    write_pages(t, from, to, fill_words);
}

static void check_words(CramQT *t, int from, int to)
{
    check_pages(t, from, to, fill_words);
}

/* CONFIG's codec (bits 8..15) and level (16..47) */
#define CONFIG_CODEC(v)     (((v) >> 8) & 0xff)
#define CONFIG_LEVEL(v)     ((v) >> 16)

/*
 * The codec changed at run time: the pages written from then on are
 * compressed with it (zstd at 19 stores words in fewer bytes than lz4),
 * those written before read back, the CONFIG register says which is in
 * force; a bad value changes nothing; the setting migrates.
 */
static void test_set_codec(void)
{
    uint64_t lz4, cfg;
    CramQT t, d;

    cram_start(&t, 8 * GiB, "media-size=64M,compress=lz4");
    g_assert_cmpuint(CONFIG_CODEC(cram_reg(&t, CXL_CRAM_REG_CONFIG)), ==, 1);
    write_words(&t, 0, 64);
    lz4 = range_bytes(&t, 0, 32);
    cram_cmd_ok(&t, "cxl-cram-set", "{'path': '" CRAM0 "', "
                "'codec': 'zstd', 'level': 19}");
    cfg = cram_reg(&t, CXL_CRAM_REG_CONFIG);
    g_assert_cmpuint(CONFIG_CODEC(cfg), ==, 2);
    g_assert_cmpuint(CONFIG_LEVEL(cfg), ==, 19);
    write_words(&t, 0, 32);
    g_assert_cmpuint(range_bytes(&t, 0, 32), <, lz4 * 3 / 4);
    check_words(&t, 0, 64);

    /* refused: unknown codec, a level out of its range */
    cram_cmd_fails(&t, "cxl-cram-set", "{'path': '" CRAM0 "', "
                   "'codec': 'gzip'}", "codec");
    cram_cmd_fails(&t, "cxl-cram-set", "{'path': '" CRAM0 "', "
                   "'level': 20, 'poison-mce': false}", "out of range");
    cram_cmd_fails(&t, "cxl-cram-set", "{'path': '" CRAM0 "', "
                   "'codec': 'none', 'level': 1}", "out of range");
    g_assert_true(cram_prop_bool(&t, "poison-mce"));
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_CONFIG), ==, cfg);

    /* a reset keeps it */
    reset(&t);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_CONFIG), ==, cfg);

    /* it travels, and both codecs' pages read back there */
    migrate_away(&t, &d, "media-size=64M,compress=lz4");
    g_assert_cmpuint(cram_reg(&d, CXL_CRAM_REG_CONFIG), ==, cfg);
    check_words(&d, 0, 64);
    write_words(&d, 32, 64);
    g_assert_cmpuint(range_bytes(&d, 32, 64), <, lz4 * 3 / 4);

    /* a codec alone takes its default level; back to lz4 */
    cram_cmd_ok(&d, "cxl-cram-set", "{'path': '" CRAM0 "', "
                "'codec': 'lz4'}");
    cfg = cram_reg(&d, CXL_CRAM_REG_CONFIG);
    g_assert_cmpuint(CONFIG_CODEC(cfg), ==, 1);
    g_assert_cmpuint(CONFIG_LEVEL(cfg), ==, 0);
    write_words(&d, 0, 32);
    g_assert_cmpuint(range_bytes(&d, 0, 32), ==, lz4);
    check_words(&d, 0, 64);
    cram_stop(&d);
}

/*
 * The page cache changes size at run time: its dirty pages are stored
 * first, it starts cold, no page is lost, and it holds no more than its
 * new size; bad sizes, a device without cache worker and a device with
 * ram-path=on refuse and change nothing.
 */
static void test_set_cache_size(void)
{
    CramQT t;

    cram_start(&t, 8 * GiB, "media-size=64M");
    if (!cache_size(&t)) {
        /* CRAM_QTEST_PROPS=cache-size=0: no worker, no resize */
        cram_cmd_fails(&t, "cxl-cram-set", "{'path': '" CRAM0 "', "
                       "'cache-size': 65536}", "started with cache-size=0");
        g_assert_cmpuint(cache_size(&t), ==, 0);
        cram_stop(&t);
        return;
    }
    if (cram_prop_bool(&t, "ram-path")) {
        /* CRAM_QTEST_PROPS=ram-path=on: the cache is mapped, no resize */
        cram_cmd_fails(&t, "cxl-cram-set", "{'path': '" CRAM0 "', "
                       "'cache-size': 65536}", "ram-path=on");
        cram_stop(&t);
        return;
    }
    write_words(&t, 0, 1000);
    cram_cmd_ok(&t, "cxl-cram-set", "{'path': '" CRAM0 "', "
                "'cache-size': 65536}");
    g_assert_cmpuint(cache_size(&t), ==, 65536);
    g_assert_cmpuint(figure(&t, "cache-pages"), ==, 0);
    g_assert_cmpuint(figure(&t, "media-reserved"), ==, 0);
    check_words(&t, 0, 1000);
    g_assert_cmpuint(figure(&t, "cache-pages"), <=, 16);
    g_assert_cmpuint(figure(&t, "cache-dirty"), <=, 16);

    /* refused: 0, not whole pages, over 1 GiB */
    cram_cmd_fails(&t, "cxl-cram-set", "{'path': '" CRAM0 "', "
                   "'cache-size': 0}", "non-zero multiple of 4 KiB");
    cram_cmd_fails(&t, "cxl-cram-set", "{'path': '" CRAM0 "', "
                   "'cache-size': 4095, 'poison-mce': false}",
                   "non-zero multiple of 4 KiB");
    cram_cmd_fails(&t, "cxl-cram-set", "{'path': '" CRAM0 "', "
                   "'cache-size': 1073745920}", "at most 1 GiB");
    g_assert_cmpuint(cache_size(&t), ==, 65536);
    g_assert_true(cram_prop_bool(&t, "poison-mce"));
    reset(&t);
    g_assert_cmpuint(cache_size(&t), ==, 65536);
    check_words(&t, 0, 1000);
    g_assert_cmpuint(figure(&t, "cache-pages"), <=, 16);

    /* and larger again: a hot set of 1000 pages stays cached */
    cram_cmd_ok(&t, "cxl-cram-set", "{'path': '" CRAM0 "', "
                "'cache-size': 16777216}");
    write_words(&t, 1000, 2000);
    check_words(&t, 0, 2000);
    g_assert_cmpuint(figure(&t, "cache-pages"), >, 16);
    cram_stop(&t);

    /* ram-path maps the cache into the window: refused */
    cram_start(&t, 1 * GiB, "ram-path=on,poison-mce=off,cache-size=256K");
    cram_cmd_fails(&t, "cxl-cram-set", "{'path': '" CRAM0 "', "
                   "'cache-size': 524288}", "ram-path=on");
    g_assert_cmpuint(cache_size(&t), ==, 256 * KiB);
    cram_stop(&t);
}

/* Commands over a DPA range, with a range or buckets they refuse */
static const struct {
    const char *cmd, *args, *want;
} range_bad[] = {
    /* store-as: unaligned, empty, past the capacity (8 GiB) */
    { "cxl-cram-store-as", "{'path': '" CRAM0 "', 'enable': true, "
      "'dpa': 100}", "multiples of 4 KiB" },
    { "cxl-cram-store-as", "{'path': '" CRAM0 "', 'enable': true, "
      "'length': 0}", "length not 0" },
    { "cxl-cram-store-as", "{'path': '" CRAM0 "', 'enable': true, "
      "'dpa': 8589934592}", "within the capacity" },
    { "cxl-cram-store-as", "{'path': '" CRAM0 "', 'enable': true, "
      "'dpa': 4096, 'length': -4096}", "within the capacity" },
    { "cxl-cram-store-as", "{'path': '/machine', 'enable': true}",
      "does not point to a cxl-cram" },
    /* store-as: sizes 0, past a page, not a multiple of 16, 4081..4095 */
    { "cxl-cram-store-as", "{'path': '" CRAM0 "', 'enable': true, "
      "'size': 0}", "size 0 must be 4096 (raw) or a multiple of 16" },
    { "cxl-cram-store-as", "{'path': '" CRAM0 "', 'enable': true, "
      "'size': 4097}", "size 4097 must be" },
    { "cxl-cram-store-as", "{'path': '" CRAM0 "', 'enable': true, "
      "'size': 2050}", "size 2050 must be" },
    { "cxl-cram-store-as", "{'path': '" CRAM0 "', 'enable': true, "
      "'size': 4088}", "size 4088 must be" },
    /* query-pages: buckets 0, too many, more than pages; a bad range */
    { "cxl-cram-query-pages", "{'path': '" CRAM0 "', 'buckets': 0}",
      "1 to 4096" },
    { "cxl-cram-query-pages", "{'path': '" CRAM0 "', 'buckets': 4097}",
      "1 to 4096" },
    { "cxl-cram-query-pages", "{'path': '" CRAM0 "', 'length': 4096, "
      "'buckets': 2}", "one per page (1)" },
    { "cxl-cram-query-pages", "{'path': '" CRAM0 "', "
      "'dpa': 8589934592}", "within the capacity" },
};

static void test_bad_args(void)
{
    uint64_t low, high;
    int i;
    QDict *rsp;
    CramQT t;

    cram_start(&t, 8 * GiB, "media-size=16M");
    low = cram_reg(&t, CXL_CRAM_REG_WM_LOW);
    high = cram_reg(&t, CXL_CRAM_REG_WM_HIGH);

    cram_cmd_fails(&t, "cxl-cram-set", "{'path': '/machine/peripheral/no', "
                   "'poison-mce': false}", "Unable to resolve path");
    cram_cmd_fails(&t, "cxl-cram-set", "{'path': '/machine/peripheral/rp0', "
                   "'poison-mce': false}", "does not point to a cxl-cram");
    cram_cmd_fails(&t, "cxl-cram-worker", "{'path': '/machine', "
                   "'paused': true}", "does not point to a cxl-cram");
    cram_cmd_fails(&t, "cxl-cram-flush", "{'path': '/machine/peripheral'}",
                   "does not point to a cxl-cram");
    /* low >= high; high above the media; one alone against the other */
    cram_cmd_fails(&t, "cxl-cram-set", "{'path': '" CRAM0 "', "
                   "'low-watermark': 4096, 'high-watermark': 4096}",
                   "low (4096) < high (4096)");
    cram_cmd_fails(&t, "cxl-cram-set", "{'path': '" CRAM0 "', "
                   "'low-watermark': 0, 'high-watermark': 16777217}",
                   "<= media-size (16777216)");
    cram_cmd_fails(&t, "cxl-cram-set", "{'path': '" CRAM0 "', "
                   "'low-watermark': 16000000, 'poison-mce': false}",
                   "low (16000000) < high");
    cram_cmd_fails(&t, "cxl-cram-set", "{'path': '" CRAM0 "', "
                   "'high-watermark': 4096}", "< high (4096)");
    cram_cmd_fails(&t, "cxl-cram-set", "{'path': '" CRAM0 "', "
                   "'low-watermark': 16000000, 'failure-policy': 'log'}",
                   "low (16000000) < high");
    /* the whole command failed: poison-mce did not change either */
    g_assert_true(cram_prop_bool(&t, "poison-mce"));
    assert_failure_policy(&t, "poison");
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_WM_LOW), ==, low);
    g_assert_cmpuint(cram_reg(&t, CXL_CRAM_REG_WM_HIGH), ==, high);
    /* QAPI takes -1 as a size: 2^64 - 1, over high */
    cram_cmd_fails(&t, "cxl-cram-set", "{'path': '" CRAM0 "', "
                   "'low-watermark': -1}", "low (18446744073709551615) <");
    /* QAPI's own checks: a member's type, a missing member */
    cram_cmd_fails(&t, "cxl-cram-set", "{'path': '" CRAM0 "', "
                   "'low-watermark': 'x'}", "low-watermark");
    cram_cmd_fails(&t, "cxl-cram-worker", "{'path': '" CRAM0 "'}",
                   "paused");
    cram_cmd_fails(&t, "cxl-cram-set", "{'path': '" CRAM0 "', "
                   "'failure-policy': 'refuse'}", "failure-policy");
    assert_failure_policy(&t, "poison");
    for (i = 0; i < G_N_ELEMENTS(range_bad); i++) {
        cram_cmd_fails(&t, range_bad[i].cmd, range_bad[i].args,
                       range_bad[i].want);
    }
    rsp = qtest_qmp(t.qts, "{'execute': 'query-status'}");
    g_assert_true(qdict_haskey(rsp, "return"));
    qobject_unref(rsp);
    cram_stop(&t);
}

void cxl_cram_qmp_add_tests(void)
{
    qtest_add_func("/cxl-cram/qmp/set-watermarks", test_set_watermarks);
    qtest_add_func("/cxl-cram/qmp/set-poison-mce", test_set_poison_mce);
    qtest_add_func("/cxl-cram/qmp/worker", test_worker);
    qtest_add_func("/cxl-cram/qmp/take-media", test_take_media);
    qtest_add_func("/cxl-cram/qmp/store-as", test_store_as);
    qtest_add_func("/cxl-cram/qmp/set-codec", test_set_codec);
    qtest_add_func("/cxl-cram/qmp/set-cache-size", test_set_cache_size);
    qtest_add_func("/cxl-cram/qmp/inherited-events", test_inherited_events);
    qtest_add_func("/cxl-cram/qmp/query-pages", test_query_pages);
    qtest_add_func("/cxl-cram/qmp/events", test_events);
    qtest_add_func("/cxl-cram/qmp/bad-args", test_bad_args);
}
