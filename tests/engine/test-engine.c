/*
 * cxl-cram engine tests: the public page store interface
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include <string.h>
#include <sys/resource.h>
#include "cram-engine.h"
#include "cram-engine-internal.h"
#include "test-pages.h"

static CramStats get_stats(CramEngine *e)
{
    CramStats st;

    cram_engine_get_stats(e, &st);
    g_assert_cmpuint(st.media_used + st.media_free, ==, st.media_size);
    g_assert_cmpuint(st.media_used, <=, st.media_size);
    return st;
}

static void check_page(CramEngine *e, uint64_t idx, const uint8_t *want)
{
    uint8_t got[CRAM_PAGE_SIZE];

    memset(got, 0xa5, sizeof(got));
    cram_engine_load(e, idx, got);
    if (memcmp(got, want, CRAM_PAGE_SIZE) != 0) {
        g_error("page %" G_GUINT64_FORMAT " reads back wrong", idx);
    }
}

static void check_zero(CramEngine *e, uint64_t idx)
{
    uint8_t got[CRAM_PAGE_SIZE];

    memset(got, 0xa5, sizeof(got));
    cram_engine_load(e, idx, got);
    g_assert_true(page_is_zero(got));
}

/* Pages 0..@n-1 read back as the @n pages at @pages. */
static void check_pages(CramEngine *e, const uint8_t *pages, unsigned n)
{
    unsigned i;

    for (i = 0; i < n; i++) {
        check_page(e, i, pages + (size_t)i * CRAM_PAGE_SIZE);
    }
}

/*
 * Stores @n pages made by @gen (from @seed) at 0..@n-1, each of which
 * must be held as @kind; returns them, for check_pages().
 */
static uint8_t *store_pages(CramEngine *e, uint32_t seed, unsigned n,
                            void (*gen)(GRand *, uint8_t *),
                            CramPageKind kind)
{
    GRand *r = g_rand_new_with_seed(seed);
    uint8_t *pages = g_malloc((size_t)n * CRAM_PAGE_SIZE);
    unsigned i;

    for (i = 0; i < n; i++) {
        uint8_t *p = pages + (size_t)i * CRAM_PAGE_SIZE;

        gen(r, p);
        g_assert_cmpint(cram_engine_store(e, i, p), ==, 0);
        g_assert_cmpint(cram_engine_page_kind(e, i), ==, kind);
    }
    g_rand_free(r);
    return pages;
}

static void test_config_errors(void)
{
    static const struct {
        CramConfig cfg;
        const char *msg;
    } cases[] = {
        { { 0, 4 * KiB, CRAM_CODEC_LZ4, 0 }, "capacity must not be 0" },
        { { 12289, 4 * KiB, CRAM_CODEC_LZ4, 0 },
          "capacity 12289 is not a multiple of 4096" },
        { { TiB + 4 * KiB, 4 * KiB, CRAM_CODEC_LZ4, 0 },
          "capacity 1099511631872 is above the maximum 1099511627776" },
        { { MiB, 0, CRAM_CODEC_LZ4, 0 }, "media-size must not be 0" },
        { { MiB, 5000, CRAM_CODEC_LZ4, 0 },
          "media-size 5000 is not a multiple of 4096" },
        { { MiB, 2 * MiB, CRAM_CODEC_LZ4, 0 },
          "media-size 2097152 is larger than capacity 1048576" },
        { { MiB, MiB, (CramCodecId)7, 0 }, "unknown codec id 7" },
        { { MiB, MiB, CRAM_CODEC_ZSTD, 30 },
          "compress-level 30 out of range for zstd (1..19)" },
        { { MiB, MiB, CRAM_CODEC_LZ4, -5 },
          "compress-level -5 out of range for lz4 (1..65537)" },
        { { MiB, MiB, CRAM_CODEC_NONE, 3 },
          "compress-level 3 out of range for none (0..0)" },
    };
    unsigned i;

    for (i = 0; i < G_N_ELEMENTS(cases); i++) {
        GError *err = NULL;
        CramEngine *e = cram_engine_new(&cases[i].cfg, &err);

        g_assert_null(e);
        g_assert_nonnull(err);
        if (!strstr(err->message, cases[i].msg)) {
            g_error("case %u: message '%s' lacks '%s'", i, err->message,
                    cases[i].msg);
        }
        g_assert_true(strstr(err->message, cases[i].msg) != NULL);
        g_error_free(err);
    }

    /* The limits themselves are accepted. */
    cram_engine_free(new_engine(4 * KiB, 4 * KiB, CRAM_CODEC_NONE));
    cram_engine_free(new_engine(TiB, 4 * KiB, CRAM_CODEC_ZSTD));
}

/* With a small address-space limit the media can't be mapped. */
static void test_mmap_failure(void)
{
    CramConfig cfg = { TiB, 64 * GiB, CRAM_CODEC_LZ4, 0 };
    struct rlimit old, lim;
    GError *err = NULL;
    CramEngine *e;

    g_assert_cmpint(getrlimit(RLIMIT_AS, &old), ==, 0);
    lim = old;
    lim.rlim_cur = 16 * GiB;
    g_assert_cmpint(setrlimit(RLIMIT_AS, &lim), ==, 0);
    e = cram_engine_new(&cfg, &err);
    g_assert_cmpint(setrlimit(RLIMIT_AS, &old), ==, 0);

    g_assert_null(e);
    g_assert_nonnull(err);
    g_assert_true(strstr(err->message,
                         "cannot map 68719476736 bytes of media: ") != NULL);
    g_error_free(err);
}

static void test_zero_page(void)
{
    CramEngine *e = new_engine(MiB, 64 * KiB, CRAM_CODEC_LZ4);
    GRand *r = g_rand_new_with_seed(1);
    uint8_t page[CRAM_PAGE_SIZE];
    CramStats st;

    memset(page, 0, sizeof(page));
    g_assert_cmpint(cram_engine_store(e, 5, page), ==, 0);
    g_assert_cmpint(cram_engine_page_kind(e, 5), ==, CRAM_KIND_ZERO);
    check_zero(e, 5);
    st = get_stats(e);
    g_assert_cmpuint(st.pages[CRAM_KIND_ZERO], ==, 1);
    g_assert_cmpuint(st.media_used, ==, 0);
    g_assert_cmpuint(st.logical_bytes, ==, 0);
    g_assert_cmpuint(st.stored_bytes, ==, 0);
    g_assert_cmpuint(st.stores, ==, 1);
    g_assert_cmpuint(cram_ratio_fp16(&st), ==, UINT32_MAX);

    /* Zeroing a compressed page gives its media back. */
    page_text(r, page);
    g_assert_cmpint(cram_engine_store(e, 6, page), ==, 0);
    g_assert_cmpint(cram_engine_page_kind(e, 6), ==, CRAM_KIND_COMPRESSED);
    st = get_stats(e);
    g_assert_cmpuint(st.media_used, >, 0);
    g_assert_cmpuint(st.logical_bytes, ==, CRAM_PAGE_SIZE);
    memset(page, 0, sizeof(page));
    g_assert_cmpint(cram_engine_store(e, 6, page), ==, 0);
    st = get_stats(e);
    g_assert_cmpuint(st.media_used, ==, 0);
    g_assert_cmpuint(st.stored_bytes, ==, 0);
    g_assert_cmpuint(st.pages[CRAM_KIND_ZERO], ==, 2);
    g_assert_cmpuint(st.pages[CRAM_KIND_COMPRESSED], ==, 0);
    check_zero(e, 6);

    g_rand_free(r);
    cram_engine_free(e);
}

static void test_same_page(void)
{
    CramEngine *e = new_engine(MiB, 64 * KiB, CRAM_CODEC_LZ4);
    uint8_t page[CRAM_PAGE_SIZE];
    CramStats st;

    page_same(page, 0xdeadbeefcafef00dULL);
    g_assert_cmpint(cram_engine_store(e, 0, page), ==, 0);
    memset(page, 0x01, sizeof(page));
    g_assert_cmpint(cram_engine_store(e, 1, page), ==, 0);
    g_assert_cmpint(cram_engine_page_kind(e, 0), ==, CRAM_KIND_SAME);
    g_assert_cmpint(cram_engine_page_kind(e, 1), ==, CRAM_KIND_SAME);

    check_page(e, 1, page);
    page_same(page, 0xdeadbeefcafef00dULL);
    check_page(e, 0, page);

    st = get_stats(e);
    g_assert_cmpuint(st.pages[CRAM_KIND_SAME], ==, 2);
    g_assert_cmpuint(st.media_used, ==, 0);
    g_assert_cmpuint(st.stored_bytes, ==, 0);
    g_assert_cmpuint(st.logical_bytes, ==, 2 * CRAM_PAGE_SIZE);
    g_assert_cmpuint(cram_ratio_fp16(&st), ==, UINT32_MAX);

    /* Almost the same is not the same. */
    page[CRAM_PAGE_SIZE - 1] ^= 0xff;
    g_assert_cmpint(cram_engine_store(e, 2, page), ==, 0);
    g_assert_cmpint(cram_engine_page_kind(e, 2), ==, CRAM_KIND_COMPRESSED);
    check_page(e, 2, page);
    cram_engine_free(e);
}

static void test_text_ratio(gconstpointer data)
{
    CramCodecId codec = GPOINTER_TO_INT(data);
    enum { N = 1024 };
    CramEngine *e = new_engine(64 * MiB, 16 * MiB, codec);
    uint8_t *pages = store_pages(e, 2, N, page_text, CRAM_KIND_COMPRESSED);
    CramStats st = get_stats(e);

    g_assert_cmpuint(st.pages[CRAM_KIND_COMPRESSED], ==, N);
    g_assert_cmpuint(st.logical_bytes, ==, (uint64_t)N * CRAM_PAGE_SIZE);
    g_assert_cmpuint(st.stored_bytes, <, st.media_used);
    g_assert_cmpuint(cram_ratio_fp16(&st), >, 2u << 16);
    if (g_test_verbose()) {
        g_test_message("%s: ratio %.2f, stored %" G_GUINT64_FORMAT
                       " used %" G_GUINT64_FORMAT, cram_codec_name(codec),
                       cram_ratio_fp16(&st) / 65536.0, st.stored_bytes,
                       st.media_used);
    }
    check_pages(e, pages, N);
    g_free(pages);
    cram_engine_free(e);
}

static void test_random_raw(void)
{
    enum { N = 256 };
    CramEngine *e = new_engine(4 * MiB, 2 * MiB, CRAM_CODEC_ZSTD);
    uint8_t *pages = store_pages(e, 3, N, page_random, CRAM_KIND_RAW);
    CramStats st = get_stats(e);
    uint32_t ratio;

    g_assert_cmpuint(st.pages[CRAM_KIND_RAW], ==, N);
    g_assert_cmpuint(st.stored_bytes, ==, (uint64_t)N * CRAM_PAGE_SIZE);
    g_assert_cmpuint(st.media_used, ==, (uint64_t)N * CRAM_PAGE_SIZE);
    ratio = cram_ratio_fp16(&st);
    g_assert_cmpuint(ratio, >=, 65536u * 9 / 10);
    g_assert_cmpuint(ratio, <=, 65536u);
    check_pages(e, pages, N);
    g_free(pages);
    cram_engine_free(e);
}

/* Any kind of page; partly random ones land in many size classes. */
static void random_kind_page(GRand *r, uint8_t *p)
{
    switch (g_rand_int_range(r, 0, 6)) {
    case 0:
        memset(p, 0, CRAM_PAGE_SIZE);
        break;
    case 1:
        page_same(p, g_rand_int(r) | 1);
        break;
    case 2:
        page_text(r, p);
        break;
    case 3:
        page_random(r, p);
        break;
    default:
        page_partly_random(r, p, g_rand_int_range(r, 1, CRAM_PAGE_SIZE));
        break;
    }
}

static void test_rewrite_no_leak(void)
{
    enum { N = 256, ITER = 20000 };
    CramEngine *e = new_engine(8 * MiB, 4 * MiB, CRAM_CODEC_LZ4);
    GRand *r = g_rand_new_with_seed(4);
    uint8_t *shadow = g_malloc0((size_t)N * CRAM_PAGE_SIZE);
    bool *held = g_new0(bool, N);
    uint64_t meta0 = cram_engine_metadata_bytes(e);
    CramStats st;
    unsigned i, it, nheld;

    for (it = 0; it < ITER; it++) {
        unsigned idx = g_rand_int_range(r, 0, N);
        uint8_t *p = shadow + (size_t)idx * CRAM_PAGE_SIZE;

        if (g_rand_int_range(r, 0, 10) == 0) {
            cram_engine_discard(e, idx);
            memset(p, 0, CRAM_PAGE_SIZE);
            held[idx] = false;
            g_assert_cmpint(cram_engine_page_kind(e, idx), ==,
                            CRAM_KIND_EMPTY);
        } else {
            random_kind_page(r, p);
            g_assert_cmpint(cram_engine_store(e, idx, p), ==, 0);
            held[idx] = true;
        }
        if (it % 1000 == 999) {
            for (i = 0, nheld = 0; i < N; i++) {
                check_page(e, i, shadow + (size_t)i * CRAM_PAGE_SIZE);
                nheld += held[i];
            }
            st = get_stats(e);
            g_assert_cmpuint(st.pages[CRAM_KIND_ZERO] +
                             st.pages[CRAM_KIND_SAME] +
                             st.pages[CRAM_KIND_COMPRESSED] +
                             st.pages[CRAM_KIND_RAW], ==, nheld);
            g_assert_cmpuint(st.stored_bytes, <=, st.media_used);
        }
    }

    for (i = 0; i < N; i++) {
        cram_engine_discard(e, i);
        check_zero(e, i);
    }
    st = get_stats(e);
    g_assert_cmpuint(st.media_used, ==, 0);
    g_assert_cmpuint(st.stored_bytes, ==, 0);
    g_assert_cmpuint(st.logical_bytes, ==, 0);
    for (i = 0; i < CRAM_KIND__MAX; i++) {
        g_assert_cmpuint(st.pages[i], ==, 0);
    }
    g_assert_cmpuint(st.failed_stores, ==, 0);
    /* Only the allocator's span array may stay grown. */
    g_assert_cmpuint(cram_engine_metadata_bytes(e), <=, meta0 + 64 * KiB);

    g_free(held);
    g_free(shadow);
    g_rand_free(r);
    cram_engine_free(e);
}

static bool stats_equal_but_failed(const CramStats *a, const CramStats *b)
{
    CramStats x = *a, y = *b;

    x.failed_stores = y.failed_stores = 0;
    return memcmp(&x, &y, sizeof(x)) == 0;
}

/*
 * Media the host takes away counts as used, holds nothing, and no store
 * or reservation gets it; only free media can be taken; given back, it
 * stores again.  The ratio is the data's own.
 */
static void test_take_media(void)
{
    enum { MEDIA_PAGES = 64 };
    CramEngine *e = new_engine(1024 * CRAM_PAGE_SIZE,
                               MEDIA_PAGES * CRAM_PAGE_SIZE, CRAM_CODEC_LZ4);
    GRand *r = g_rand_new_with_seed(9);
    uint8_t page[CRAM_PAGE_SIZE], back[CRAM_PAGE_SIZE];
    uint32_t ratio;
    CramStats st;
    int i;

    for (i = 0; i < 8; i++) {
        page_random(r, page);
        g_assert_cmpint(cram_engine_store(e, i, page), ==, 0);
    }
    st = get_stats(e);
    ratio = cram_ratio_fp16(&st);
    g_assert_true(cram_engine_take_media(e, 50));
    st = get_stats(e);
    g_assert_cmpuint(st.media_taken, ==, 50 * CRAM_PAGE_SIZE);
    g_assert_cmpuint(st.media_used, ==, 58 * CRAM_PAGE_SIZE);
    g_assert_cmpuint(st.media_free, ==, 6 * CRAM_PAGE_SIZE);
    g_assert_cmpuint(cram_ratio_fp16(&st), ==, ratio);
    /* 6 pages free: a reservation and 5 stores fit, the 6th does not */
    g_assert_true(cram_engine_reserve(e));
    for (i = 8; i < 13; i++) {
        page_random(r, page);
        g_assert_cmpint(cram_engine_store(e, i, page), ==, 0);
    }
    page_random(r, page);
    g_assert_cmpint(cram_engine_store(e, 13, page), ==, -ENOSPC);
    g_assert_false(cram_engine_reserve(e));
    /* more than is free: refused, nothing changes */
    g_assert_false(cram_engine_take_media(e, 51));
    st = get_stats(e);
    g_assert_cmpuint(st.media_taken, ==, 50 * CRAM_PAGE_SIZE);
    g_assert_cmpuint(st.media_free, ==, 0);
    cram_engine_unreserve(e);
    g_assert_true(cram_engine_take_media(e, 51));
    /* given back: the refused store fits */
    g_assert_true(cram_engine_take_media(e, 0));
    st = get_stats(e);
    g_assert_cmpuint(st.media_taken, ==, 0);
    g_assert_cmpuint(st.media_used, ==, 13 * CRAM_PAGE_SIZE);
    g_assert_cmpint(cram_engine_store(e, 13, page), ==, 0);
    g_assert_true(cram_engine_load(e, 13, back));
    g_assert_cmpmem(back, CRAM_PAGE_SIZE, page, CRAM_PAGE_SIZE);
    /* discarding everything (Sanitize) leaves the host's hold */
    g_assert_true(cram_engine_take_media(e, 10));
    cram_engine_discard_all(e);
    st = get_stats(e);
    g_assert_cmpuint(st.media_taken, ==, 10 * CRAM_PAGE_SIZE);
    g_assert_cmpuint(st.media_used, ==, 10 * CRAM_PAGE_SIZE);
    cram_engine_free(e);
    g_rand_free(r);
}

/*
 * The census counts each bucket's pages by kind, poison and media bytes,
 * matching what was stored; a short last bucket stops at the capacity.
 */
static void test_census(void)
{
    CramEngine *e = new_engine(100 * CRAM_PAGE_SIZE, 64 * CRAM_PAGE_SIZE,
                               CRAM_CODEC_LZ4);
    GRand *r = g_rand_new_with_seed(12);
    uint8_t page[CRAM_PAGE_SIZE];
    CramCensus c[4];
    CramStats st;
    int i;

    memset(page, 0, sizeof(page));
    g_assert_cmpint(cram_engine_store(e, 1, page), ==, 0);      /* zero */
    page_same(page, 0x0101010101010101ULL);
    g_assert_cmpint(cram_engine_store(e, 2, page), ==, 0);      /* same */
    for (i = 40; i < 45; i++) {
        page_text(r, page);
        g_assert_cmpint(cram_engine_store(e, i, page), ==, 0);
    }
    page_random(r, page);
    g_assert_cmpint(cram_engine_store(e, 99, page), ==, 0);     /* raw */
    cram_engine_poison(e, 43);

    cram_engine_census(e, 0, 100, 30, c);
    g_assert_cmpuint(c[0].pages[CRAM_KIND_ZERO], ==, 1);
    g_assert_cmpuint(c[0].pages[CRAM_KIND_SAME], ==, 1);
    g_assert_cmpuint(c[0].pages[CRAM_KIND_EMPTY], ==, 28);
    g_assert_cmpuint(c[0].stored_bytes, ==, 0);
    /* page 43's object went with its poison: it is empty and poisoned */
    g_assert_cmpuint(c[1].pages[CRAM_KIND_COMPRESSED] +
                     c[1].pages[CRAM_KIND_RAW], ==, 4);
    g_assert_cmpuint(c[1].pages[CRAM_KIND_EMPTY], ==, 26);
    g_assert_cmpuint(c[1].poisoned, ==, 1);
    g_assert_cmpuint(c[2].pages[CRAM_KIND_EMPTY], ==, 30);
    g_assert_cmpuint(c[3].pages[CRAM_KIND_EMPTY], ==, 9);  /* pages 90-99 */
    g_assert_cmpuint(c[3].pages[CRAM_KIND_RAW], ==, 1);
    g_assert_cmpuint(c[3].stored_bytes, ==, CRAM_PAGE_SIZE);
    st = get_stats(e);
    g_assert_cmpuint(c[0].stored_bytes + c[1].stored_bytes +
                     c[2].stored_bytes + c[3].stored_bytes, ==,
                     st.stored_bytes);
    /* a window inside: pages 42 and 43 only */
    cram_engine_census(e, 42, 44, 2, c);
    g_assert_cmpuint(c[0].pages[CRAM_KIND_EMPTY], ==, 1);
    g_assert_cmpuint(c[0].poisoned, ==, 1);
    cram_engine_free(e);
    g_rand_free(r);
}

static void test_media_full(void)
{
    enum { N = 1024, MEDIA_PAGES = 64 };
    CramEngine *e = new_engine(N * CRAM_PAGE_SIZE,
                               MEDIA_PAGES * CRAM_PAGE_SIZE, CRAM_CODEC_LZ4);
    GRand *r = g_rand_new_with_seed(5);
    uint8_t *shadow = g_malloc0((size_t)N * CRAM_PAGE_SIZE);
    uint8_t page[CRAM_PAGE_SIZE];
    unsigned idx = 0, ok = 0, failed = 0, i;
    int text_idx = -1, raw_idx = -1, raw_idx2 = -1;
    CramStats st, before;

    /* Fill with mixed pages until 100 stores have been refused. */
    for (idx = 0; failed < 100; idx++) {
        uint8_t *p = shadow + (size_t)idx * CRAM_PAGE_SIZE;
        int ret;

        g_assert_cmpuint(idx, <, N);
        random_kind_page(r, page);
        ret = cram_engine_store(e, idx, page);
        if (ret == 0) {
            memcpy(p, page, CRAM_PAGE_SIZE);
            ok++;
        } else {
            g_assert_cmpint(ret, ==, -ENOSPC);
            g_assert_cmpint(cram_engine_page_kind(e, idx), ==,
                            CRAM_KIND_EMPTY);
            failed++;
        }
        st = get_stats(e);
        g_assert_cmpuint(st.failed_stores, ==, failed);
        g_assert_cmpuint(st.stores, ==, ok);
    }
    /* Top up with raw pages: afterwards not one media page is free. */
    for (; idx < N; idx++) {
        page_random(r, page);
        if (cram_engine_store(e, idx, page) != 0) {
            failed++;
            break;
        }
        memcpy(shadow + (size_t)idx * CRAM_PAGE_SIZE, page, CRAM_PAGE_SIZE);
    }
    st = get_stats(e);
    g_assert_cmpuint(st.failed_stores, ==, failed);
    g_assert_cmpuint(st.media_used, ==, st.media_size);
    g_assert_cmpuint(st.media_free, ==, 0);
    for (i = 0; i < N; i++) {
        check_page(e, i, shadow + (size_t)i * CRAM_PAGE_SIZE);
        if (cram_engine_page_kind(e, i) == CRAM_KIND_COMPRESSED &&
            text_idx < 0) {
            text_idx = i;
        }
        if (cram_engine_page_kind(e, i) == CRAM_KIND_RAW) {
            raw_idx2 = raw_idx;
            raw_idx = i;
        }
    }
    g_assert_cmpint(text_idx, >=, 0);
    g_assert_cmpint(raw_idx2, >=, 0);

    /* Compressed -> raw needs a new slot: refused, old content kept. */
    before = get_stats(e);
    page_random(r, page);
    g_assert_cmpint(cram_engine_store(e, text_idx, page), ==, -ENOSPC);
    st = get_stats(e);
    g_assert_cmpuint(st.failed_stores, ==, before.failed_stores + 1);
    g_assert_true(stats_equal_but_failed(&st, &before));
    g_assert_cmpint(cram_engine_page_kind(e, text_idx), ==,
                    CRAM_KIND_COMPRESSED);
    check_page(e, text_idx, shadow + (size_t)text_idx * CRAM_PAGE_SIZE);

    /* Raw -> raw reuses the slot, so it succeeds on full media. */
    page_random(r, page);
    g_assert_cmpint(cram_engine_store(e, raw_idx, page), ==, 0);
    memcpy(shadow + (size_t)raw_idx * CRAM_PAGE_SIZE, page, CRAM_PAGE_SIZE);
    check_page(e, raw_idx, page);

    /* Zeroing a raw page frees one media page for the refused store. */
    memset(page, 0, sizeof(page));
    g_assert_cmpint(cram_engine_store(e, raw_idx2, page), ==, 0);
    memset(shadow + (size_t)raw_idx2 * CRAM_PAGE_SIZE, 0, CRAM_PAGE_SIZE);
    page_random(r, page);
    g_assert_cmpint(cram_engine_store(e, text_idx, page), ==, 0);
    memcpy(shadow + (size_t)text_idx * CRAM_PAGE_SIZE, page, CRAM_PAGE_SIZE);

    check_pages(e, shadow, N);
    g_free(shadow);
    g_rand_free(r);
    cram_engine_free(e);
}

static void test_sparse_1tib(void)
{
    enum { N = 1000 };
    CramEngine *e = new_engine(TiB, GiB, CRAM_CODEC_LZ4);
    const uint64_t npages = TiB / CRAM_PAGE_SIZE;
    const uint64_t stride = npages / N;
    GRand *r = g_rand_new_with_seed(6);
    uint8_t *pages = g_malloc((size_t)N * CRAM_PAGE_SIZE);
    uint64_t meta0 = cram_engine_metadata_bytes(e);
    uint64_t meta1;
    unsigned i;

    /* Root array and media bitmaps only. */
    g_assert_cmpuint(meta0, <, 256 * KiB);

    /* Spread so every page needs its own mid node and leaf: worst case. */
    for (i = 0; i < N; i++) {
        page_text(r, pages + (size_t)i * CRAM_PAGE_SIZE);
        g_assert_cmpint(cram_engine_store(e, i * stride + i % 7,
                                          pages + (size_t)i * CRAM_PAGE_SIZE),
                        ==, 0);
    }
    meta1 = cram_engine_metadata_bytes(e);
    g_assert_cmpuint(meta1, >, meta0);
    g_assert_cmpuint(meta1, <, 16 * MiB);
    for (i = 0; i < N; i++) {
        check_page(e, i * stride + i % 7, pages + (size_t)i * CRAM_PAGE_SIZE);
    }

    /* Untouched pages between them are still empty and read zero. */
    g_assert_cmpint(cram_engine_page_kind(e, stride + 100), ==,
                    CRAM_KIND_EMPTY);
    check_zero(e, stride + 100);

    for (i = 0; i < N; i++) {
        cram_engine_discard(e, i * stride + i % 7);
    }
    g_assert_cmpuint(cram_engine_metadata_bytes(e), <=, meta0 + 64 * KiB);
    g_free(pages);
    g_rand_free(r);
    cram_engine_free(e);
}

static void last_page(uint64_t capacity)
{
    CramEngine *e = new_engine(capacity, 4 * CRAM_PAGE_SIZE,
                               CRAM_CODEC_ZSTD);
    uint64_t last = capacity / CRAM_PAGE_SIZE - 1;
    GRand *r = g_rand_new_with_seed(8);
    uint8_t page[CRAM_PAGE_SIZE];
    CramStats st;

    page_text(r, page);
    g_assert_cmpint(cram_engine_page_kind(e, last), ==, CRAM_KIND_EMPTY);
    check_zero(e, last);
    g_assert_cmpint(cram_engine_store(e, last, page), ==, 0);
    g_assert_cmpint(cram_engine_page_kind(e, last), ==,
                    CRAM_KIND_COMPRESSED);
    check_page(e, last, page);
    cram_engine_discard(e, last);
    check_zero(e, last);
    st = get_stats(e);
    g_assert_cmpuint(st.media_used, ==, 0);
    g_assert_cmpuint(st.discards, ==, 1);
    g_rand_free(r);
    cram_engine_free(e);
}

/*
 * The metadata goal (docs/metadata.md): the engine's metadata grows by
 * at most 16 bytes a touched page, page table and allocator together,
 * with real compressed pages of many sizes spread over 1 TiB; and it
 * falls back to the untouched engine's when they are discarded.
 */
static void meta_per_page(CramCodecId codec, unsigned pattern)
{
    enum { N = 30000 };
    const uint64_t mask = TiB / CRAM_PAGE_SIZE - 1;
    CramEngine *e = new_engine(TiB, GiB, codec);
    GRand *r = g_rand_new_with_seed(9 + pattern);
    uint8_t *page = g_malloc(CRAM_PAGE_SIZE);
    uint64_t meta0 = cram_engine_metadata_bytes(e);
    double per_page;
    uint64_t k;

    for (k = 0; k < N; k++) {
        /* The bound holds from the first thousand pages on, not just N. */
        if (k == 1000 || k == 10000) {
            per_page = (double)(cram_engine_metadata_bytes(e) - meta0) / k;
            g_assert_cmpfloat(per_page, <=, 16.0);
        }
        uint64_t idx = pattern == 0 ? (k * 0x9e3779b97f4a7c15ULL) & mask :
                       pattern == 1 ? (k * 4099) & mask : 2 * k;

        switch (k % 4) {
        case 0:
            page_text(r, page);
            break;
        case 1:
            page_random(r, page);
            break;
        default:
            /* Compressed sizes all over the classes. */
            page_partly_random(r, page, g_rand_int_range(r, 0, 3600));
            break;
        }
        g_assert_cmpint(cram_engine_store(e, idx, page), ==, 0);
    }
    per_page = (double)(cram_engine_metadata_bytes(e) - meta0) / N;
    if (g_test_verbose()) {
        g_printerr("%s pattern %u: %.2f B/page\n", cram_codec_name(codec),
                   pattern, per_page);
    }
    g_assert_cmpfloat(per_page, <=, 16.0);
    for (k = 0; k < N; k++) {
        cram_engine_discard(e, pattern == 0 ?
                            (k * 0x9e3779b97f4a7c15ULL) & mask :
                            pattern == 1 ? (k * 4099) & mask : 2 * k);
    }
    g_assert_cmpuint(cram_engine_metadata_bytes(e), ==, meta0);
    g_free(page);
    g_rand_free(r);
    cram_engine_free(e);
}

static void test_meta_per_page(void)
{
    static const CramCodecId codecs[] = { CRAM_CODEC_LZ4, CRAM_CODEC_ZSTD };
    unsigned ci, pattern;

    for (ci = 0; ci < G_N_ELEMENTS(codecs); ci++) {
        for (pattern = 0; pattern < 3; pattern++) {
            meta_per_page(codecs[ci], pattern);
        }
    }
}

static void test_last_page(void)
{
    last_page(TiB);
    last_page(GiB + CRAM_PAGE_SIZE);    /* a partly used root slot */
    last_page(4 * CRAM_PAGE_SIZE);
}

static void test_discard_all(void)
{
    enum { N = 100, MEDIA_PAGES = 256 };
    CramEngine *e = new_engine(4 * MiB, MEDIA_PAGES * CRAM_PAGE_SIZE,
                               CRAM_CODEC_LZ4);
    GRand *r = g_rand_new_with_seed(9);
    uint8_t page[CRAM_PAGE_SIZE];
    unsigned i, held = 0;
    CramStats st;

    for (i = 0; i < N; i++) {
        switch (i % 4) {
        case 0:
            memset(page, 0, sizeof(page));
            break;
        case 1:
            page_same(page, i);
            break;
        case 2:
            page_text(r, page);
            break;
        default:
            page_partly_random(r, page, 200 + i * 10);
            break;
        }
        if (cram_engine_store(e, i, page) == 0) {
            held++;
        }
    }
    g_assert_cmpuint(held, ==, N);
    for (i = 0; i < 5; i++) {
        cram_engine_discard(e, i);
    }
    cram_engine_discard(e, 500);        /* empty: not counted */
    st = get_stats(e);
    g_assert_cmpuint(st.discards, ==, 5);

    cram_engine_discard_all(e);
    st = get_stats(e);
    g_assert_cmpuint(st.discards, ==, N);
    g_assert_cmpuint(st.media_used, ==, 0);
    g_assert_cmpuint(st.logical_bytes, ==, 0);
    g_assert_cmpuint(st.stored_bytes, ==, 0);
    for (i = 0; i < CRAM_KIND__MAX; i++) {
        g_assert_cmpuint(st.pages[i], ==, 0);
    }
    g_assert_cmpuint(cram_ratio_fp16(&st), ==, 0);
    for (i = 0; i < N; i++) {
        g_assert_cmpint(cram_engine_page_kind(e, i), ==, CRAM_KIND_EMPTY);
        check_zero(e, i);
    }

    /* The whole media is usable again. */
    for (i = 0; i < MEDIA_PAGES; i++) {
        page_random(r, page);
        g_assert_cmpint(cram_engine_store(e, i, page), ==, 0);
    }
    g_assert_cmpint(cram_engine_store(e, MEDIA_PAGES, page), ==, -ENOSPC);
    check_page(e, MEDIA_PAGES - 1, page);
    g_rand_free(r);
    cram_engine_free(e);
}

static void test_counters(void)
{
    CramEngine *e = new_engine(MiB, CRAM_PAGE_SIZE, CRAM_CODEC_NONE);
    GRand *r = g_rand_new_with_seed(10);
    uint8_t page[CRAM_PAGE_SIZE];
    CramStats st;

    cram_engine_load(e, 3, page);                       /* empty */
    page_text(r, page);
    g_assert_cmpint(cram_engine_store(e, 1, page), ==, 0);  /* raw */
    g_assert_cmpint(cram_engine_page_kind(e, 1), ==, CRAM_KIND_RAW);
    g_assert_cmpint(cram_engine_store(e, 2, page), ==, -ENOSPC);
    cram_engine_load(e, 1, page);
    cram_engine_load(e, 2, page);
    cram_engine_discard(e, 2);                          /* empty */
    cram_engine_discard(e, 1);
    cram_engine_discard(e, 1);                          /* now empty */

    st = get_stats(e);
    g_assert_cmpuint(st.capacity, ==, MiB);
    g_assert_cmpuint(st.media_size, ==, CRAM_PAGE_SIZE);
    g_assert_cmpuint(st.stores, ==, 1);
    g_assert_cmpuint(st.failed_stores, ==, 1);
    g_assert_cmpuint(st.loads, ==, 3);
    g_assert_cmpuint(st.discards, ==, 1);
    g_assert_cmpuint(st.media_used, ==, 0);
    g_rand_free(r);
    cram_engine_free(e);
}

static void test_ratio_fp16(void)
{
    CramStats st;

    memset(&st, 0, sizeof(st));
    g_assert_cmpuint(cram_ratio_fp16(&st), ==, 0);
    st.pages[CRAM_KIND_ZERO] = 1;
    g_assert_cmpuint(cram_ratio_fp16(&st), ==, UINT32_MAX);
    st.logical_bytes = 3 * CRAM_PAGE_SIZE;
    st.media_used = 2 * CRAM_PAGE_SIZE;
    g_assert_cmpuint(cram_ratio_fp16(&st), ==, 3u << 15);
    st.logical_bytes = TiB;
    st.media_used = CRAM_PAGE_SIZE;
    g_assert_cmpuint(cram_ratio_fp16(&st), ==, UINT32_MAX);
    st.media_used = TiB;
    g_assert_cmpuint(cram_ratio_fp16(&st), ==, 1u << 16);
}

/* Poison drops content and media; a store or a discard heals the page. */
static void test_poison(void)
{
    CramEngine *e = new_engine(64 * CRAM_PAGE_SIZE, 16 * CRAM_PAGE_SIZE,
                               CRAM_CODEC_ZSTD);
    GRand *r = g_rand_new_with_seed(42);
    uint8_t page[CRAM_PAGE_SIZE], out[CRAM_PAGE_SIZE];
    CramStats st;

    page_text(r, page);
    g_assert_cmpint(cram_engine_store(e, 3, page), ==, 0);
    g_assert_false(cram_engine_page_poisoned(e, 3));
    cram_engine_poison(e, 3);
    cram_engine_poison(e, 3);           /* idempotent */
    g_assert_true(cram_engine_page_poisoned(e, 3));
    g_assert_false(cram_engine_page_poisoned(e, 4));
    cram_engine_get_stats(e, &st);
    g_assert_cmpuint(st.poisoned_pages, ==, 1);
    g_assert_cmpuint(st.media_used, ==, 0);
    g_assert_cmpuint(st.logical_bytes, ==, 0);
    g_assert_cmpuint(st.pages[CRAM_KIND_COMPRESSED], ==, 0);

    /* A store that fits clears it and the content is the new one. */
    g_assert_cmpint(cram_engine_store(e, 3, page), ==, 0);
    g_assert_false(cram_engine_page_poisoned(e, 3));
    cram_engine_load(e, 3, out);
    g_assert_cmpmem(out, sizeof(out), page, sizeof(page));
    cram_engine_get_stats(e, &st);
    g_assert_cmpuint(st.poisoned_pages, ==, 0);

    /* Discard clears it too, and so does discard_all. */
    cram_engine_poison(e, 3);
    cram_engine_discard(e, 3);
    g_assert_false(cram_engine_page_poisoned(e, 3));
    cram_engine_poison(e, 5);
    cram_engine_poison(e, 6);
    cram_engine_get_stats(e, &st);
    g_assert_cmpuint(st.poisoned_pages, ==, 2);
    cram_engine_discard_all(e);
    cram_engine_get_stats(e, &st);
    g_assert_cmpuint(st.poisoned_pages, ==, 0);
    g_assert_false(cram_engine_page_poisoned(e, 5));
    g_assert_cmpuint(cram_engine_metadata_bytes(e), >, 0);

    g_rand_free(r);
    cram_engine_free(e);
}

/*
 * An object that no longer decompresses (corrupt media) poisons its page:
 * the load reads all-ones and says so, the page counts as poisoned and its
 * media is released.  It used to read as zeros, silently.
 */
static void test_corrupt_object(void)
{
    CramEngine *e = new_engine(64 * CRAM_PAGE_SIZE, 16 * CRAM_PAGE_SIZE,
                               CRAM_CODEC_ZSTD);
    GRand *r = g_rand_new_with_seed(43);
    uint8_t page[CRAM_PAGE_SIZE], out[CRAM_PAGE_SIZE];
    uint8_t junk[CRAM_PAGE_SIZE];
    uint64_t handle;
    uint32_t meta;
    CramStats st;

    page_text(r, page);
    g_assert_cmpint(cram_engine_store(e, 7, page), ==, 0);
    g_assert_cmpint(cram_engine_page_kind(e, 7), ==, CRAM_KIND_COMPRESSED);
    meta = cram_pt_get(&e->pt, 7, &handle);
    memset(junk, 0x5a, sizeof(junk));
    cram_alloc_write(e->alloc, handle, junk, cram_meta_size(meta));

    memset(out, 0, sizeof(out));
    g_assert_false(cram_engine_load(e, 7, out));
    g_assert_true(page_is_filled(out, 0xff));
    g_assert_true(cram_engine_page_poisoned(e, 7));
    st = get_stats(e);
    g_assert_cmpuint(st.poisoned_pages, ==, 1);
    g_assert_cmpuint(st.media_used, ==, 0);
    g_assert_cmpuint(st.pages[CRAM_KIND_COMPRESSED], ==, 0);
    /* a good page still loads */
    g_assert_cmpint(cram_engine_store(e, 8, page), ==, 0);
    g_assert_true(cram_engine_load(e, 8, out));
    g_assert_cmpmem(out, sizeof(out), page, sizeof(page));

    g_rand_free(r);
    cram_engine_free(e);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/engine/config-errors", test_config_errors);
    g_test_add_func("/engine/mmap-failure", test_mmap_failure);
    g_test_add_func("/engine/zero-page", test_zero_page);
    g_test_add_func("/engine/same-page", test_same_page);
    g_test_add_data_func("/engine/text-ratio/lz4",
                         GINT_TO_POINTER(CRAM_CODEC_LZ4), test_text_ratio);
    g_test_add_data_func("/engine/text-ratio/zstd",
                         GINT_TO_POINTER(CRAM_CODEC_ZSTD), test_text_ratio);
    g_test_add_func("/engine/random-raw", test_random_raw);
    g_test_add_func("/engine/rewrite-no-leak", test_rewrite_no_leak);
    g_test_add_func("/engine/media-full", test_media_full);
    g_test_add_func("/engine/take-media", test_take_media);
    g_test_add_func("/engine/census", test_census);
    g_test_add_func("/engine/sparse-1tib", test_sparse_1tib);
    g_test_add_func("/engine/meta-per-page", test_meta_per_page);
    g_test_add_func("/engine/last-page", test_last_page);
    g_test_add_func("/engine/discard-all", test_discard_all);
    g_test_add_func("/engine/counters", test_counters);
    g_test_add_func("/engine/ratio-fp16", test_ratio_fp16);
    g_test_add_func("/engine/poison", test_poison);
    g_test_add_func("/engine/corrupt-object", test_corrupt_object);
    return g_test_run();
}
