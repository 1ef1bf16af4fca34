/*
 * cxl-cram engine: wrapped objects (cram-wrap.h)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <string.h>
#include "cram-pagetable.h"
#include "cram-wrap.h"

G_STATIC_ASSERT(CRAM_WRAP_MAX / CRAM_META_WRAP_UNIT + CRAM_PAGE_SIZE <
                CRAM_META_SIZE_MASK);

bool cram_wrap(const CramEncoded *enc, uint32_t floor, uint8_t *buf,
               CramEncoded *out)
{
    uint32_t need = (enc->size + CRAM_WRAP_HDR + CRAM_META_WRAP_UNIT - 1) /
                    CRAM_META_WRAP_UNIT * CRAM_META_WRAP_UNIT;

    g_assert(enc->kind == CRAM_KIND_COMPRESSED);
    g_assert(floor % CRAM_META_WRAP_UNIT == 0 && floor <= CRAM_WRAP_MAX);
    if (need > CRAM_RAW_THRESHOLD) {
        return false;
    }
    *out = *enc;
    out->size = MAX(need, floor);
    out->data = buf;
    out->wrapped = true;
    buf[0] = enc->codec;
    buf[1] = enc->size & 0xff;
    buf[2] = enc->size >> 8;
    buf[3] = 0;
    memcpy(buf + CRAM_WRAP_HDR, enc->data, enc->size);
    memset(buf + CRAM_WRAP_HDR + enc->size, 0,
           out->size - CRAM_WRAP_HDR - enc->size);
    return true;
}

bool cram_unwrap(const void *obj, uint32_t size, CramCodecId *codec,
                 const void **data, uint32_t *len)
{
    const uint8_t *p = obj;

    if (size < CRAM_WRAP_HDR || p[0] >= CRAM_CODEC__MAX || p[3]) {
        return false;
    }
    *codec = p[0];
    *len = p[1] | p[2] << 8;
    if (!*len || *len > size - CRAM_WRAP_HDR) {
        return false;
    }
    *data = p + CRAM_WRAP_HDR;
    return true;
}
