/*
 * cxl-cram engine: page classification, compression and decompression
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <string.h>
#include "cram-encode.h"

CramScratch *cram_scratch_new(const CramCodecOps *ops, int level)
{
    CramScratch *s = g_new(CramScratch, 1);

    s->ops = ops;
    s->ctx = ops->ctx_new(cram_codec_effective_level(ops, level));
    if (!s->ctx) {
        g_free(s);
        return NULL;
    }
    return s;
}

void cram_scratch_free(CramScratch *s)
{
    if (s) {
        s->ops->ctx_free(s->ctx);
        g_free(s);
    }
}

/* memcpy keeps unaligned sources legal; it compiles to a plain load. */
static inline uint64_t load64(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, sizeof(v));
    return v;
}

bool cram_page_is_filled(const void *page, uint64_t *word)
{
    const uint8_t *p = page;
    uint64_t w = load64(p);
    size_t i;

    /* Most data pages differ early: test 32 bytes per step, exit at once. */
    for (i = 0; i < CRAM_PAGE_SIZE; i += 32) {
        uint64_t diff = (load64(p + i) ^ w) | (load64(p + i + 8) ^ w) |
                        (load64(p + i + 16) ^ w) | (load64(p + i + 24) ^ w);
        if (diff) {
            return false;
        }
    }
    *word = w;
    return true;
}

void cram_page_fill(void *dst, uint64_t word)
{
    uint8_t *d = dst;
    size_t i;

    if (word == 0) {
        memset(dst, 0, CRAM_PAGE_SIZE);
        return;
    }
    for (i = 0; i < CRAM_PAGE_SIZE; i += sizeof(word)) {
        memcpy(d + i, &word, sizeof(word));
    }
}

void cram_page_encode(CramScratch *s, const void *src, CramEncoded *out)
{
    uint64_t w;
    size_t n;

    if (cram_page_is_filled(src, &w)) {
        out->kind = w ? CRAM_KIND_SAME : CRAM_KIND_ZERO;
        out->size = 0;
        out->fill = w;
        out->data = NULL;
        out->codec = s->ops->id;
        out->wrapped = false;
        return;
    }

    /* Capping the output lets the codec give up early on random data. */
    n = s->ops->compress(s->ctx, src, s->cbuf, CRAM_RAW_THRESHOLD);
    out->fill = 0;
    out->codec = s->ops->id;
    out->wrapped = false;
    if (n == 0 || n > CRAM_RAW_THRESHOLD) {
        out->kind = CRAM_KIND_RAW;
        out->size = CRAM_PAGE_SIZE;
        out->data = src;
    } else {
        out->kind = CRAM_KIND_COMPRESSED;
        out->size = n;
        out->data = s->cbuf;
    }
}

int cram_page_decode(CramScratch *s, const void *obj, size_t len, void *dst)
{
    return s->ops->decompress(s->ctx, obj, len, dst);
}
