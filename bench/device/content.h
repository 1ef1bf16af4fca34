/*
 * The page content that devbench writes, shared with pagecodec.c.
 *
 * Compressible: an array of pointer-like words (the page number and the
 * word's offset in fixed fields), neither zero nor one repeated word, so
 * every page is stored COMPRESSED (zstd level 1: about 470 bytes).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef DEVBENCH_CONTENT_H
#define DEVBENCH_CONTENT_H

#include <stdint.h>

#define PAGE_WORDS      512             /* 8-byte words in a 4 KiB page */

/* @word: index of the 8-byte word in the device; @salt: 0..7 */
static inline uint64_t content(uint64_t word, uint64_t salt)
{
    return 0x00007f0000000000ULL | ((word >> 9 & 0xffff) << 16) |
           (word & (PAGE_WORDS - 1)) << 3 | (salt & 7);
}

#endif
