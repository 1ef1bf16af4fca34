/*
 * cxl-cram engine: LZ4 codec
 *
 * The level is LZ4's "acceleration": 1 compresses best, larger values trade
 * ratio for speed.  The context is the LZ4 state buffer, so compression
 * never allocates.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include <limits.h>
#include <lz4.h>
#include "cram-codec.h"

G_STATIC_ASSERT(LZ4_COMPRESSBOUND(CRAM_PAGE_SIZE) <= CRAM_CODEC_OUT_MAX);

/* LZ4_ACCELERATION_MAX from lz4.c; lz4.h does not export it. */
#define CRAM_LZ4_ACCEL_MAX 65537

typedef struct CramLz4Ctx {
    int accel;
    void *state;            /* LZ4_sizeofState() bytes */
} CramLz4Ctx;

static void *lz4_ctx_new(int level)
{
    CramLz4Ctx *c = g_new(CramLz4Ctx, 1);

    c->accel = level;
    c->state = g_malloc(LZ4_sizeofState());
    return c;
}

static void lz4_ctx_free(void *ctx)
{
    CramLz4Ctx *c = ctx;

    if (c) {
        g_free(c->state);
        g_free(c);
    }
}

static size_t lz4_compress(void *ctx, const void *src, void *dst,
                           size_t dst_cap)
{
    CramLz4Ctx *c = ctx;
    int n;

    /*
     * Given its whole bound, LZ4 drops the output check of every sequence
     * (about a tenth of its time on 4 KiB pages); @dst has that room.
     */
    n = LZ4_compress_fast_extState(c->state, src, dst, CRAM_PAGE_SIZE,
                                   LZ4_COMPRESSBOUND(CRAM_PAGE_SIZE),
                                   c->accel);
    return n > 0 && (size_t)n <= dst_cap ? (size_t)n : 0;
}

static int lz4_decompress(void *ctx, const void *src, size_t src_len,
                          void *dst)
{
    int n;

    (void)ctx;
    if (src_len > INT_MAX) {
        return -EIO;
    }
    n = LZ4_decompress_safe(src, dst, (int)src_len, CRAM_PAGE_SIZE);
    return n == CRAM_PAGE_SIZE ? 0 : -EIO;
}

const CramCodecOps cram_codec_lz4_ops = {
    .name = "lz4",
    .id = CRAM_CODEC_LZ4,
    .default_level = 1,
    .min_level = 1,
    .max_level = CRAM_LZ4_ACCEL_MAX,
    .ctx_new = lz4_ctx_new,
    .ctx_free = lz4_ctx_free,
    .compress = lz4_compress,
    .decompress = lz4_decompress,
};
