/*
 * cxl-cram migration and snapshots
 *
 * QEMU 10.0's cxl-type3 has no vmstate at all: its PCI configuration,
 * HDM decoders, mailbox, event logs and poison list would silently stay
 * behind.  cxl-cram therefore migrates the state it inherits with its
 * own: PCI config space and MSI-X, the component registers (HDM
 * decoders), the device status and mailbox registers and the event
 * logs; then its registers, and the compressed store, sparse: only the
 * pages held travel, compressed as they are, poisoned pages with their
 * source (the poison list derives from them).
 *
 * The cache is flushed before saving (what CACHE_FLUSH does), so the
 * store is complete and no media is reserved; the destination starts
 * with an empty cache.  Every value loaded is checked; a bad stream
 * fails the load with a message naming what is wrong.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "migration/vmstate.h"
#include "migration/qemu-file-types.h"
#include "hw/pci/pci_device.h"
#include "hw/pci/msix.h"
#include "hw/cxl/cxl.h"
#include "engine/cram-export.h"
#include "cxl-cram.h"
#include "cxl-cram-figures.h"
#include "trace.h"

#define CXL_CRAM_MIG_MAGIC      0x4352414d      /* "CRAM" */
#define CXL_CRAM_MIG_END        0x454e4421      /* "END!" */
/* 3: poisoned pages carry their source; no separate poison list */
#define CXL_CRAM_MIG_VERSION    3

static const char *cxl_cram_id(CXLCramDev *cram)
{
    return DEVICE(cram)->id ? DEVICE(cram)->id : "";
}

static int G_GNUC_PRINTF(2, 3) cxl_cram_mig_fail(CXLCramDev *cram,
                                                 const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    error_report("cxl-cram %s: migration: %s", cxl_cram_id(cram), msg);
    return -EINVAL;
}


static void cxl_cram_mig_put(void *f, const void *buf, size_t len)
{
    qemu_put_buffer(f, buf, len);
}

static bool cxl_cram_mig_get(void *f, void *buf, size_t len)
{
    return qemu_get_buffer(f, buf, len) == len && !qemu_file_get_error(f);
}

/*
 * The store: a header naming the configuration, the figures, a count,
 * then the engine's page records (cram-export.h), poisoned pages with
 * their CXL poison source.  Span group and slot let the destination put
 * every object where it was, so its spans hold the same media pages:
 * media used and the ratio come out exactly equal.
 */
static int cxl_cram_put_store(QEMUFile *f, void *pv, size_t size,
                              const VMStateField *field, JSONWriter *vmdesc)
{
    CXLCramDev *cram = pv;
    CXLCramFigures fig = { 0 };
    uint64_t *v, n, bytes;
    CramExport *x;
    int i;

    x = cram_store_export_begin(cram->store, &fig.st);
    qemu_put_be32(f, CXL_CRAM_MIG_MAGIC);
    qemu_put_be32(f, CXL_CRAM_MIG_VERSION);
    qemu_put_be64(f, cram->capacity);
    qemu_put_be64(f, cram->media_size);
    qemu_put_be32(f, cram->codec);
    for (i = 0; i < CXL_CRAM_MIG_FIGURES; i++) {
        v = cxl_cram_figure_find(&fig, CXL_CRAM_REG_NONE, i);
        qemu_put_be64(f, v ? *v : 0);
    }
    n = cram_export_count(x);
    qemu_put_be64(f, n);
    bytes = cram_export_write(x, cxl_cram_mig_put, f);
    cram_store_export_end(cram->store, x);
    qemu_put_be32(f, CXL_CRAM_MIG_END);
    trace_cxl_cram_migration_save(n, bytes, fig.st.media_used);
    return 0;
}

static int cxl_cram_check_header(CXLCramDev *cram, QEMUFile *f)
{
    uint32_t magic = qemu_get_be32(f), version = qemu_get_be32(f);
    uint64_t capacity = qemu_get_be64(f), media = qemu_get_be64(f);
    uint32_t codec = qemu_get_be32(f);

    if (qemu_file_get_error(f)) {
        return cxl_cram_mig_fail(cram, "the stream ends in the store header");
    }
    if (magic != CXL_CRAM_MIG_MAGIC || version != CXL_CRAM_MIG_VERSION) {
        return cxl_cram_mig_fail(cram, "store header 0x%x version %u: not a "
                                 "cxl-cram store of version %u", magic,
                                 version, CXL_CRAM_MIG_VERSION);
    }
    if (capacity != cram->capacity || media != cram->media_size ||
        codec != cram->codec) {
        return cxl_cram_mig_fail(cram, "the source has capacity=%" PRIu64
                                 ",media-size=%" PRIu64 ",compress=%s; this "
                                 "device has capacity=%" PRIu64
                                 ",media-size=%" PRIu64 ",compress=%s: start "
                                 "the destination with the same properties",
                                 capacity, media,
                                 codec < CRAM_CODEC__MAX ?
                                 cram_codec_name(codec) : "(unknown)",
                                 cram->capacity, cram->media_size,
                                 cram_codec_name(cram->codec));
    }
    return 0;
}

static int cxl_cram_get_store(QEMUFile *f, void *pv, size_t size,
                              const VMStateField *field)
{
    CXLCramDev *cram = pv;
    g_autoptr(GError) gerr = NULL;
    CXLCramFigures fig = { 0 };
    uint64_t *v, count, none = 0;
    CramImport *im;
    int i, ret;

    ret = cxl_cram_check_header(cram, f);
    if (ret) {
        return ret;
    }
    for (i = 0; i < CXL_CRAM_MIG_FIGURES; i++) {
        v = cxl_cram_figure_find(&fig, CXL_CRAM_REG_NONE, i);
        *(v ? v : &none) |= qemu_get_be64(f);
    }
    count = qemu_get_be64(f);
    if (qemu_file_get_error(f)) {
        return cxl_cram_mig_fail(cram, "the stream ends in the store header");
    }
    if (none) {
        return cxl_cram_mig_fail(cram, "the store header counts 0x%" PRIx64
                                 " empty pages: there are none", none);
    }
    if (count > cram->capacity >> CRAM_PAGE_SHIFT) {
        return cxl_cram_mig_fail(cram, "%" PRIu64 " pages announced, the "
                                 "capacity has %" PRIu64, count,
                                 cram->capacity >> CRAM_PAGE_SHIFT);
    }

    /* Replace what the device holds (loadvm): cached pages first. */
    im = cram_store_import_begin(cram->store, CXL_CRAM_POISON_TYPE_MAX,
                                 &gerr);
    if (!im) {
        return cxl_cram_mig_fail(cram, "%s", gerr->message);
    }
    if (!cram_import_read(im, count, cxl_cram_mig_get, f, &gerr)) {
        cram_import_abort(im);
        ret = cxl_cram_mig_fail(cram, "%s", gerr->message);
    } else if (qemu_get_be32(f) != CXL_CRAM_MIG_END ||
               qemu_file_get_error(f)) {
        cram_import_abort(im);
        ret = cxl_cram_mig_fail(cram, "the store does not end after its %"
                                PRIu64 " pages", count);
    } else if (!cram_import_finish(im, &fig.st, &gerr)) {
        ret = cxl_cram_mig_fail(cram, "%s", gerr->message);
    }
    cram_store_import_end(cram->store);
    if (!ret) {
        trace_cxl_cram_migration_load(count, fig.st.media_used);
    }
    return ret;
}

static const VMStateInfo cxl_cram_vmstate_store = {
    .name = "cxl-cram-store",
    .get = cxl_cram_get_store,
    .put = cxl_cram_put_store,
};

/* An event log's records: a count, then each record as it is held */
static int cxl_cram_put_records(QEMUFile *f, void *pv, size_t size,
                                const VMStateField *field, JSONWriter *vmdesc)
{
    CXLEventLog *log = pv;
    CXLEvent *ev;
    uint32_t n = 0;

    QEMU_LOCK_GUARD(&log->lock);
    QSIMPLEQ_FOREACH(ev, &log->events, node) {
        n++;
    }
    qemu_put_be32(f, n);
    QSIMPLEQ_FOREACH(ev, &log->events, node) {
        qemu_put_buffer(f, (uint8_t *)&ev->data, sizeof(ev->data));
    }
    return 0;
}

/* cxl_event_insert() keeps at most this many records (CXL_TEST_...) */
#define CXL_CRAM_EVENTS_MAX 8

static int cxl_cram_get_records(QEMUFile *f, void *pv, size_t size,
                                const VMStateField *field)
{
    CXLEventLog *log = pv;
    uint32_t i, n = qemu_get_be32(f);
    CXLEvent *ev;

    QEMU_LOCK_GUARD(&log->lock);
    while ((ev = QSIMPLEQ_FIRST(&log->events))) {
        QSIMPLEQ_REMOVE_HEAD(&log->events, node);
        g_free(ev);
    }
    if (n > CXL_CRAM_EVENTS_MAX) {
        error_report("cxl-cram: migration: an event log of %u records (at "
                     "most %d)", n, CXL_CRAM_EVENTS_MAX);
        return -EINVAL;
    }
    for (i = 0; i < n; i++) {
        ev = g_new0(CXLEvent, 1);
        qemu_get_buffer(f, (uint8_t *)&ev->data, sizeof(ev->data));
        QSIMPLEQ_INSERT_TAIL(&log->events, ev, node);
    }
    return qemu_file_get_error(f);
}

static const VMStateInfo cxl_cram_vmstate_records = {
    .name = "cxl-cram-event-records",
    .get = cxl_cram_get_records,
    .put = cxl_cram_put_records,
};

static int cxl_cram_event_log_post_load(void *opaque, int version_id)
{
    CXLEventLog *log = opaque;

    if (log->irq_vec < 0 || log->irq_vec >= CXL_CRAM_MSIX_NR) {
        error_report("cxl-cram: migration: event log interrupt vector %d "
                     "(the device has %d)", log->irq_vec, CXL_CRAM_MSIX_NR);
        return -EINVAL;
    }
    return 0;
}

/* cxl-type3's event logs: their counters, interrupt and records */
static const VMStateDescription vmstate_cxl_cram_event_log = {
    .name = "cxl-cram/event-log",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = cxl_cram_event_log_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT16(next_handle, CXLEventLog),
        VMSTATE_UINT16(overflow_err_count, CXLEventLog),
        VMSTATE_UINT64(first_overflow_timestamp, CXLEventLog),
        VMSTATE_UINT64(last_overflow_timestamp, CXLEventLog),
        VMSTATE_BOOL(irq_enabled, CXLEventLog),
        VMSTATE_INT32(irq_vec, CXLEventLog),
        {
            .name = "records",
            .info = &cxl_cram_vmstate_records,
            .flags = VMS_SINGLE,
        },
        VMSTATE_END_OF_LIST()
    },
};

static int cxl_cram_pre_save(void *opaque)
{
    CXLCramDev *cram = opaque;
    CXLType3Dev *ct3d = CXL_TYPE3(cram);

    if (ct3d->cci.bg.runtime) {
        error_report("cxl-cram %s: migration: mailbox background command "
                     "0x%04x is still running; retry when it completes",
                     cxl_cram_id(cram), ct3d->cci.bg.opcode);
        return -EBUSY;
    }
    /* Store every cached dirty page: the store is then complete. */
    cxl_cram_flush(cram);
    return 0;
}

/* The registers must be values the device itself could have held. */
static int cxl_cram_post_load(void *opaque, int version_id)
{
    CXLCramDev *cram = opaque;
    CXLCramSafety *s = &cram->safety;
    Error *err = NULL;
    CramStats st;
    int ret;

    /* The component registers came raw: as the write masks allow them. */
    if (!cxl_component_check_loaded(&CXL_TYPE3(cram)->cxl_cstate,
                                    CXL2_TYPE3_DEVICE, &err)) {
        ret = cxl_cram_mig_fail(cram, "%s", error_get_pretty(err));
        error_free(err);
        return ret;
    }
    cram_store_get_stats(cram->store, &st, NULL, NULL);
    if (s->wm_low >= s->wm_high || s->wm_high > cram->media_size) {
        return cxl_cram_mig_fail(cram, "watermarks low %" PRIu64 " high %"
                                 PRIu64 " break low < high <= media size %"
                                 PRIu64, s->wm_low, s->wm_high,
                                 cram->media_size);
    }
    if (s->irq_enable & ~CXL_CRAM_IRQ_MASK ||
        s->irq_status & ~CXL_CRAM_IRQ_MASK ||
        s->status & ~CXL_CRAM_STATUS_MASK ||
        s->discard_result > CXL_CRAM_DISCARD_EMPTY) {
        return cxl_cram_mig_fail(cram, "register values out of range: irq "
                                 "enable 0x%x status 0x%x, status 0x%x, "
                                 "discard result %" PRIu64, s->irq_enable,
                                 s->irq_status, s->status, s->discard_result);
    }
    if (cxl_cram_status_next(s->status, &st, s->wm_low, s->wm_high) !=
        s->status) {
        return cxl_cram_mig_fail(cram, "status 0x%x does not match media "
                                 "used %" PRIu64 ", watermarks %" PRIu64 "/%"
                                 PRIu64 " and %" PRIu64 " poisoned pages",
                                 s->status, st.media_used, s->wm_low,
                                 s->wm_high, st.poisoned_pages);
    }
    cram->media_gen = cram_store_media_gen(cram->store);
    return 0;
}

/* 2: machine-checks-abandoned is a field of its own, not a subsection */
const VMStateDescription vmstate_cxl_cram = {
    .name = "cxl-cram",
    .version_id = 2,
    .minimum_version_id = 2,
    .pre_save = cxl_cram_pre_save,
    .post_load = cxl_cram_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_PCI_DEVICE(parent_obj.parent_obj, CXLCramDev),
        VMSTATE_MSIX(parent_obj.parent_obj, CXLCramDev),
        /* HDM decoders and RAS: the guest's programming */
        VMSTATE_UINT32_ARRAY(parent_obj.cxl_cstate.crb.cache_mem_registers,
                             CXLCramDev, CXL2_COMPONENT_CM_REGION_SIZE >> 2),
        VMSTATE_UINT8_ARRAY(parent_obj.cxl_dstate.dev_reg_state, CXLCramDev,
                            CXL_DEVICE_STATUS_REGISTERS_LENGTH),
        VMSTATE_UINT64(parent_obj.cxl_dstate.event_status, CXLCramDev),
        VMSTATE_UINT8_ARRAY(parent_obj.cxl_dstate.mbox_reg_state, CXLCramDev,
                            CXL_MAILBOX_REGISTERS_LENGTH),
        VMSTATE_UINT64(parent_obj.cxl_dstate.memdev_status, CXLCramDev),
        VMSTATE_BOOL(parent_obj.cxl_dstate.timestamp.set, CXLCramDev),
        VMSTATE_UINT64(parent_obj.cxl_dstate.timestamp.last_set, CXLCramDev),
        VMSTATE_UINT64(parent_obj.cxl_dstate.timestamp.host_set, CXLCramDev),
        VMSTATE_STRUCT_ARRAY(parent_obj.cxl_dstate.event_logs, CXLCramDev,
                             CXL_EVENT_TYPE_MAX, 1, vmstate_cxl_cram_event_log,
                             CXLEventLog),

        /* cxl-cram's registers */
        VMSTATE_UINT64(safety.wm_low, CXLCramDev),
        VMSTATE_UINT64(safety.wm_high, CXLCramDev),
        VMSTATE_UINT32(safety.status, CXLCramDev),
        VMSTATE_UINT32(safety.irq_enable, CXLCramDev),
        VMSTATE_UINT32(safety.irq_status, CXLCramDev),
        VMSTATE_UINT64_ARRAY(safety.irq_count, CXLCramDev, CXL_CRAM_IRQ_NR),
        VMSTATE_UINT64(safety.danger_count, CXLCramDev),
        VMSTATE_UINT64(safety.safe_count, CXLCramDev),
        VMSTATE_UINT64(safety.poisoned_reads, CXLCramDev),
        VMSTATE_UINT64(safety.mce_raised, CXLCramDev),
        VMSTATE_UINT64(safety.mce_abandoned, CXLCramDev),
        VMSTATE_UINT64(safety.discard_dpa, CXLCramDev),
        VMSTATE_UINT64(safety.discard_result, CXLCramDev),
        VMSTATE_UINT64(poison_query_start, CXLCramDev),
        VMSTATE_UINT64(poison_query_len, CXLCramDev),
        VMSTATE_UINT64(poison_resume, CXLCramDev),
        {
            .name = "store",
            .info = &cxl_cram_vmstate_store,
            .flags = VMS_SINGLE,
            .offset = 0,
        },
        VMSTATE_END_OF_LIST()
    },
    .subsections = (const VMStateDescription * const []) {
        &vmstate_cxl_cram_settings,
        &vmstate_cxl_cram_failure_policy,
        &vmstate_cxl_cram_store_as,
        &vmstate_cxl_cram_codec,
        NULL
    },
};
