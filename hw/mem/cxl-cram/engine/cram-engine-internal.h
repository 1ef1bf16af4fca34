/*
 * cxl-cram engine: interface between the engine and its page cache
 *
 * The cache's worker thread encodes pages with its own scratch, outside
 * the engine lock, then commits them under the lock.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef CRAM_ENGINE_INTERNAL_H
#define CRAM_ENGINE_INTERNAL_H

#include "cram-engine.h"
#include "cram-encode.h"

/* A scratch for another thread, with the engine's codec and level. */
CramScratch *cram_engine_scratch_new(CramEngine *e);

void cram_engine_store_reserved(CramEngine *e, uint64_t page_index,
                                const void *src, const CramEncoded *enc);

#endif /* CRAM_ENGINE_INTERNAL_H */
