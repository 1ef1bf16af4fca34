/*
 * cxl-cram data path: every guest access to the advertised capacity
 *
 * cxl-type3 routes guest accesses, by device physical address, to the
 * address space of its volatile memory backend.  cxl-cram gives it a
 * backend whose memory region is an I/O region over the whole capacity,
 * so each access lands here and nothing of the capacity is ever allocated.
 * Guest accesses through the fixed memory window skip that second memory
 * region dispatch: cxl-type3 calls the vmem_read/vmem_write class hooks
 * (patches/0003) directly after decoding the address.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "system/hostmem.h"
#include "qom/object_interfaces.h"
#include "qemu/main-loop.h"
#include "qemu/atomic.h"
#include "qemu/thread.h"
#include "cxl-cram.h"
#include "trace.h"

/*
 * After a store call that may have written pages back: a write dropped
 * for want of media poisoned its page (or, failure policy "log", left it
 * as it was), and media use may have crossed a watermark.
 */
static void cxl_cram_settle(CXLCramDev *cram)
{
    bool trace = trace_event_get_state_backends(TRACE_CXL_CRAM_CACHE_MISS) ||
                 trace_event_get_state_backends(TRACE_CXL_CRAM_WRITEBACK);
    CramCacheTaken t;
    unsigned gen;

    /* the store lists misses and write-backs only while they are traced */
    if (trace != cram->tracing) {
        cram->tracing = trace;
        cram_store_trace(cram->store, trace);
    }
    while (cram_store_has_taken(cram->store) &&
           cram_store_take(cram->store, &t)) {
        switch (t.ev) {
        case CRAM_CACHE_DROPPED:
        case CRAM_CACHE_DROPPED_KEPT:
            cxl_cram_write_dropped(cram, t.page, t.ev == CRAM_CACHE_DROPPED);
            break;
        case CRAM_CACHE_MISS:
            trace_cxl_cram_cache_miss(t.page << CRAM_PAGE_SHIFT);
            break;
        default:
            trace_cxl_cram_writeback(t.page << CRAM_PAGE_SHIFT,
                                     t.ev == CRAM_CACHE_WRITEBACK_ASYNC);
        }
    }
    gen = cram_store_media_gen(cram->store);
    if (gen != cram->media_gen) {
        cram->media_gen = gen;
        cxl_cram_safety_update(cram);
    }
}

/*
 * On the worker thread, without the store's lock: re-evaluate the
 * watermarks under the BQL when a level may have changed.  A worker
 * store turns a one-page reservation into an object that takes at most
 * that page (engine test store/worker-rose): media use falls, which
 * matters only above the low watermark.  Should it ever rise, the store
 * says so.  A bottom half per store would cost a main-loop wake-up and a
 * BQL handoff per page (performance-device.md).
 */
static void cxl_cram_worker_stored(void *opaque, bool rose)
{
    CXLCramDev *cram = opaque;
    uint32_t status = qatomic_read(&cram->safety.status);

    if (rose || (status & ~CXL_CRAM_STATUS_POISON)) {
        qemu_bh_schedule(cram->safety_bh);
    }
}

static void cxl_cram_safety_bh(void *opaque)
{
    cxl_cram_settle(opaque);
}

static void *cxl_cram_worker(void *opaque)
{
    CXLCramDev *cram = opaque;

    cram_store_worker_run(cram->store);
    return NULL;
}

/* Make the figures exact where the cache promises it (cache-size=0). */
void cxl_cram_exact_figures(CXLCramDev *cram)
{
    cram_store_exact_figures(cram->store);
    cxl_cram_settle(cram);
}

/* Store every cached dirty page now (CACHE_FLUSH, migration). */
void cxl_cram_flush(CXLCramDev *cram)
{
    cram_store_flush(cram->store);
    cxl_cram_settle(cram);
    cxl_cram_safety_update(cram);
}

/*
 * An access at @dpa of @size bytes, which may cross a page.  One that
 * runs past the capacity (a DPA skip, a decoder or window larger than the
 * device, an unsplit access from qtest or DMA) is served as the host
 * bridge would split it into cache lines: the part inside the capacity
 * reaches the device, the rest decodes nowhere, so its writes are
 * discarded and its reads are all-ones (docs/robustness.md).  Reads of
 * poison return all-ones too, and true with the first poisoned DPA.
 */
static bool cxl_cram_access(CXLCramDev *cram, uint64_t dpa, void *bytes,
                            unsigned size, bool write, uint64_t *poison_dpa)
{
    bool poisoned;

    if (dpa >= cram->capacity || size > cram->capacity - dpa) {
        trace_cxl_cram_beyond_capacity(dpa, size, dpa < cram->capacity ?
                                       cram->capacity - dpa : 0);
    }
    poisoned = cram_store_access(cram->store, dpa, bytes, size, write,
                                 poison_dpa);
    cxl_cram_settle(cram);
    return poisoned;
}

/*
 * Discard pages [first, first + n): zero, no media, no poison.  The work
 * follows the pages held, not the size of the range (the engine walks
 * what its page table holds; the cache looks at its own entries), so a
 * guest can discard a whole 1 TiB device without holding the BQL for
 * more than a few milliseconds.
 */
void cxl_cram_discard_pages(CXLCramDev *cram, uint64_t first, uint64_t n)
{
    CramRange r = { .first = first, .n = n };

    cram_store_discard_ranges(cram->store, &r, 1);
    cxl_cram_safety_update(cram);
}

/*
 * CXLType3Class hooks: cxl-type3 calls them after decoding a guest's
 * access, without a memory region dispatch.  This is where vCPU loads
 * arrive, and with them machine checks.
 */
static MemTxResult cxl_cram_vmem_read(CXLType3Dev *ct3d, uint64_t dpa,
                                      hwaddr hpa, void *buf, unsigned size,
                                      MemTxAttrs attrs)
{
    CXLCramDev *cram = container_of(ct3d, CXLCramDev, parent_obj);
    uint64_t poison_dpa;

    if (cxl_cram_access(cram, dpa, buf, size, false, &poison_dpa)) {
        /*
         * cxl-type3 routes a whole access (at most 8 bytes) by its first
         * byte, so its bytes follow each other in DPA as in HPA.
         */
        return cxl_cram_poisoned_load(cram, poison_dpa,
                                      hpa + (poison_dpa - dpa), attrs);
    }
    return MEMTX_OK;
}

static MemTxResult cxl_cram_vmem_write(CXLType3Dev *ct3d, uint64_t dpa,
                                       hwaddr hpa, const void *buf,
                                       unsigned size, MemTxAttrs attrs)
{
    CXLCramDev *cram = container_of(ct3d, CXLCramDev, parent_obj);

    cxl_cram_access(cram, dpa, (void *)buf, size, true, NULL);
    return MEMTX_OK;
}

/*
 * The I/O region: the same, reached through cxl-type3's address space of
 * its backend by the device's own users of it, never a vCPU (poison is
 * then a failed transaction), so with no host address.
 */
static MemTxResult cxl_cram_mem_read(void *opaque, hwaddr addr,
                                     uint64_t *data, unsigned size,
                                     MemTxAttrs attrs)
{
    uint8_t bytes[8] = { 0 };
    MemTxResult r = cxl_cram_vmem_read(opaque, addr, 0, bytes, size, attrs);

    *data = ldq_le_p(bytes);
    return r;
}

static MemTxResult cxl_cram_mem_write(void *opaque, hwaddr addr,
                                      uint64_t data, unsigned size,
                                      MemTxAttrs attrs)
{
    uint8_t bytes[8];

    stq_le_p(bytes, data);
    return cxl_cram_vmem_write(opaque, addr, 0, bytes, size, attrs);
}

void cxl_cram_datapath_class_init(ObjectClass *oc)
{
    CXLType3Class *cvc = CXL_TYPE3_CLASS(oc);

    cvc->vmem_read = cxl_cram_vmem_read;
    cvc->vmem_write = cxl_cram_vmem_write;
}

static const MemoryRegionOps cxl_cram_mem_ops = {
    .read_with_attrs = cxl_cram_mem_read,
    .write_with_attrs = cxl_cram_mem_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = {
        .min_access_size = 1,
        .max_access_size = 8,
        .unaligned = true,
    },
    .impl = {
        .min_access_size = 1,
        .max_access_size = 8,
        .unaligned = true,
    },
};

/* The store, with a worker when there is a cache to write back */
static bool cxl_cram_store_init(CXLCramDev *cram, const CramConfig *cfg,
                                Error **errp)
{
    g_autoptr(GError) gerr = NULL;
    CramStoreConfig scfg = {
        /* cache-size=0: the synchronous one-page write-combining buffer */
        .cache_pages = MAX(cram->cache_size >> CRAM_PAGE_SHIFT, 1),
        .worker = cram->cache_size > 0,
        .drop_tag = CXL_POISON_TYPE_INTERNAL,
        .worker_stored = cxl_cram_worker_stored,
        .opaque = cram,
    };
    CramEngine *e = cram_engine_new(cfg, &gerr);

    cxl_cram_ramalias_config(cram, &scfg);

    cram->store = e ? cram_store_new(e, &scfg, &gerr) : NULL;
    if (!cram->store) {
        error_setg(errp, "cxl-cram: %s", gerr->message);
        return false;
    }
    cxl_cram_failure_policy(cram, cram->failure_policy);
    if (scfg.worker) {
        qemu_thread_create(&cram->worker, "cxl-cram-worker",
                           cxl_cram_worker, cram, QEMU_THREAD_JOINABLE);
        cram->has_worker = true;
    }
    cxl_cram_ramalias_init(cram);
    return true;
}

bool cxl_cram_memory_init(CXLCramDev *cram, const CramConfig *cfg,
                          Error **errp)
{
    Object *obj = object_new(TYPE_CXL_CRAM_MEMORY);
    HostMemoryBackend *mem = MEMORY_BACKEND(obj);

    object_property_add_child(OBJECT(cram), "memory", obj);
    object_unref(obj);
    if (!object_property_set_uint(obj, "size", cram->capacity, errp)) {
        object_unparent(obj);
        return false;
    }
    /* The region's opaque is the CXLType3Dev the hooks take */
    memory_region_init_io(&mem->mr, obj, &cxl_cram_mem_ops, &cram->parent_obj,
                          "cxl-cram-memory", cram->capacity);
    cram->memory = mem;
    cram->safety_bh = qemu_bh_new(cxl_cram_safety_bh, cram);
    if (!cxl_cram_store_init(cram, cfg, errp)) {
        cxl_cram_memory_fini(cram);
        return false;
    }
    return true;
}

void cxl_cram_memory_fini(CXLCramDev *cram)
{
    cxl_cram_ramalias_fini(cram);
    if (cram->has_worker) {
        cram_store_worker_stop(cram->store);
        qemu_thread_join(&cram->worker);
        cram->has_worker = false;
    }
    cram_store_free(cram->store);
    cram->store = NULL;
    if (cram->safety_bh) {
        qemu_bh_delete(cram->safety_bh);
        cram->safety_bh = NULL;
    }
    if (cram->memory) {
        object_unparent(OBJECT(cram->memory));
        cram->memory = NULL;
    }
}

/* The device sets the region up; the backend must not be made alone. */
static void cxl_cram_memory_complete(UserCreatable *uc, Error **errp)
{
    error_setg(errp, "%s is internal to cxl-cram and cannot be created",
               TYPE_CXL_CRAM_MEMORY);
}

static void cxl_cram_memory_class_init(ObjectClass *oc, void *data)
{
    UserCreatableClass *ucc = USER_CREATABLE_CLASS(oc);

    ucc->complete = cxl_cram_memory_complete;
}

static const TypeInfo cxl_cram_memory_info = {
    .name = TYPE_CXL_CRAM_MEMORY,
    .parent = TYPE_MEMORY_BACKEND,
    .class_init = cxl_cram_memory_class_init,
};

static void cxl_cram_memory_register_types(void)
{
    type_register_static(&cxl_cram_memory_info);
}

type_init(cxl_cram_memory_register_types)
