/*
 * cxl-cram engine: zstd codec
 *
 * Levels 1..19: negative (fast) levels and the "ultra" levels 20..22 gain
 * nothing on 4 KiB pages.  The contexts are created once per codec
 * context so the store path never allocates.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include <zstd.h>
#include "cram-codec.h"

G_STATIC_ASSERT(ZSTD_COMPRESSBOUND(CRAM_PAGE_SIZE) <= CRAM_CODEC_OUT_MAX);

typedef struct CramZstdCtx {
    int level;
    ZSTD_CCtx *cctx;
    ZSTD_DCtx *dctx;
} CramZstdCtx;

static void zstd_ctx_free(void *ctx)
{
    CramZstdCtx *c = ctx;

    if (c) {
        ZSTD_freeCCtx(c->cctx);
        ZSTD_freeDCtx(c->dctx);
        g_free(c);
    }
}

static void *zstd_ctx_new(int level)
{
    CramZstdCtx *c = g_new0(CramZstdCtx, 1);

    c->level = level;
    c->cctx = ZSTD_createCCtx();
    c->dctx = ZSTD_createDCtx();
    if (!c->cctx || !c->dctx) {
        zstd_ctx_free(c);
        return NULL;
    }
    return c;
}

static size_t zstd_compress(void *ctx, const void *src, void *dst,
                            size_t dst_cap)
{
    CramZstdCtx *c = ctx;
    size_t n;

    n = ZSTD_compressCCtx(c->cctx, dst, dst_cap, src, CRAM_PAGE_SIZE,
                          c->level);
    /* dstSize_tooSmall is the expected "doesn't fit" case. */
    return ZSTD_isError(n) ? 0 : n;
}

static int zstd_decompress(void *ctx, const void *src, size_t src_len,
                           void *dst)
{
    CramZstdCtx *c = ctx;
    size_t n;

    n = ZSTD_decompressDCtx(c->dctx, dst, CRAM_PAGE_SIZE, src, src_len);
    return !ZSTD_isError(n) && n == CRAM_PAGE_SIZE ? 0 : -EIO;
}

const CramCodecOps cram_codec_zstd_ops = {
    .name = "zstd",
    .id = CRAM_CODEC_ZSTD,
    .default_level = 1,
    .min_level = 1,
    .max_level = 19,
    .ctx_new = zstd_ctx_new,
    .ctx_free = zstd_ctx_free,
    .compress = zstd_compress,
    .decompress = zstd_decompress,
};
