/*
 * cxl-cram engine: codec table, lookup by id and name, level validation
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <string.h>
#include "cram-codec.h"
#include "cram-error.h"

static const CramCodecOps *const cram_codecs[CRAM_CODEC__MAX] = {
    [CRAM_CODEC_NONE] = &cram_codec_none_ops,
    [CRAM_CODEC_LZ4] = &cram_codec_lz4_ops,
    [CRAM_CODEC_ZSTD] = &cram_codec_zstd_ops,
};

const CramCodecOps *cram_codec_ops(CramCodecId id)
{
    if ((unsigned)id >= CRAM_CODEC__MAX) {
        return NULL;
    }
    return cram_codecs[id];
}

/* Returns NULL for an unknown id. */
const char *cram_codec_name(CramCodecId id)
{
    const CramCodecOps *ops = cram_codec_ops(id);

    return ops ? ops->name : NULL;
}

bool cram_codec_from_name(const char *name, CramCodecId *id)
{
    unsigned i;

    if (!name) {
        return false;
    }
    for (i = 0; i < CRAM_CODEC__MAX; i++) {
        if (strcmp(cram_codecs[i]->name, name) == 0) {
            *id = i;
            return true;
        }
    }
    return false;
}

bool cram_codec_check_level(CramCodecId id, int level, GError **err)
{
    const CramCodecOps *ops = cram_codec_ops(id);

    if (!ops) {
        g_set_error(err, CRAM_ERROR, 0, "unknown codec id %d", (int)id);
        return false;
    }
    if (level == 0) {
        return true;        /* 0 always means "codec default" */
    }
    if (level < ops->min_level || level > ops->max_level) {
        g_set_error(err, CRAM_ERROR, 0,
                    "compress-level %d out of range for %s (%d..%d)",
                    level, ops->name, ops->min_level, ops->max_level);
        return false;
    }
    return true;
}

int cram_codec_effective_level(const CramCodecOps *ops, int level)
{
    return level ? level : ops->default_level;
}
