/*
 * cxl-cram engine: wrapped objects
 *
 * A compressed object that the page table's size alone cannot describe
 * is wrapped: a 4-byte header (the codec that made it and the length of
 * its compressed data), the data, then zeros up to a multiple of
 * CRAM_META_WRAP_UNIT bytes, at least a floor the host asked for
 * (cxl-cram-store-as).  Two kinds of page need it:
 *
 * - a page padded to a floor: its object is larger than its data, and
 *   the codecs need the data's exact length to decompress;
 * - a page compressed with a codec other than the engine's own (set at
 *   run time): plain objects are decompressed with the engine's codec.
 *
 * The page table marks a wrapped object in its size field
 * (cram_meta_make_wrapped()); nothing else changes for plain objects.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef CRAM_WRAP_H
#define CRAM_WRAP_H

#include "cram-encode.h"

#define CRAM_WRAP_HDR   4

/* The largest wrapped object: a floor below a whole page */
#define CRAM_WRAP_MAX   (CRAM_PAGE_SIZE - CRAM_META_WRAP_UNIT)

/*
 * Wraps the COMPRESSED @enc into @buf (CRAM_PAGE_SIZE bytes) with at
 * least @floor bytes (0, or a multiple of CRAM_META_WRAP_UNIT of at most
 * CRAM_WRAP_MAX) and describes it in @out (@out->data is @buf).  False
 * when the wrapped data would pass CRAM_RAW_THRESHOLD: the page is then
 * stored raw, as one that does not compress.
 */
bool cram_wrap(const CramEncoded *enc, uint32_t floor, uint8_t *buf,
               CramEncoded *out);

/*
 * The codec and compressed data of the wrapped object @obj of @size
 * bytes; false when its header is corrupt.
 */
bool cram_unwrap(const void *obj, uint32_t size, CramCodecId *codec,
                 const void **data, uint32_t *len);

#endif /* CRAM_WRAP_H */
