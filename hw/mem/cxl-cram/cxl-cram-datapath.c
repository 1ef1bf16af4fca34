/*
 * cxl-cram data path: every guest access to the advertised capacity
 *
 * cxl-type3 routes guest accesses, by device physical address, to the
 * address space of its volatile memory backend.  cxl-cram gives it a
 * backend whose memory region is an I/O region over the whole capacity,
 * so each access lands here and nothing of the capacity is ever allocated.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "system/hostmem.h"
#include "qom/object_interfaces.h"
#include "cxl-cram.h"
#include "trace.h"

/*
 * Write the staged page back to the engine.  A refused store drops the
 * write and poisons the page; a poisoned page only heals when the guest
 * rewrote all of it.
 */
void cxl_cram_stage_flush(CXLCramDev *cram)
{
    CXLCramStage *st = &cram->stage;
    uint64_t dpa = st->page << CRAM_PAGE_SHIFT;

    if (!st->valid || !st->dirty) {
        return;
    }
    st->dirty = false;
    if (st->poisoned &&
        find_first_zero_bit(st->written, CRAM_PAGE_SIZE) < CRAM_PAGE_SIZE) {
        /* Partial writes to a poisoned page have nothing to merge with. */
        st->valid = false;
        return;
    }
    if (cram_engine_store(cram->engine, st->page, st->buf) < 0) {
        st->valid = false;
        cxl_cram_write_dropped(cram, st->page);
        return;
    }
    if (st->poisoned) {
        st->poisoned = false;
        cxl_cram_poison_healed(cram, st->page, 1);
    }
    trace_cxl_cram_store(dpa, cram_engine_page_class(cram->engine, st->page));
    cxl_cram_safety_update(cram);
}

/* Forget the staged page without writing it back. */
void cxl_cram_stage_drop(CXLCramDev *cram)
{
    cram->stage.valid = false;
    cram->stage.dirty = false;
}

static uint8_t *cxl_cram_stage_get(CXLCramDev *cram, uint64_t page)
{
    CXLCramStage *st = &cram->stage;

    if (st->valid && st->page == page) {
        return st->buf;
    }
    cxl_cram_stage_flush(cram);
    st->poisoned = cram_engine_page_poisoned(cram->engine, page);
    if (st->poisoned) {
        memset(st->buf, 0xff, CRAM_PAGE_SIZE);
        bitmap_zero(st->written, CRAM_PAGE_SIZE);
    } else {
        cram_engine_load(cram->engine, page, st->buf);
        trace_cxl_cram_load(page << CRAM_PAGE_SHIFT,
                            cram_engine_page_class(cram->engine, page));
    }
    st->page = page;
    st->valid = true;
    st->dirty = false;
    return st->buf;
}

/*
 * Copy @size bytes at @dpa, which may cross one page boundary.  Reads of
 * poisoned bytes return all-ones and are counted; returns true then.
 */
static bool cxl_cram_access(CXLCramDev *cram, uint64_t dpa, uint8_t *bytes,
                            unsigned size, bool write)
{
    CXLCramStage *st = &cram->stage;
    bool poisoned = false;

    while (size) {
        uint64_t page = dpa >> CRAM_PAGE_SHIFT;
        unsigned off = dpa & (CRAM_PAGE_SIZE - 1);
        unsigned len = MIN(size, CRAM_PAGE_SIZE - off);
        uint8_t *buf = cxl_cram_stage_get(cram, page);

        if (write) {
            memcpy(buf + off, bytes, len);
            st->dirty = true;
            if (st->poisoned) {
                bitmap_set(st->written, off, len);
            }
        } else {
            memcpy(bytes, buf + off, len);
            if (st->poisoned &&
                find_next_zero_bit(st->written, off + len, off) < off + len) {
                cxl_cram_poisoned_read(cram, dpa);
                poisoned = true;
            }
        }
        dpa += len;
        bytes += len;
        size -= len;
    }
    return poisoned;
}

/* Device-internal writes (Clear Poison, Media Operations) */
void cxl_cram_write_bytes(CXLCramDev *cram, uint64_t dpa, const void *buf,
                          unsigned len)
{
    cxl_cram_access(cram, dpa, (uint8_t *)buf, len, true);
}

static MemTxResult cxl_cram_mem_read(void *opaque, hwaddr addr,
                                     uint64_t *data, unsigned size,
                                     MemTxAttrs attrs)
{
    CXLCramDev *cram = opaque;
    uint8_t bytes[8] = { 0 };

    if (cxl_cram_access(cram, addr, bytes, size, false) && cram->poison_mce) {
        cxl_cram_raise_mce(cram, addr);
    }
    *data = ldq_le_p(bytes);
    return MEMTX_OK;
}

static MemTxResult cxl_cram_mem_write(void *opaque, hwaddr addr,
                                      uint64_t data, unsigned size,
                                      MemTxAttrs attrs)
{
    CXLCramDev *cram = opaque;
    uint8_t bytes[8];

    stq_le_p(bytes, data);
    cxl_cram_access(cram, addr, bytes, size, true);
    return MEMTX_OK;
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

bool cxl_cram_memory_init(CXLCramDev *cram, Error **errp)
{
    Object *obj = object_new(TYPE_CXL_CRAM_MEMORY);
    HostMemoryBackend *mem = MEMORY_BACKEND(obj);

    object_property_add_child(OBJECT(cram), "memory", obj);
    object_unref(obj);
    if (!object_property_set_uint(obj, "size", cram->capacity, errp)) {
        object_unparent(obj);
        return false;
    }
    memory_region_init_io(&mem->mr, obj, &cxl_cram_mem_ops, cram,
                          "cxl-cram-memory", cram->capacity);
    cram->memory = mem;
    cram->stage.buf = g_malloc(CRAM_PAGE_SIZE);
    cxl_cram_stage_drop(cram);
    return true;
}

void cxl_cram_memory_fini(CXLCramDev *cram)
{
    if (cram->memory) {
        object_unparent(OBJECT(cram->memory));
        cram->memory = NULL;
    }
    g_free(cram->stage.buf);
    cram->stage.buf = NULL;
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
