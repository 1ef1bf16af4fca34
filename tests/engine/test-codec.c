/*
 * cxl-cram engine tests: codec backends, names, levels, page encoding
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include <string.h>
#include "cram-codec.h"
#include "cram-encode.h"
#include "test-pages.h"

enum { KIND_ZERO, KIND_SAME, KIND_TEXT, KIND_PARTLY, KIND_RANDOM, KIND__MAX };

static void make_page(GRand *r, int kind, uint8_t *p)
{
    switch (kind) {
    case KIND_ZERO:
        memset(p, 0, CRAM_PAGE_SIZE);
        break;
    case KIND_SAME:
        page_same(p, 0x0123456789abcdefULL);
        break;
    case KIND_TEXT:
        page_text(r, p);
        break;
    case KIND_PARTLY:
        page_partly_random(r, p, 1000);
        break;
    default:
        page_random(r, p);
        break;
    }
}

/* Compress and decompress every page kind at @level; check the sizes. */
static void round_trip(CramCodecId id, int level)
{
    const CramCodecOps *ops = cram_codec_ops(id);
    void *ctx = ops->ctx_new(cram_codec_effective_level(ops, level));
    GRand *r = g_rand_new_with_seed(42 + id);
    uint8_t *src = g_malloc(CRAM_PAGE_SIZE);
    uint8_t *cbuf = g_malloc(CRAM_CODEC_OUT_MAX);   /* the contract */
    uint8_t *out = g_malloc(CRAM_PAGE_SIZE);
    int kind;

    g_assert_nonnull(ctx);
    for (kind = 0; kind < KIND__MAX; kind++) {
        size_t n;

        make_page(r, kind, src);
        n = ops->compress(ctx, src, cbuf, CRAM_PAGE_SIZE);
        if (id == CRAM_CODEC_NONE) {
            g_assert_cmpuint(n, ==, 0);
            continue;
        }
        if (kind == KIND_RANDOM) {
            /* Random data can't shrink below the raw threshold. */
            g_assert_cmpuint(ops->compress(ctx, src, cbuf,
                                           CRAM_RAW_THRESHOLD), ==, 0);
            continue;
        }
        g_assert_cmpuint(n, >, 0);
        if (kind == KIND_PARTLY) {
            g_assert_cmpuint(n, >=, 950);
            g_assert_cmpuint(n, <, 1200);
        } else {
            g_assert_cmpuint(n, <, CRAM_PAGE_SIZE / 2);
        }
        memset(out, 0xee, CRAM_PAGE_SIZE);
        g_assert_cmpint(ops->decompress(ctx, cbuf, n, out), ==, 0);
        g_assert_true(memcmp(src, out, CRAM_PAGE_SIZE) == 0);

        /* A truncated object is reported, not silently accepted. */
        g_assert_cmpint(ops->decompress(ctx, cbuf, n - 1, out), ==, -EIO);

        /* A capacity one byte short of the result makes it not fit. */
        g_assert_cmpuint(ops->compress(ctx, src, cbuf, n - 1), ==, 0);
    }
    ops->ctx_free(ctx);
    g_free(src);
    g_free(cbuf);
    g_free(out);
    g_rand_free(r);
}

static void test_round_trip_none(void)
{
    round_trip(CRAM_CODEC_NONE, 0);
}

static void test_round_trip_lz4(void)
{
    round_trip(CRAM_CODEC_LZ4, 0);
    round_trip(CRAM_CODEC_LZ4, 1);
    round_trip(CRAM_CODEC_LZ4, 8);
}

static void test_round_trip_zstd(void)
{
    round_trip(CRAM_CODEC_ZSTD, 0);
    round_trip(CRAM_CODEC_ZSTD, 1);
    round_trip(CRAM_CODEC_ZSTD, 19);
}

static void expect_level_error(CramCodecId id, int level, const char *msg)
{
    GError *err = NULL;

    g_assert_false(cram_codec_check_level(id, level, &err));
    g_assert_nonnull(err);
    g_assert_cmpstr(g_quark_to_string(err->domain), ==, "cram-engine-error");
    if (!strstr(err->message, msg)) {
        g_error("message '%s' lacks '%s'", err->message, msg);
    }
    g_error_free(err);
}

static void test_levels(void)
{
    g_assert_true(cram_codec_check_level(CRAM_CODEC_ZSTD, 0, NULL));
    g_assert_true(cram_codec_check_level(CRAM_CODEC_ZSTD, 1, NULL));
    g_assert_true(cram_codec_check_level(CRAM_CODEC_ZSTD, 19, NULL));
    g_assert_true(cram_codec_check_level(CRAM_CODEC_LZ4, 65537, NULL));
    g_assert_true(cram_codec_check_level(CRAM_CODEC_NONE, 0, NULL));

    expect_level_error(CRAM_CODEC_ZSTD, 30,
                       "compress-level 30 out of range for zstd (1..19)");
    expect_level_error(CRAM_CODEC_ZSTD, -1,
                       "compress-level -1 out of range for zstd (1..19)");
    expect_level_error(CRAM_CODEC_LZ4, 65538,
                       "compress-level 65538 out of range for lz4 (1..65537)");
    expect_level_error(CRAM_CODEC_NONE, 1,
                       "compress-level 1 out of range for none (0..0)");
    expect_level_error(CRAM_CODEC__MAX, 1, "unknown codec id 3");

    /* Level 0 resolves to the codec's default. */
    g_assert_cmpint(cram_codec_effective_level(&cram_codec_zstd_ops, 0),
                    ==, cram_codec_zstd_ops.default_level);
    g_assert_cmpint(cram_codec_effective_level(&cram_codec_zstd_ops, 7),
                    ==, 7);
}

static void test_names(void)
{
    static const char *const names[CRAM_CODEC__MAX] = {
        [CRAM_CODEC_NONE] = "none",
        [CRAM_CODEC_LZ4] = "lz4",
        [CRAM_CODEC_ZSTD] = "zstd",
    };
    CramCodecId id;
    unsigned i;

    for (i = 0; i < CRAM_CODEC__MAX; i++) {
        g_assert_cmpstr(cram_codec_name(i), ==, names[i]);
        id = CRAM_CODEC__MAX;
        g_assert_true(cram_codec_from_name(names[i], &id));
        g_assert_cmpint(id, ==, i);
        g_assert_true(cram_codec_ops(i) != NULL);
    }
    id = CRAM_CODEC_LZ4;
    g_assert_false(cram_codec_from_name("gzip", &id));
    g_assert_false(cram_codec_from_name("ZSTD", &id));
    g_assert_false(cram_codec_from_name("", &id));
    g_assert_false(cram_codec_from_name(NULL, &id));
    g_assert_cmpint(id, ==, CRAM_CODEC_LZ4);
    g_assert_null(cram_codec_name(CRAM_CODEC__MAX));
    g_assert_null(cram_codec_ops(CRAM_CODEC__MAX));
}

static void test_fill_detection(void)
{
    uint8_t *p = g_malloc(CRAM_PAGE_SIZE);
    uint64_t w = 1;
    size_t off;

    memset(p, 0, CRAM_PAGE_SIZE);
    g_assert_true(cram_page_is_filled(p, &w));
    g_assert_cmpuint(w, ==, 0);

    page_same(p, 0xfeedfacecafebeefULL);
    g_assert_true(cram_page_is_filled(p, &w));
    g_assert_cmphex(w, ==, 0xfeedfacecafebeefULL);

    /* One differing byte anywhere, including the very last, rejects. */
    for (off = 0; off < CRAM_PAGE_SIZE; off++) {
        page_same(p, 0xfeedfacecafebeefULL);
        p[off] ^= 1;
        g_assert_false(cram_page_is_filled(p, &w));
    }
    page_same(p, 0);
    p[CRAM_PAGE_SIZE - 1] = 1;
    g_assert_false(cram_page_is_filled(p, &w));

    memset(p, 0xaa, CRAM_PAGE_SIZE);
    cram_page_fill(p, 0x1122334455667788ULL);
    g_assert_true(cram_page_is_filled(p, &w));
    g_assert_cmphex(w, ==, 0x1122334455667788ULL);
    cram_page_fill(p, 0);
    g_assert_true(page_is_zero(p));
    g_free(p);
}

/* cram_page_encode picks the class as the engine documents it. */
static void test_encode_classes(void)
{
    CramScratch *s = cram_scratch_new(&cram_codec_lz4_ops, 0);
    CramScratch *none = cram_scratch_new(&cram_codec_none_ops, 0);
    GRand *r = g_rand_new_with_seed(7);
    uint8_t *p = g_malloc(CRAM_PAGE_SIZE);
    uint8_t *out = g_malloc(CRAM_PAGE_SIZE);
    CramEncoded enc;

    memset(p, 0, CRAM_PAGE_SIZE);
    cram_page_encode(s, p, &enc);
    g_assert_cmpint(enc.kind, ==, CRAM_KIND_ZERO);
    g_assert_cmpuint(enc.size, ==, 0);

    page_same(p, 42);
    cram_page_encode(s, p, &enc);
    g_assert_cmpint(enc.kind, ==, CRAM_KIND_SAME);
    g_assert_cmpuint(enc.fill, ==, 42);
    g_assert_cmpuint(enc.size, ==, 0);

    page_text(r, p);
    cram_page_encode(s, p, &enc);
    g_assert_cmpint(enc.kind, ==, CRAM_KIND_COMPRESSED);
    g_assert_cmpuint(enc.size, >, 0);
    g_assert_cmpuint(enc.size, <=, CRAM_RAW_THRESHOLD);
    g_assert_true(enc.data == s->cbuf);
    g_assert_cmpint(cram_page_decode(s, enc.data, enc.size, out), ==, 0);
    g_assert_true(memcmp(p, out, CRAM_PAGE_SIZE) == 0);

    /* With the none codec the same page is stored raw. */
    cram_page_encode(none, p, &enc);
    g_assert_cmpint(enc.kind, ==, CRAM_KIND_RAW);
    g_assert_cmpuint(enc.size, ==, CRAM_PAGE_SIZE);
    g_assert_true(enc.data == p);

    /* Barely compressible: above the threshold, so raw. */
    page_partly_random(r, p, CRAM_PAGE_SIZE - 128);
    cram_page_encode(s, p, &enc);
    g_assert_cmpint(enc.kind, ==, CRAM_KIND_RAW);
    g_assert_cmpuint(enc.size, ==, CRAM_PAGE_SIZE);

    page_random(r, p);
    cram_page_encode(s, p, &enc);
    g_assert_cmpint(enc.kind, ==, CRAM_KIND_RAW);

    g_free(p);
    g_free(out);
    g_rand_free(r);
    cram_scratch_free(s);
    cram_scratch_free(none);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/codec/round-trip/none", test_round_trip_none);
    g_test_add_func("/codec/round-trip/lz4", test_round_trip_lz4);
    g_test_add_func("/codec/round-trip/zstd", test_round_trip_zstd);
    g_test_add_func("/codec/levels", test_levels);
    g_test_add_func("/codec/names", test_names);
    g_test_add_func("/codec/fill-detection", test_fill_detection);
    g_test_add_func("/codec/encode-classes", test_encode_classes);
    return g_test_run();
}
