/*
 * cxl-cram engine: "none" codec, every non-zero page is stored raw
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include "cram-codec.h"

/* No state, but ctx_new must return non-NULL to signal success. */
static char none_ctx;

static void *none_ctx_new(int level)
{
    (void)level;
    return &none_ctx;
}

static void none_ctx_free(void *ctx)
{
    (void)ctx;
}

static size_t none_compress(void *ctx, const void *src, void *dst,
                            size_t dst_cap)
{
    (void)ctx;
    (void)src;
    (void)dst;
    (void)dst_cap;
    return 0;               /* "doesn't fit": the caller stores it raw */
}

static int none_decompress(void *ctx, const void *src, size_t src_len,
                           void *dst)
{
    (void)ctx;
    (void)src;
    (void)src_len;
    (void)dst;
    return -EIO;            /* never produced a compressed object */
}

const CramCodecOps cram_codec_none_ops = {
    .name = "none",
    .id = CRAM_CODEC_NONE,
    .default_level = 0,
    .min_level = 0,
    .max_level = 0,
    .ctx_new = none_ctx_new,
    .ctx_free = none_ctx_free,
    .compress = none_compress,
    .decompress = none_decompress,
};
