/*
 * cxl-cram engine: compression backend interface
 *
 * One ops table per codec (cram-codec-<name>.c), in the style of Linux
 * zram's backend_*.c.  A codec context holds everything a thread needs to
 * compress and decompress, so each worker thread can own one.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef CRAM_CODEC_H
#define CRAM_CODEC_H

#include <stddef.h>
#include "cram-types.h"

typedef struct CramCodecOps {
    const char *name;
    CramCodecId id;
    int default_level, min_level, max_level;
    /* Returns NULL only when the codec library cannot allocate. */
    void *(*ctx_new)(int level);
    void (*ctx_free)(void *ctx);
    /*
     * Compresses one CRAM_PAGE_SIZE page; returns the compressed size, or 0
     * when the result doesn't fit in dst_cap.  @dst has room for
     * CRAM_CODEC_OUT_MAX bytes whatever @dst_cap, so a codec may write
     * past dst_cap when that is faster (lz4 without output checks); only
     * a result that fits counts.
     */
    size_t (*compress)(void *ctx, const void *src, void *dst, size_t dst_cap);
    /* dst is CRAM_PAGE_SIZE; returns 0, or -EIO on corrupt input. */
    int (*decompress)(void *ctx, const void *src, size_t src_len, void *dst);
} CramCodecOps;

/* Room for any codec's output of one page: at least each one's bound. */
#define CRAM_CODEC_OUT_MAX  (CRAM_PAGE_SIZE + 256)

extern const CramCodecOps cram_codec_none_ops;
extern const CramCodecOps cram_codec_lz4_ops;
extern const CramCodecOps cram_codec_zstd_ops;

/* Returns NULL for an unknown id. */
const CramCodecOps *cram_codec_ops(CramCodecId id);

/* Maps level 0 to the codec default; @level must have passed the check. */
int cram_codec_effective_level(const CramCodecOps *ops, int level);

const char *cram_codec_name(CramCodecId id);
/* Returns false when @name is not a known codec. */
bool cram_codec_from_name(const char *name, CramCodecId *id);
/* Validates @level for @id; fills @err when out of range. */
bool cram_codec_check_level(CramCodecId id, int level, GError **err);

#endif /* CRAM_CODEC_H */
