/*
 * cxl-cram engine: export and import of the page store (migration)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include "cram-export.h"
#include "cram-wrap.h"
#include "cram-engine-internal.h"
#include "cram-error.h"

typedef struct CramExportObj {
    uint64_t page;
    uint64_t handle;
} CramExportObj;

struct CramExport {
    CramEngine *e;
    GArray *plain;              /* uint64_t: pages without media */
    GArray *objs;               /* CramExportObj, sorted by handle */
    guint next;
    uint32_t group;             /* number of the current span's group */
    uint64_t span;              /* its handle >> CRAM_HANDLE_SLOT_BITS */
    uint8_t buf[CRAM_PAGE_SIZE];
};

static gint obj_cmp(gconstpointer a, gconstpointer b)
{
    const CramExportObj *x = a, *y = b;

    return x->handle < y->handle ? -1 : x->handle > y->handle;
}

static gint page_cmp(gconstpointer a, gconstpointer b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

static void export_add(void *opaque, uint64_t page, uint32_t meta,
                       uint64_t *val)
{
    CramExport *x = opaque;
    CramExportObj o = { page, *val };

    if (kind_has_media(cram_meta_kind(meta))) {
        g_array_append_val(x->objs, o);
    } else {
        g_array_append_val(x->plain, page);
    }
}

CramExport *cram_export_new(CramEngine *e)
{
    CramExport *x = g_new0(CramExport, 1);

    x->e = e;
    x->span = UINT64_MAX;
    x->plain = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    x->objs = g_array_sized_new(FALSE, FALSE, sizeof(CramExportObj),
                                e->pt.held);
    /* Only the entries held are visited: O(pages held), not capacity. */
    cram_pt_foreach(&e->pt, export_add, x);
    g_array_sort(x->plain, page_cmp);
    /* Handles are class, span id, slot: this groups objects by span. */
    g_array_sort(x->objs, obj_cmp);
    return x;
}

uint64_t cram_export_count(const CramExport *x)
{
    return x->plain->len + x->objs->len;
}

bool cram_export_next(CramExport *x, CramPageRecord *rec)
{
    CramEngine *e = x->e;
    uint64_t val, handle = 0;
    uint32_t meta;

    memset(rec, 0, sizeof(*rec));
    if (x->next < x->plain->len) {
        rec->page = g_array_index(x->plain, uint64_t, x->next);
    } else if (x->next < x->plain->len + x->objs->len) {
        CramExportObj *o = &g_array_index(x->objs, CramExportObj,
                                          x->next - x->plain->len);

        rec->page = o->page;
        handle = o->handle;
    } else {
        return false;
    }
    x->next++;

    meta = cram_pt_get(&e->pt, rec->page, &val);
    rec->kind = cram_meta_kind(meta);
    rec->flags = (cram_meta_flags(meta) & CRAM_META_POISON ?
                  CRAM_RECORD_POISON : 0) |
                 (cram_meta_wrapped(meta) ? CRAM_RECORD_WRAPPED : 0);
    if (rec->flags & CRAM_RECORD_POISON) {
        rec->poison_tag = val;
    } else if (rec->kind == CRAM_KIND_SAME) {
        rec->fill = val;
    } else if (kind_has_media(rec->kind)) {
        g_assert(val == handle);
        rec->size = cram_meta_size(meta);
        /* Groups are numbered in order: a span id need not fit 32 bits. */
        if (handle >> CRAM_HANDLE_SLOT_BITS != x->span) {
            x->span = handle >> CRAM_HANDLE_SLOT_BITS;
            x->group++;
        }
        rec->group = x->group;
        rec->slot = handle & ((1u << CRAM_HANDLE_SLOT_BITS) - 1);
        cram_alloc_read(e->alloc, handle, x->buf, rec->size);
        rec->data = x->buf;
    }
    return true;
}

void cram_export_free(CramExport *x)
{
    if (!x) {
        return;
    }
    g_array_free(x->plain, TRUE);
    g_array_free(x->objs, TRUE);
    g_free(x);
}

struct CramImport {
    CramEngine *e;
    unsigned max_tag;
    bool in_group;
    uint32_t group;             /* the source's group being placed */
    uint64_t span;              /* a handle in the span it got */
    uint8_t page[CRAM_PAGE_SIZE];
    uint8_t data[CRAM_PAGE_SIZE];   /* cram_import_read()'s object */
};

static void engine_empty(CramEngine *e)
{
    cram_pt_clear_all(&e->pt);
    cram_alloc_reset(e->alloc);
    memset(e->pages, 0, sizeof(e->pages));
    e->stored_bytes = 0;
    e->stores = 0;
    e->loads = 0;
    e->failed_stores = 0;
    e->discards = 0;
    e->poisoned = 0;
}

CramImport *cram_import_new(CramEngine *e, unsigned max_tag, GError **err)
{
    CramImport *im;

    if (e->reserved) {
        g_set_error(err, CRAM_ERROR, 0, "%" PRIu64 " media pages are "
                    "reserved by cached pages: cannot import", e->reserved);
        return NULL;
    }
    if (e->taken) {
        g_set_error(err, CRAM_ERROR, 0, "%" PRIu64 " media pages are "
                    "taken by the host: cannot import", e->taken);
        return NULL;
    }
    engine_empty(e);
    im = g_new0(CramImport, 1);
    im->e = e;
    im->max_tag = MIN(max_tag, CRAM_POISON_TAG_MAX);
    return im;
}

/* The page table entry of a record that is not poisoned */
static uint32_t record_meta(const CramPageRecord *rec)
{
    return rec->flags & CRAM_RECORD_WRAPPED ?
           cram_meta_make_wrapped(rec->kind, rec->size) :
           cram_meta_make(rec->kind, rec->size, 0);
}

static bool check_record(CramImport *im, const CramPageRecord *rec,
                         GError **err)
{
    CramEngine *e = im->e;
    uint64_t val;

    if (rec->page >= e->npages) {
        g_set_error(err, CRAM_ERROR, 0, "page %" PRIu64 " is beyond the "
                    "capacity (%" PRIu64 " pages)", rec->page, e->npages);
        return false;
    }
    if (cram_pt_get(&e->pt, rec->page, &val)) {
        g_set_error(err, CRAM_ERROR, 0, "page %" PRIu64 " is given twice",
                    rec->page);
        return false;
    }
    if (rec->flags & ~(CRAM_RECORD_POISON | CRAM_RECORD_WRAPPED) ||
        (rec->flags & CRAM_RECORD_WRAPPED &&
         rec->kind != CRAM_KIND_COMPRESSED)) {
        g_set_error(err, CRAM_ERROR, 0, "page %" PRIu64 ": unknown flags "
                    "0x%x", rec->page, rec->flags);
        return false;
    }
    if (rec->poison_tag > (rec->flags & CRAM_RECORD_POISON ?
                           im->max_tag : 0)) {
        g_set_error(err, CRAM_ERROR, 0, "page %" PRIu64 ": poison tag %u "
                    "with flags 0x%x", rec->page, rec->poison_tag,
                    rec->flags);
        return false;
    }
    /* A poisoned page holds nothing; a page that holds nothing is poisoned */
    if ((rec->kind == CRAM_KIND_EMPTY) != !!(rec->flags & CRAM_RECORD_POISON)) {
        g_set_error(err, CRAM_ERROR, 0, "page %" PRIu64 ": kind %u with "
                    "flags 0x%x", rec->page, rec->kind, rec->flags);
        return false;
    }
    switch (rec->kind) {
    case CRAM_KIND_EMPTY:
    case CRAM_KIND_ZERO:
    case CRAM_KIND_SAME:
        if (rec->size) {
            goto bad_size;
        }
        if (rec->group || rec->slot) {
            g_set_error(err, CRAM_ERROR, 0, "page %" PRIu64 ": kind %u "
                        "holds no media, yet span group %u slot %u",
                        rec->page, rec->kind, rec->group, rec->slot);
            return false;
        }
        if (rec->kind == CRAM_KIND_SAME && !rec->fill) {
            g_set_error(err, CRAM_ERROR, 0, "page %" PRIu64 ": same-filled "
                        "with zero", rec->page);
            return false;
        }
        return true;
    case CRAM_KIND_COMPRESSED:
        if (!rec->size || !rec->data ||
            (rec->flags & CRAM_RECORD_WRAPPED ?
             rec->size > CRAM_WRAP_MAX || rec->size % CRAM_META_WRAP_UNIT :
             rec->size > CRAM_RAW_THRESHOLD)) {
            goto bad_size;
        }
        if (cram_engine_decode(e, record_meta(rec), rec->data, im->page)) {
            bool wrapped = rec->flags & CRAM_RECORD_WRAPPED;

            g_set_error(err, CRAM_ERROR, 0, "page %" PRIu64 ": the %u-byte "
                        "%sobject does not decompress to a page with %s",
                        rec->page, rec->size, wrapped ? "wrapped " : "",
                        wrapped ? "its codec" : cram_codec_name(e->base));
            return false;
        }
        return true;
    case CRAM_KIND_RAW:
        if (rec->size != CRAM_PAGE_SIZE || !rec->data) {
            goto bad_size;
        }
        return true;
    default:
        g_set_error(err, CRAM_ERROR, 0, "page %" PRIu64 ": unknown kind "
                    "%u", rec->page, rec->kind);
        return false;
    }

bad_size:
    g_set_error(err, CRAM_ERROR, 0, "page %" PRIu64 ": kind %u with an "
                "object of %u bytes", rec->page, rec->kind, rec->size);
    return false;
}

bool cram_import_page(CramImport *im, const CramPageRecord *rec,
                      GError **err)
{
    CramEngine *e = im->e;
    uint64_t val = 0;
    uint32_t meta;

    if (!check_record(im, rec, err)) {
        return false;
    }
    if (kind_has_media(rec->kind)) {
        bool same = im->in_group && rec->group == im->group;
        uint64_t span = same ? im->span : CRAM_ALLOC_NEW_SPAN;
        int ret;

        /* A span of its own for each group, each object in its slot. */
        ret = cram_alloc_obj_at(e->alloc, rec->size, span, rec->slot, &val);
        if (ret == -ENOSPC) {
            g_set_error(err, CRAM_ERROR, 0, "page %" PRIu64 ": no media "
                        "left (media-size %" PRIu64 ", %" PRIu64 " bytes "
                        "free)", rec->page, e->media_size,
                        e->media_size - cram_alloc_used(e->alloc));
            return false;
        } else if (ret == -EINVAL) {
            g_set_error(err, CRAM_ERROR, 0, "page %" PRIu64 ": slot %u is "
                        "beyond the span of a %u-byte object (%u slots)",
                        rec->page, rec->slot, rec->size,
                        cram_alloc_span_slots(e->alloc, rec->size));
            return false;
        } else if (ret == -EEXIST) {
            g_set_error(err, CRAM_ERROR, 0, "page %" PRIu64 ": slot %u of "
                        "span group %u is given twice", rec->page,
                        rec->slot, rec->group);
            return false;
        } else if (ret) {
            g_set_error(err, CRAM_ERROR, 0, "page %" PRIu64 ": span group "
                        "%u mixes objects of different size classes "
                        "(a %u-byte object)", rec->page, rec->group,
                        rec->size);
            return false;
        }
        im->in_group = true;
        im->group = rec->group;
        im->span = val;
        cram_alloc_write(e->alloc, val, rec->data, rec->size);
    } else if (rec->kind == CRAM_KIND_SAME) {
        val = rec->fill;
    }
    if (rec->flags & CRAM_RECORD_POISON) {
        meta = cram_meta_make(CRAM_KIND_EMPTY, 0, CRAM_META_POISON);
        val = rec->poison_tag;
        e->poisoned++;
    } else {
        meta = record_meta(rec);
    }
    cram_engine_account_add(e, meta);
    cram_pt_set(&e->pt, rec->page, meta, val);
    return true;
}

static bool check_figure(const char *what, uint64_t got, uint64_t want,
                         GError **err)
{
    if (got != want) {
        g_set_error(err, CRAM_ERROR, 0, "%s is %" PRIu64 " after the import, "
                    "the source had %" PRIu64, what, got, want);
        return false;
    }
    return true;
}

bool cram_import_finish(CramImport *im, const CramStats *expect,
                        GError **err)
{
    static const char *const kind_names[CRAM_KIND__MAX] = {
        "empty pages", "zero pages", "same-filled pages",
        "compressed pages", "raw pages",
    };
    CramEngine *e = im->e;
    CramStats st;
    bool ok;
    guint i;

    g_free(im);

    e->stores = expect->stores;
    e->loads = expect->loads;
    e->failed_stores = expect->failed_stores;
    e->discards = expect->discards;
    cram_engine_get_stats(e, &st);
    ok = check_figure("media reserved", 0, expect->media_reserved, err) &&
         check_figure("media used", st.media_used, expect->media_used, err) &&
         check_figure("stored bytes", st.stored_bytes, expect->stored_bytes,
                      err) &&
         check_figure("poisoned pages", st.poisoned_pages,
                      expect->poisoned_pages, err);
    for (i = CRAM_KIND_ZERO; ok && i < CRAM_KIND__MAX; i++) {
        ok = check_figure(kind_names[i], st.pages[i], expect->pages[i], err);
    }
    if (!ok) {
        engine_empty(e);
    }
    return ok;
}

void cram_import_abort(CramImport *im)
{
    if (!im) {
        return;
    }
    engine_empty(im->e);
    g_free(im);
}

static void put_be(CramPut *put, void *opaque, uint64_t v, unsigned bytes)
{
    uint8_t b[8];
    unsigned i;

    for (i = 0; i < bytes; i++) {
        b[i] = v >> (8 * (bytes - 1 - i));
    }
    put(opaque, b, bytes);
}

static bool get_be(CramGet *get, void *opaque, unsigned bytes, uint64_t *v)
{
    uint8_t b[8];
    unsigned i;

    if (!get(opaque, b, bytes)) {
        return false;
    }
    for (*v = 0, i = 0; i < bytes; i++) {
        *v = *v << 8 | b[i];
    }
    return true;
}

/* The widths of the fixed part of a record, in order */
static const unsigned record_widths[] = { 8, 1, 1, 2, 4, 2 };

uint64_t cram_export_write(CramExport *x, CramPut *put, void *opaque)
{
    CramPageRecord rec;
    uint64_t bytes = 0;

    while (cram_export_next(x, &rec)) {
        uint64_t v[] = { rec.page, rec.kind, rec.flags, rec.size, rec.group,
                         rec.slot };
        unsigned i;

        for (i = 0; i < G_N_ELEMENTS(v); i++) {
            put_be(put, opaque, v[i], record_widths[i]);
        }
        if (rec.flags & CRAM_RECORD_POISON) {
            put_be(put, opaque, rec.poison_tag, 1);
        } else if (rec.kind == CRAM_KIND_SAME) {
            put_be(put, opaque, rec.fill, 8);
        } else if (rec.size) {
            put(opaque, rec.data, rec.size);
        }
        bytes += rec.size;
    }
    return bytes;
}

/* One record from @get into @rec; false when the stream ended. */
static bool read_record(CramImport *im, CramGet *get, void *opaque,
                        CramPageRecord *rec, GError **err)
{
    uint64_t v[G_N_ELEMENTS(record_widths)], tail;
    unsigned i;

    memset(rec, 0, sizeof(*rec));
    for (i = 0; i < G_N_ELEMENTS(v); i++) {
        if (!get_be(get, opaque, record_widths[i], &v[i])) {
            return false;
        }
    }
    rec->page = v[0];
    rec->kind = v[1];
    rec->flags = v[2];
    rec->size = v[3];
    rec->group = v[4];
    rec->slot = v[5];
    if (rec->flags & CRAM_RECORD_POISON) {
        if (!get_be(get, opaque, 1, &tail)) {
            return false;
        }
        rec->poison_tag = tail;
    } else if (rec->kind == CRAM_KIND_SAME) {
        if (!get_be(get, opaque, 8, &tail)) {
            return false;
        }
        rec->fill = tail;
    } else if (rec->size > CRAM_PAGE_SIZE) {
        g_set_error(err, CRAM_ERROR, 0, "page %" PRIu64 " has an object of "
                    "%u bytes, more than a page", rec->page, rec->size);
        return false;
    } else if (rec->size) {
        if (!get(opaque, im->data, rec->size)) {
            return false;
        }
        rec->data = im->data;
    }
    return true;
}

bool cram_import_read(CramImport *im, uint64_t count, CramGet *get,
                      void *opaque, GError **err)
{
    CramPageRecord rec;
    uint64_t i;

    for (i = 0; i < count; i++) {
        GError *e = NULL;

        if (!read_record(im, get, opaque, &rec, &e) && !e) {
            g_set_error(err, CRAM_ERROR, 0, "the stream ends at record %"
                        PRIu64 " of %" PRIu64, i, count);
            return false;
        }
        if (e || !cram_import_page(im, &rec, &e)) {
            g_propagate_prefixed_error(err, e, "record %" PRIu64 ": ", i);
            return false;
        }
    }
    return true;
}
