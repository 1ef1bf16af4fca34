/*
 * cxl-cram engine: the form a page is stored in, as the host steers it
 *
 * Two host settings change how new pages are stored, never how stored
 * pages read: a floor on the object size of a range of pages
 * (cram_engine_store_as(), cxl-cram-store-as) and the codec and level
 * of new stores (cram_engine_set_codec(), cxl-cram-set).  Objects that
 * either makes differ from the engine's own are wrapped (cram-wrap.h),
 * so every object decompresses with the codec that made it.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include "cram-engine-internal.h"
#include "cram-error.h"
#include "cram-wrap.h"

void cram_engine_store_as(CramEngine *e, uint64_t from, uint64_t end,
                          uint32_t size)
{
    g_assert(from <= end && end <= e->npages);
    g_assert(cram_engine_store_as_valid(size));
    e->as_from = from;
    e->as_end = end;
    e->as_size = size;
}

bool cram_engine_store_as_valid(uint32_t size)
{
    return size && size <= CRAM_PAGE_SIZE &&
           (size == CRAM_PAGE_SIZE || size <= CRAM_WRAP_MAX) &&
           size % CRAM_META_WRAP_UNIT == 0;
}

const CramEncoded *cram_engine_store_form(CramEngine *e, uint64_t page_index,
                                          const void *src,
                                          const CramEncoded *enc,
                                          CramEncoded *as)
{
    uint32_t floor = 0;

    if (enc->kind != CRAM_KIND_COMPRESSED) {
        return enc;
    }
    if (page_index >= e->as_from && page_index < e->as_end) {
        floor = e->as_size;
    }
    if (floor < CRAM_PAGE_SIZE) {
        if (enc->codec == e->base && enc->size >= floor) {
            return enc;     /* its real size is at least the floor */
        }
        if (cram_wrap(enc, floor, e->wrapbuf, as)) {
            return as;
        }
    }
    *as = (CramEncoded) {
        .kind = CRAM_KIND_RAW, .size = CRAM_PAGE_SIZE, .data = src,
    };
    return as;
}

bool cram_engine_set_codec(CramEngine *e, CramCodecId codec, int level,
                           GError **err)
{
    CramScratch *s;

    if (!cram_codec_check_level(codec, level, err)) {
        return false;
    }
    s = cram_scratch_new(cram_codec_ops(codec), level);
    if (!s) {
        g_set_error(err, CRAM_ERROR, 0, "cannot create a %s codec context",
                    cram_codec_name(codec));
        return false;
    }
    /* kept to decode the old codec's objects: no allocation at a load */
    if (!e->dec[e->scratch->ops->id]) {
        e->dec[e->scratch->ops->id] = e->scratch;
    } else {
        cram_scratch_free(e->scratch);
    }
    e->scratch = s;
    e->level = level;
    e->codec_gen++;
    return true;
}

uint64_t cram_engine_codec_gen(CramEngine *e)
{
    return e->codec_gen;
}

void cram_engine_encode(CramEngine *e, const void *src, CramEncoded *enc)
{
    cram_page_encode(e->scratch, src, enc);
}

/*
 * A scratch that decompresses @codec's objects: the current codec's, one
 * kept when the codec changed, or (objects that came in by migration)
 * one made when first needed.  Failing to make one is the host running
 * out of memory, not the page's data being lost: abort, as g_new()
 * would, rather than poison a good page.
 */
static CramScratch *decoder(CramEngine *e, CramCodecId codec)
{
    if (e->scratch->ops->id == codec) {
        return e->scratch;
    }
    if (!e->dec[codec]) {
        e->dec[codec] = cram_scratch_new(cram_codec_ops(codec), 0);
        if (!e->dec[codec]) {
            g_error("cxl-cram: cannot make a %s decoder: out of memory",
                    cram_codec_name(codec));
        }
    }
    return e->dec[codec];
}

int cram_engine_decode(CramEngine *e, uint32_t meta, const void *obj,
                       void *dst)
{
    uint32_t len = cram_meta_size(meta);
    CramCodecId codec = e->base;
    CramScratch *s;

    if (cram_meta_wrapped(meta) &&
        !cram_unwrap(obj, len, &codec, &obj, &len)) {
        return -EIO;
    }
    s = decoder(e, codec);
    return cram_page_decode(s, obj, len, dst);
}
