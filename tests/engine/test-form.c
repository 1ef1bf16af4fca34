/*
 * cxl-cram engine tests: the form pages are stored in as the host
 * steers it: a size floor over a range (cram_engine_store_as()), the
 * codec at run time (cram_engine_set_codec()), and their wrapped objects
 * through export and import
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <string.h>
#include "cram-engine.h"
#include "cram-engine-internal.h"
#include "cram-export.h"
#include "test-pages.h"

static CramStats get_stats(CramEngine *e)
{
    CramStats st;

    cram_engine_get_stats(e, &st);
    return st;
}

/* The media bytes of page @i's object */
static uint64_t page_bytes(CramEngine *e, uint64_t i)
{
    CramCensus c;

    cram_engine_census(e, i, i + 1, 1, &c);
    return c.stored_bytes;
}

static bool wrapped(CramEngine *e, uint64_t i)
{
    uint64_t val;

    return cram_meta_wrapped(cram_pt_get(&e->pt, i, &val));
}

/* A small engine of the codec lz4, and @n pages of text from @seed */
static CramEngine *small_engine(uint32_t seed, uint8_t (*page)[CRAM_PAGE_SIZE],
                                int n)
{
    GRand *r = g_rand_new_with_seed(seed);
    int i;

    for (i = 0; i < n; i++) {
        page_text(r, page[i]);
    }
    g_rand_free(r);
    return new_engine(64 * CRAM_PAGE_SIZE, 64 * CRAM_PAGE_SIZE,
                      CRAM_CODEC_LZ4);
}

static void check_page(CramEngine *e, uint64_t i, const uint8_t *want)
{
    uint8_t back[CRAM_PAGE_SIZE];

    memset(back, 0xa5, sizeof(back));
    g_assert_true(cram_engine_load(e, i, back));
    g_assert_cmpmem(back, CRAM_PAGE_SIZE, want, CRAM_PAGE_SIZE);
}

/* Pages 0..@n-1 read back as @page */
static void check_pages(CramEngine *e, uint8_t (*page)[CRAM_PAGE_SIZE], int n)
{
    int i;

    for (i = 0; i < n; i++) {
        check_page(e, i, page[i]);
    }
}

/*
 * Pages the host asked to be stored raw take a whole media page each
 * from then on, through both store paths, and read back; zero pages stay
 * metadata; outside the range and after cancelling, pages compress.
 */
static void test_store_as_raw(void)
{
    uint8_t page[8][CRAM_PAGE_SIZE], back[CRAM_PAGE_SIZE];
    CramEngine *e = small_engine(11, page, 8);
    CramEncoded enc;
    CramStats st;
    int i;

    cram_engine_store_as(e, 2, 6, CRAM_PAGE_SIZE);
    for (i = 0; i < 4; i++) {
        g_assert_cmpint(cram_engine_store(e, i, page[i]), ==, 0);
    }
    /* the cache's path: encoded elsewhere, stored on a reservation */
    for (i = 4; i < 8; i++) {
        g_assert_true(cram_engine_reserve(e));
        cram_page_encode(e->scratch, page[i], &enc);
        g_assert_cmpint(enc.kind, ==, CRAM_KIND_COMPRESSED);
        cram_engine_store_reserved(e, i, page[i], &enc);
    }
    memset(back, 0, sizeof(back));
    g_assert_cmpint(cram_engine_store(e, 8, back), ==, 0);
    st = get_stats(e);
    g_assert_cmpuint(st.pages[CRAM_KIND_RAW], ==, 4);       /* 2 to 5 */
    g_assert_cmpuint(st.pages[CRAM_KIND_COMPRESSED], ==, 4);
    g_assert_cmpuint(st.pages[CRAM_KIND_ZERO], ==, 1);
    g_assert_cmpuint(st.stored_bytes, >=, 4 * CRAM_PAGE_SIZE);
    check_pages(e, page, 8);
    /* cancelled: the same pages written again compress */
    cram_engine_store_as(e, 0, 0, CRAM_PAGE_SIZE);
    for (i = 2; i < 6; i++) {
        g_assert_cmpint(cram_engine_store(e, i, page[i]), ==, 0);
    }
    st = get_stats(e);
    g_assert_cmpuint(st.pages[CRAM_KIND_RAW], ==, 0);
    g_assert_cmpuint(st.pages[CRAM_KIND_COMPRESSED], ==, 8);
    cram_engine_free(e);
}

/*
 * Pages of a range stored "as if compressed to 2048 bytes" each take
 * an object of 2048 bytes (two to a media page), hold their data and
 * read back; the pages either side of the range keep their real size; a
 * floor under the real size changes nothing.
 */
static void test_store_as_padded(void)
{
    uint8_t page[4][CRAM_PAGE_SIZE];
    CramEngine *e = small_engine(12, page, 4);
    uint64_t real;
    CramStats st;
    int i;

    g_assert_cmpint(cram_engine_store(e, 0, page[0]), ==, 0);
    real = page_bytes(e, 0);
    g_assert_cmpuint(real, <, 2048);
    cram_engine_discard(e, 0);

    g_assert_true(cram_engine_store_as_valid(2048));
    cram_engine_store_as(e, 1, 3, 2048);
    for (i = 0; i < 4; i++) {
        g_assert_cmpint(cram_engine_store(e, i, page[i]), ==, 0);
        g_assert_cmpint(cram_engine_page_kind(e, i), ==,
                        CRAM_KIND_COMPRESSED);
    }
    g_assert_cmpuint(page_bytes(e, 1), ==, 2048);
    g_assert_cmpuint(page_bytes(e, 2), ==, 2048);
    g_assert_cmpuint(page_bytes(e, 0), <, 2048);    /* before the range */
    g_assert_cmpuint(page_bytes(e, 3), <, 2048);    /* at its end */
    check_pages(e, page, 4);
    /* the two padded objects share one media page, as 2048 bytes do */
    cram_engine_discard(e, 0);
    cram_engine_discard(e, 3);
    st = get_stats(e);
    g_assert_cmpuint(st.stored_bytes, ==, 2 * 2048);
    g_assert_cmpuint(st.media_used, ==, CRAM_PAGE_SIZE);

    /* a floor under the page's real size: stored at its real size */
    cram_engine_store_as(e, 0, 4, 16);
    g_assert_cmpint(cram_engine_store(e, 1, page[0]), ==, 0);
    g_assert_cmpuint(page_bytes(e, 1), ==, real);
    check_page(e, 1, page[0]);

    /* the largest floor below a page: still compressed, 4080 bytes */
    cram_engine_store_as(e, 0, 4, 4080);
    g_assert_cmpint(cram_engine_store(e, 2, page[2]), ==, 0);
    g_assert_cmpuint(page_bytes(e, 2), ==, 4080);
    g_assert_cmpint(cram_engine_page_kind(e, 2), ==, CRAM_KIND_COMPRESSED);
    check_page(e, 2, page[2]);

    g_assert_false(cram_engine_store_as_valid(0));
    g_assert_false(cram_engine_store_as_valid(8));
    g_assert_false(cram_engine_store_as_valid(2050));
    g_assert_false(cram_engine_store_as_valid(4090));
    g_assert_false(cram_engine_store_as_valid(4097));
    cram_engine_free(e);
}

/*
 * The codec changed at run time: new pages are compressed with it (their
 * objects wrapped with their codec), pages stored before read back, and
 * a level out of range changes nothing.
 */
static void test_set_codec(void)
{
    uint8_t page[4][CRAM_PAGE_SIZE];
    CramEngine *e = small_engine(13, page, 4);
    GError *err = NULL;
    CramScratch *w;
    CramEncoded enc;
    uint64_t gen;
    int i;

    g_assert_cmpint(cram_engine_store(e, 0, page[0]), ==, 0);
    g_assert_true(cram_engine_set_codec(e, CRAM_CODEC_ZSTD, 19, &err));
    g_assert_no_error(err);
    g_assert_cmpint(cram_engine_store(e, 1, page[1]), ==, 0);
    /* the cache's path: a scratch made now encodes with zstd */
    w = cram_engine_scratch_new(e);
    cram_page_encode(w, page[2], &enc);
    g_assert_cmpint(enc.codec, ==, CRAM_CODEC_ZSTD);
    g_assert_true(cram_engine_reserve(e));
    cram_engine_store_reserved(e, 2, page[2], &enc);
    cram_scratch_free(w);
    for (i = 1; i < 3; i++) {
        g_assert_cmpuint(page_bytes(e, i) % 16, ==, 0);
        g_assert_cmpint(cram_engine_page_kind(e, i), ==,
                        CRAM_KIND_COMPRESSED);
    }
    /* zstd -19 on text beats lz4 by far */
    g_assert_cmpuint(page_bytes(e, 1), <, page_bytes(e, 0));

    gen = cram_engine_codec_gen(e);
    g_assert_false(cram_engine_set_codec(e, CRAM_CODEC_ZSTD, 20, &err));
    g_assert_nonnull(err);
    g_clear_error(&err);
    g_assert_cmpuint(cram_engine_codec_gen(e), ==, gen);
    g_assert_true(cram_engine_set_codec(e, CRAM_CODEC_NONE, 0, &err));
    g_assert_cmpint(cram_engine_store(e, 3, page[3]), ==, 0);
    g_assert_cmpint(cram_engine_page_kind(e, 3), ==, CRAM_KIND_RAW);
    check_pages(e, page, 4);
    /* back to the engine's own codec: a plain object again */
    g_assert_true(cram_engine_set_codec(e, CRAM_CODEC_LZ4, 0, &err));
    g_assert_cmpint(cram_engine_store(e, 3, page[3]), ==, 0);
    g_assert_false(wrapped(e, 3));
    g_assert_false(wrapped(e, 0));
    g_assert_true(wrapped(e, 1));
    check_page(e, 3, page[3]);
    cram_engine_free(e);
}

/* Padded and foreign-codec objects travel and read back on the other side */
static void test_wrapped_export(void)
{
    uint8_t page[6][CRAM_PAGE_SIZE], bad[CRAM_PAGE_SIZE];
    CramEngine *a = small_engine(14, page, 6);
    CramEngine *b = small_engine(14, page, 6);
    CramStats sa = { 0 }, sb;
    CramPageRecord rec;
    GError *err = NULL;
    CramImport *im;
    CramExport *x;
    int i;

    cram_engine_store_as(a, 0, 2, 3072);
    for (i = 0; i < 6; i++) {
        if (i == 4) {
            g_assert_true(cram_engine_set_codec(a, CRAM_CODEC_ZSTD, 0,
                                                &err));
        }
        g_assert_cmpint(cram_engine_store(a, i, page[i]), ==, 0);
    }
    im = cram_import_new(b, 0, &err);
    g_assert_no_error(err);
    x = cram_export_new(a);
    while (cram_export_next(x, &rec)) {
        g_assert_true(cram_import_page(im, &rec, &err));
        g_assert_no_error(err);
    }
    cram_export_free(x);
    cram_engine_get_stats(a, &sa);
    g_assert_true(cram_import_finish(im, &sa, &err));
    g_assert_no_error(err);
    cram_engine_get_stats(b, &sb);
    g_assert_cmpuint(sb.media_used, ==, sa.media_used);
    g_assert_cmpuint(sb.stored_bytes, ==, sa.stored_bytes);
    g_assert_cmpuint(page_bytes(b, 0), ==, 3072);
    check_pages(b, page, 6);

    /* a wrapped object whose header names no codec is refused */
    im = cram_import_new(b, 0, &err);
    x = cram_export_new(a);
    while (cram_export_next(x, &rec) && !(rec.flags & CRAM_RECORD_WRAPPED)) {
        g_assert_true(cram_import_page(im, &rec, &err));
    }
    g_assert_true(rec.flags & CRAM_RECORD_WRAPPED);
    memcpy(bad, rec.data, rec.size);
    bad[0] = CRAM_CODEC__MAX;
    rec.data = bad;
    g_assert_false(cram_import_page(im, &rec, &err));
    g_assert_nonnull(strstr(err->message, "with its codec"));
    g_clear_error(&err);
    cram_export_free(x);
    cram_import_abort(im);
    cram_engine_free(a);
    cram_engine_free(b);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/engine/store-as/raw", test_store_as_raw);
    g_test_add_func("/engine/store-as/padded", test_store_as_padded);
    g_test_add_func("/engine/set-codec", test_set_codec);
    g_test_add_func("/engine/store-as/export", test_wrapped_export);
    return g_test_run();
}
