/*
 * cxl-cram engine: page store front end
 *
 * Ties together encoding (cram-encode), the page table (cram-pagetable)
 * and the media allocator (cram-alloc), and keeps the statistics.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "cram-engine.h"
#include "cram-alloc.h"
#include "cram-codec.h"
#include "cram-encode.h"
#include "cram-error.h"
#include "cram-pagetable.h"

/* The page table keeps media handles in its narrow values. */
G_STATIC_ASSERT(CRAM_HANDLE_BITS <= CRAM_PT_VALUE_BITS);
#include "cram-engine-internal.h"

static bool check_config(const CramConfig *cfg, GError **err)
{
    if (!cfg->capacity) {
        g_set_error(err, CRAM_ERROR, 0, "capacity must not be 0");
        return false;
    }
    if (cfg->capacity % CRAM_PAGE_SIZE) {
        g_set_error(err, CRAM_ERROR, 0,
                    "capacity %" PRIu64 " is not a multiple of %u",
                    cfg->capacity, CRAM_PAGE_SIZE);
        return false;
    }
    if (cfg->capacity > CRAM_MAX_CAPACITY) {
        g_set_error(err, CRAM_ERROR, 0,
                    "capacity %" PRIu64 " is above the maximum %llu (1 TiB)",
                    cfg->capacity, CRAM_MAX_CAPACITY);
        return false;
    }
    if (!cfg->media_size) {
        g_set_error(err, CRAM_ERROR, 0, "media-size must not be 0");
        return false;
    }
    if (cfg->media_size % CRAM_PAGE_SIZE) {
        g_set_error(err, CRAM_ERROR, 0,
                    "media-size %" PRIu64 " is not a multiple of %u",
                    cfg->media_size, CRAM_PAGE_SIZE);
        return false;
    }
    if (cfg->media_size > cfg->capacity) {
        g_set_error(err, CRAM_ERROR, 0,
                    "media-size %" PRIu64 " is larger than capacity %"
                    PRIu64, cfg->media_size, cfg->capacity);
        return false;
    }
    return cram_codec_check_level(cfg->codec, cfg->level, err);
}

CramEngine *cram_engine_new(const CramConfig *cfg, GError **err)
{
    const CramCodecOps *ops;
    CramEngine *e;

    if (!check_config(cfg, err)) {
        return NULL;
    }
    ops = cram_codec_ops(cfg->codec);

    e = g_new0(CramEngine, 1);
    e->capacity = cfg->capacity;
    e->media_size = cfg->media_size;
    e->npages = cfg->capacity / CRAM_PAGE_SIZE;
    e->level = cfg->level;
    e->base = cfg->codec;
    e->wrapbuf = g_malloc(CRAM_PAGE_SIZE);
    cram_pt_init(&e->pt, e->npages);
    e->alloc = cram_alloc_new(cfg->media_size, err);
    if (!e->alloc) {
        goto fail;
    }
    e->scratch = cram_scratch_new(ops, cfg->level);
    if (!e->scratch) {
        g_set_error(err, CRAM_ERROR, 0, "cannot create a %s codec context",
                    ops->name);
        goto fail;
    }
    return e;

fail:
    cram_engine_free(e);
    return NULL;
}

void cram_engine_free(CramEngine *e)
{
    unsigned i;

    if (!e) {
        return;
    }
    cram_scratch_free(e->scratch);
    for (i = 0; i < CRAM_CODEC__MAX; i++) {
        cram_scratch_free(e->dec[i]);
    }
    g_free(e->wrapbuf);
    cram_alloc_free(e->alloc);
    cram_pt_destroy(&e->pt);
    g_free(e);
}

void cram_engine_account_add(CramEngine *e, uint32_t meta)
{
    CramPageKind kind = cram_meta_kind(meta);

    if (kind != CRAM_KIND_EMPTY) {
        e->pages[kind]++;
        e->stored_bytes += cram_meta_size(meta);
    }
}

void cram_engine_account_sub(CramEngine *e, uint32_t meta)
{
    CramPageKind kind = cram_meta_kind(meta);

    if (kind != CRAM_KIND_EMPTY) {
        e->pages[kind]--;
        e->stored_bytes -= cram_meta_size(meta);
    }
}

static uint64_t free_media_pages(CramEngine *e)
{
    return (e->media_size - cram_alloc_used(e->alloc)) / CRAM_PAGE_SIZE;
}

/*
 * Allocate an object without eating into the pages reserved for cached
 * dirty pages: those must always find room when they are written back.
 */
static bool alloc_unreserved(CramEngine *e, size_t size, uint64_t *handle)
{
    if (!cram_alloc_obj(e->alloc, size, handle)) {
        return false;
    }
    if (free_media_pages(e) < e->reserved + e->taken) {
        cram_alloc_free_obj(e->alloc, *handle);
        return false;
    }
    return true;
}

static int store_encoded(CramEngine *e, uint64_t page_index,
                         const CramEncoded *enc)
{
    uint64_t old_val, handle = 0;
    uint32_t old_meta, meta;
    bool free_old;

    old_meta = cram_pt_get(&e->pt, page_index, &old_val);
    free_old = kind_has_media(cram_meta_kind(old_meta));
    if (enc->size) {
        if (free_old &&
            cram_alloc_same_class(e->alloc, cram_meta_size(old_meta),
                                  enc->size)) {
            /* Overwrite in place: rewrites succeed even on full media. */
            handle = old_val;
            free_old = false;
        } else if (!alloc_unreserved(e, enc->size, &handle)) {
            /* The old object is untouched: the page keeps its content. */
            return -ENOSPC;
        }
        cram_alloc_write(e->alloc, handle, enc->data, enc->size);
    }
    if (free_old) {
        cram_alloc_free_obj(e->alloc, old_val);
    }

    meta = enc->wrapped ? cram_meta_make_wrapped(enc->kind, enc->size) :
           cram_meta_make(enc->kind, enc->size, 0);
    if (cram_meta_flags(old_meta) & CRAM_META_POISON) {
        e->poisoned--;          /* a full-page write that fits heals it */
    }
    cram_engine_account_sub(e, old_meta);
    cram_engine_account_add(e, meta);
    cram_pt_set(&e->pt, page_index, meta, enc->size ? handle : enc->fill);
    e->stores++;
    return 0;
}

int cram_engine_store(CramEngine *e, uint64_t page_index, const void *src)
{
    CramEncoded enc, as;

    g_assert(page_index < e->npages);
    cram_page_encode(e->scratch, src, &enc);
    if (store_encoded(e, page_index,
                      cram_engine_store_form(e, page_index, src, &enc,
                                             &as)) < 0) {
        e->failed_stores++;
        return -ENOSPC;
    }
    return 0;
}

bool cram_engine_reserve(CramEngine *e)
{
    if (free_media_pages(e) <= e->reserved + e->taken) {
        return false;
    }
    e->reserved++;
    return true;
}

void cram_engine_unreserve(CramEngine *e)
{
    g_assert(e->reserved);
    e->reserved--;
}

bool cram_engine_take_media(CramEngine *e, uint64_t pages)
{
    uint64_t held = e->reserved + e->taken, free = free_media_pages(e);
    uint64_t avail = free > held ? free - held : 0;

    if (pages > e->taken && pages - e->taken > avail) {
        return false;
    }
    e->taken = pages;
    return true;
}

/*
 * Store a page encoded by another thread, using the reservation taken
 * when the page was cached dirty.  The reservation is one media page,
 * enough for the page raw, so this cannot fail: if the compressed object
 * would need media pages that do not fit (a slot may reach two pages the
 * span does not hold yet), the page goes in raw.
 */
void cram_engine_store_reserved(CramEngine *e, uint64_t page_index,
                                const void *src, const CramEncoded *enc)
{
    CramEncoded raw = {
        .kind = CRAM_KIND_RAW, .size = CRAM_PAGE_SIZE, .data = src,
    };
    CramEncoded as;

    g_assert(page_index < e->npages);
    cram_engine_unreserve(e);
    if (store_encoded(e, page_index,
                      cram_engine_store_form(e, page_index, src, enc,
                                             &as)) == 0) {
        return;
    }
    if (store_encoded(e, page_index, &raw) < 0) {
        g_assert_not_reached();
    }
}

/*
 * Readahead into the CPU caches: when loads go page after page (a guest
 * streaming through cold memory), start fetching the next page's object
 * now, so that its media lines arrive while this page decompresses
 * instead of stalling the next load.  Random loads pay one compare.
 */
static void load_readahead(CramEngine *e, uint64_t page_index)
{
    uint64_t val;
    uint32_t meta;
    bool sequential = page_index == e->last_load + 1;

    e->last_load = page_index;
    if (!sequential || page_index + 1 >= e->npages) {
        return;
    }
    meta = cram_pt_get(&e->pt, page_index + 1, &val);
    if (kind_has_media(cram_meta_kind(meta)) && cram_meta_size(meta)) {
        cram_alloc_prefetch(e->alloc, val, cram_meta_size(meta));
    }
}

bool cram_engine_load(CramEngine *e, uint64_t page_index, void *dst)
{
    uint64_t val;
    uint32_t meta;
    uint32_t size;
    const void *obj;

    g_assert(page_index < e->npages);
    meta = cram_pt_get(&e->pt, page_index, &val);
    size = cram_meta_size(meta);
    e->loads++;
    load_readahead(e, page_index);

    switch (cram_meta_kind(meta)) {
    case CRAM_KIND_SAME:
        cram_page_fill(dst, val);
        break;
    case CRAM_KIND_RAW:
        cram_alloc_read(e->alloc, val, dst, size);
        break;
    case CRAM_KIND_COMPRESSED:
        obj = cram_alloc_map(e->alloc, val, size, e->scratch->bounce);
        if (cram_engine_decode(e, meta, obj, dst) < 0) {
            /*
             * Only media corruption gets here: the data is lost, so the
             * page is poisoned, as hardware would do with an
             * uncorrectable line, never handed out as zeros.
             */
            cram_engine_poison(e, page_index);
            memset(dst, 0xff, CRAM_PAGE_SIZE);
            return false;
        }
        break;
    default:
        memset(dst, 0, CRAM_PAGE_SIZE);
        break;
    }
    return true;
}

/* Discard a page that holds @meta and @val (meta != 0). */
static void discard_held(CramEngine *e, uint64_t page_index, uint32_t meta,
                         uint64_t val)
{
    if (cram_meta_flags(meta) & CRAM_META_POISON) {
        e->poisoned--;
    }
    if (kind_has_media(cram_meta_kind(meta))) {
        cram_alloc_free_obj(e->alloc, val);
    }
    cram_engine_account_sub(e, meta);
    cram_pt_set(&e->pt, page_index, 0, 0);
    e->discards++;
}

void cram_engine_discard(CramEngine *e, uint64_t page_index)
{
    uint64_t val;
    uint32_t meta;

    g_assert(page_index < e->npages);
    meta = cram_pt_get(&e->pt, page_index, &val);
    if (meta) {
        discard_held(e, page_index, meta, val);
    }
}

static int range_cmp(const void *a, const void *b)
{
    const CramPtRange *x = a, *y = b;

    return x->first < y->first ? -1 : x->first > y->first;
}

uint64_t cram_engine_discard_ranges(CramEngine *e, const CramRange *r,
                                    unsigned nr)
{
    CramPtRange *pr = g_new(CramPtRange, MAX(nr, 1));
    uint64_t idx, val, count = 0;
    unsigned i, k = 0;
    CramPtIter it;
    uint32_t meta;

    for (i = 0; i < nr; i++) {
        g_assert(r[i].first <= e->npages && r[i].n <= e->npages - r[i].first);
        if (r[i].n) {
            pr[k].first = r[i].first;
            pr[k++].end = r[i].first + r[i].n;
        }
    }
    /* Sorted and merged, as the iteration wants them. */
    qsort(pr, k, sizeof(*pr), range_cmp);
    for (i = 1, nr = k, k = nr ? 1 : 0; i < nr; i++) {
        if (pr[i].first <= pr[k - 1].end) {
            pr[k - 1].end = MAX(pr[k - 1].end, pr[i].end);
        } else {
            pr[k++] = pr[i];
        }
    }
    cram_pt_iter_init(&e->pt, &it, pr, k);
    while (cram_pt_iter_next(&e->pt, &it, &idx, &meta, &val)) {
        discard_held(e, idx, meta, val);
        count++;
    }
    g_free(pr);
    return count;
}

void cram_engine_poison_tagged(CramEngine *e, uint64_t page_index,
                               unsigned tag)
{
    uint32_t poisoned = cram_meta_make(CRAM_KIND_EMPTY, 0, CRAM_META_POISON);
    uint64_t val;
    uint32_t meta;

    g_assert(page_index < e->npages);
    g_assert(tag <= CRAM_POISON_TAG_MAX);
    meta = cram_pt_get(&e->pt, page_index, &val);
    if (cram_meta_flags(meta) & CRAM_META_POISON) {
        return;
    }
    if (kind_has_media(cram_meta_kind(meta))) {
        cram_alloc_free_obj(e->alloc, val);
    }
    cram_engine_account_sub(e, meta);
    /* A poisoned entry holds no value: it keeps the tag there. */
    cram_pt_set(&e->pt, page_index, poisoned, tag);
    e->poisoned++;
}

void cram_engine_poison(CramEngine *e, uint64_t page_index)
{
    cram_engine_poison_tagged(e, page_index, 0);
}

int cram_engine_poison_tag(CramEngine *e, uint64_t page_index)
{
    uint64_t val;

    g_assert(page_index < e->npages);
    if (cram_meta_flags(cram_pt_get(&e->pt, page_index, &val)) &
        CRAM_META_POISON) {
        return val;
    }
    return -1;
}

bool cram_engine_poison_run(CramEngine *e, uint64_t from, uint64_t end,
                            uint64_t *first, uint64_t *n, unsigned *tag)
{
    uint64_t val;

    if (!cram_pt_poison_run(&e->pt, from, end, first, n, &val)) {
        return false;
    }
    *tag = val;
    return true;
}

bool cram_engine_page_poisoned(CramEngine *e, uint64_t page_index)
{
    uint64_t val;

    g_assert(page_index < e->npages);
    return cram_meta_flags(cram_pt_get(&e->pt, page_index, &val)) &
           CRAM_META_POISON;
}

void cram_engine_discard_all(CramEngine *e)
{
    /* Dropping everything wholesale is O(metadata), not O(pages). */
    e->discards += e->pt.held;
    cram_pt_clear_all(&e->pt);
    cram_alloc_reset(e->alloc);
    memset(e->pages, 0, sizeof(e->pages));
    e->stored_bytes = 0;
    e->poisoned = 0;
}

CramPageKind cram_engine_page_kind(CramEngine *e, uint64_t page_index)
{
    uint64_t val;

    g_assert(page_index < e->npages);
    return cram_meta_kind(cram_pt_get(&e->pt, page_index, &val));
}

typedef struct CensusWalk {
    uint64_t from, per, end;
    CramCensus *out;
} CensusWalk;

static void census_page(void *opaque, uint64_t idx, uint32_t meta,
                        uint64_t *val G_GNUC_UNUSED)
{
    CensusWalk *w = opaque;
    CramPageKind kind = cram_meta_kind(meta);
    CramCensus *c;

    if (idx < w->from || idx >= w->end) {
        return;
    }
    c = &w->out[(idx - w->from) / w->per];
    if (cram_meta_flags(meta) & CRAM_META_POISON) {
        c->poisoned++;
    }
    if (kind != CRAM_KIND_EMPTY) {
        c->pages[kind]++;
        c->pages[CRAM_KIND_EMPTY]--;
        c->stored_bytes += cram_meta_size(meta);
    }
}

void cram_engine_census(CramEngine *e, uint64_t from, uint64_t end,
                        uint64_t per, CramCensus *out)
{
    CensusWalk w = { .from = from, .per = per, .end = end, .out = out };
    uint64_t i, n;

    g_assert(per && from < end && end <= e->npages);
    n = (end - from + per - 1) / per;
    memset(out, 0, n * sizeof(*out));
    for (i = 0; i < n; i++) {
        out[i].pages[CRAM_KIND_EMPTY] = MIN(per, end - from - i * per);
    }
    cram_pt_foreach(&e->pt, census_page, &w);
}

void cram_engine_get_stats(CramEngine *e, CramStats *st)
{
    memset(st, 0, sizeof(*st));
    st->capacity = e->capacity;
    st->media_size = e->media_size;
    st->media_reserved = e->reserved * CRAM_PAGE_SIZE;
    st->media_taken = e->taken * CRAM_PAGE_SIZE;
    st->media_used = cram_alloc_used(e->alloc) + st->media_reserved +
                     st->media_taken;
    st->media_free = e->media_size - st->media_used;
    st->logical_bytes = (e->pages[CRAM_KIND_SAME] +
                         e->pages[CRAM_KIND_COMPRESSED] +
                         e->pages[CRAM_KIND_RAW]) * CRAM_PAGE_SIZE;
    st->stored_bytes = e->stored_bytes;
    memcpy(st->pages, e->pages, sizeof(st->pages));
    st->stores = e->stores;
    st->loads = e->loads;
    st->failed_stores = e->failed_stores;
    st->discards = e->discards;
    st->poisoned_pages = e->poisoned;
}

CramScratch *cram_engine_scratch_new(CramEngine *e)
{
    return cram_scratch_new(e->scratch->ops, e->level);
}

uint64_t cram_engine_metadata_bytes(CramEngine *e)
{
    return e->pt.bytes + cram_alloc_meta_bytes(e->alloc);
}

uint32_t cram_ratio_fp16(const CramStats *st)
{
    uint64_t held = st->pages[CRAM_KIND_ZERO] + st->pages[CRAM_KIND_SAME] +
                    st->pages[CRAM_KIND_COMPRESSED] +
                    st->pages[CRAM_KIND_RAW];
    uint64_t stored = st->media_used - st->media_reserved - st->media_taken;
    uint64_t r;

    if (!stored) {
        return held ? UINT32_MAX : 0;
    }
    /* logical_bytes <= 2^40, so the shift cannot overflow. */
    r = (st->logical_bytes << 16) / stored;
    return r > UINT32_MAX ? UINT32_MAX : (uint32_t)r;
}
