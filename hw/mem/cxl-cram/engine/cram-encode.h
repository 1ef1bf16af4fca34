/*
 * cxl-cram engine: page classification, compression and decompression
 *
 * Encoding reads no engine state, only the caller's CramScratch, so a
 * worker thread with its own scratch can encode a page before the result
 * is committed to the page table and the media.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef CRAM_ENCODE_H
#define CRAM_ENCODE_H

#include "cram-codec.h"

/*
 * A page that compresses to more than this is stored raw: saving under
 * 256 bytes (6%) is not worth a decompression on every load.
 */
#define CRAM_RAW_THRESHOLD (CRAM_PAGE_SIZE - 256)

/* Per-thread working state: one codec context and its buffers. */
typedef struct CramScratch {
    const CramCodecOps *ops;
    void *ctx;
    uint8_t cbuf[CRAM_CODEC_OUT_MAX];   /* compressor output */
    uint8_t bounce[CRAM_PAGE_SIZE];     /* objects straddling media pages */
} CramScratch;

typedef struct CramEncoded {
    CramPageKind kind;      /* never CRAM_KIND_EMPTY */
    uint32_t size;          /* media bytes: 0 for ZERO and SAME */
    uint64_t fill;          /* the repeated word of a SAME page */
    const void *data;       /* @size bytes: the scratch cbuf or the source */
    CramCodecId codec;      /* COMPRESSED: the codec that made @data */
    bool wrapped;           /* @data is a wrapped object (cram-wrap.h) */
} CramEncoded;

/* @level is already validated; returns NULL if the codec can't allocate. */
CramScratch *cram_scratch_new(const CramCodecOps *ops, int level);
void cram_scratch_free(CramScratch *s);

/* True when @page is one 64-bit word repeated; returns it in @word. */
bool cram_page_is_filled(const void *page, uint64_t *word);
void cram_page_fill(void *dst, uint64_t word);

/* @out->data stays valid until the next use of @s or change to @src. */
void cram_page_encode(CramScratch *s, const void *src, CramEncoded *out);

/* Decompresses a COMPRESSED object; returns 0 or -EIO. */
int cram_page_decode(CramScratch *s, const void *obj, size_t len, void *dst);

#endif /* CRAM_ENCODE_H */
