/*
 * cxl-cram engine tests: what they share, sizes, a new engine and
 * generators for pages of known kinds
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef TEST_PAGES_H
#define TEST_PAGES_H

#include <glib.h>
#include <string.h>
#include "cram-engine.h"

#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define TiB (1ULL << 40)

/* An engine of @capacity bytes over @media bytes; the config must be good. */
static inline CramEngine *new_engine(uint64_t capacity, uint64_t media,
                                     CramCodecId codec)
{
    CramConfig cfg = {
        .capacity = capacity,
        .media_size = media,
        .codec = codec,
    };
    GError *err = NULL;
    CramEngine *e = cram_engine_new(&cfg, &err);

    g_assert_no_error(err);
    g_assert_nonnull(e);
    return e;
}

/* Log-like text: compresses well with every real codec. */
static inline void page_text(GRand *r, uint8_t *p)
{
    static const char *const words[] = {
        "request", "status=200", "path=/api/v1/items", "user", "GET",
        "POST", "latency_ms", "cache", "hit", "miss", "region=eu-west",
        "INFO", "WARN", "session", "token", "ok",
    };
    size_t n = 0;

    while (n < CRAM_PAGE_SIZE) {
        const char *w = words[g_rand_int_range(r, 0, G_N_ELEMENTS(words))];
        size_t len = MIN(strlen(w), CRAM_PAGE_SIZE - n);

        memcpy(p + n, w, len);
        n += len;
        if (n < CRAM_PAGE_SIZE) {
            p[n++] = g_rand_int_range(r, 0, 8) ? ' ' : '\n';
        }
    }
}

static inline void page_random(GRand *r, uint8_t *p)
{
    size_t i;

    for (i = 0; i < CRAM_PAGE_SIZE; i += 4) {
        guint32 v = g_rand_int(r);

        memcpy(p + i, &v, 4);
    }
}

/*
 * @random_bytes random bytes then a constant run: the compressed size
 * grows with @random_bytes, so this reaches many size classes.
 */
static inline void page_partly_random(GRand *r, uint8_t *p,
                                      size_t random_bytes)
{
    size_t i;

    g_assert(random_bytes <= CRAM_PAGE_SIZE);
    for (i = 0; i < random_bytes; i++) {
        p[i] = g_rand_int(r);
    }
    memset(p + random_bytes, 0x5a, CRAM_PAGE_SIZE - random_bytes);
}

static inline void page_same(uint8_t *p, uint64_t word)
{
    size_t i;

    for (i = 0; i < CRAM_PAGE_SIZE; i += 8) {
        memcpy(p + i, &word, 8);
    }
}

static inline bool page_is_filled(const uint8_t *p, uint8_t byte)
{
    size_t i;

    for (i = 0; i < CRAM_PAGE_SIZE; i++) {
        if (p[i] != byte) {
            return false;
        }
    }
    return true;
}

static inline bool page_is_zero(const uint8_t *p)
{
    return page_is_filled(p, 0);
}

/* Page @p of round @round of a writer: text or random, by parity */
static inline void round_page(uint32_t seed, int p, int round, uint8_t *page)
{
    GRand *r = g_rand_new_with_seed(seed + p * 1000 + round);

    if ((p + round) % 2) {
        page_text(r, page);
    } else {
        page_random(r, page);
    }
    g_rand_free(r);
}

/*
 * A vCPU for concurrency tests: rewrites pages [0, @pages) with
 * round_page(), round after round, through @write.
 */
typedef struct RoundWriter {
    void (*write)(void *opaque, int p, const uint8_t *page);
    void *opaque;
    uint32_t seed;
    int pages, rounds;
} RoundWriter;

static inline gpointer round_writer_main(gpointer opaque)
{
    RoundWriter *w = opaque;
    uint8_t page[CRAM_PAGE_SIZE];
    int round, p;

    for (round = 0; round < w->rounds; round++) {
        for (p = 0; p < w->pages; p++) {
            round_page(w->seed, p, round, page);
            w->write(w->opaque, p, page);
        }
    }
    return NULL;
}

#endif /* TEST_PAGES_H */
