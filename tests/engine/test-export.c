/*
 * cxl-cram engine tests: export and import of the page store
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <string.h>
#include "cram-engine.h"
#include "cram-export.h"
#include "test-pages.h"

/* A stream held in memory: records with their own copies of the data. */
typedef struct Stream {
    CramStats st;
    GArray *recs;               /* CramPageRecord, data g_malloc'ed */
    guint bad;                  /* the record bad_rec() gave, or G_MAXUINT */
    CramPageRecord was;         /* what it was */
} Stream;

static Stream *export_all(CramEngine *e)
{
    Stream *s = g_new0(Stream, 1);
    CramExport *x;
    CramPageRecord rec;

    s->bad = G_MAXUINT;
    cram_engine_get_stats(e, &s->st);
    s->recs = g_array_new(FALSE, FALSE, sizeof(CramPageRecord));
    x = cram_export_new(e);
    while (cram_export_next(x, &rec)) {
        if (rec.data) {
            rec.data = g_memdup2(rec.data, rec.size);
        }
        g_array_append_val(s->recs, rec);
    }
    g_assert_cmpuint(s->recs->len, ==, cram_export_count(x));
    cram_export_free(x);
    return s;
}

static void stream_free(Stream *s)
{
    guint i;

    for (i = 0; i < s->recs->len; i++) {
        g_free((void *)g_array_index(s->recs, CramPageRecord, i).data);
    }
    g_array_free(s->recs, TRUE);
    g_free(s);
}

static CramPageRecord *rec_at(Stream *s, guint i)
{
    return &g_array_index(s->recs, CramPageRecord, i);
}

/* Imports @s into @e; returns the error of the first failing step. */
static bool import_all(CramEngine *e, Stream *s, GError **err)
{
    CramImport *im = cram_import_new(e, CRAM_POISON_TAG_MAX, err);
    guint i;

    if (!im) {
        return false;
    }
    for (i = 0; i < s->recs->len; i++) {
        if (!cram_import_page(im, rec_at(s, i), err)) {
            cram_import_abort(im);
            return false;
        }
    }
    return cram_import_finish(im, &s->st, err);
}

static void assert_same_stats(const CramStats *a, const CramStats *b)
{
    int i;

    g_assert_cmpuint(a->media_used, ==, b->media_used);
    g_assert_cmpuint(a->media_free, ==, b->media_free);
    g_assert_cmpuint(a->logical_bytes, ==, b->logical_bytes);
    g_assert_cmpuint(a->stored_bytes, ==, b->stored_bytes);
    for (i = 0; i < CRAM_KIND__MAX; i++) {
        g_assert_cmpuint(a->pages[i], ==, b->pages[i]);
    }
    g_assert_cmpuint(a->stores, ==, b->stores);
    g_assert_cmpuint(a->loads, ==, b->loads);
    g_assert_cmpuint(a->failed_stores, ==, b->failed_stores);
    g_assert_cmpuint(a->discards, ==, b->discards);
    g_assert_cmpuint(a->poisoned_pages, ==, b->poisoned_pages);
    g_assert_cmpuint(cram_ratio_fp16(a), ==, cram_ratio_fp16(b));
}

/*
 * Mixed content over many size classes, then holes punched by rewrites,
 * discards and poison, so that spans are left partly filled.
 */
static void load_mixed(CramEngine *e, uint64_t npages, uint32_t seed)
{
    GRand *r = g_rand_new_with_seed(seed);
    uint8_t p[CRAM_PAGE_SIZE];
    uint64_t i;

    for (i = 0; i < npages; i++) {
        switch (i % 6) {
        case 0:
            page_text(r, p);
            break;
        case 1:
            page_random(r, p);
            break;
        case 2:
            memset(p, 0, sizeof(p));
            break;
        case 3:
            page_same(p, 0x0101010101010101ULL * (i & 0xff));
            break;
        default:
            page_partly_random(r, p, g_rand_int_range(r, 1, 3800));
        }
        g_assert_cmpint(cram_engine_store(e, i * 7, p), ==, 0);
    }
    for (i = 0; i < npages; i += 5) {
        cram_engine_discard(e, i * 7);
    }
    for (i = 2; i < npages; i += 11) {
        cram_engine_poison(e, i * 7);
    }
    for (i = 1; i < npages; i += 9) {
        page_partly_random(r, p, g_rand_int_range(r, 1, 2000));
        g_assert_cmpint(cram_engine_store(e, i * 7, p), ==, 0);
    }
    g_rand_free(r);
}

static void assert_same_pages(CramEngine *a, CramEngine *b, uint64_t npages)
{
    uint8_t pa[CRAM_PAGE_SIZE], pb[CRAM_PAGE_SIZE];
    uint64_t i;

    for (i = 0; i < npages; i++) {
        g_assert_cmpint(cram_engine_page_kind(a, i), ==,
                        cram_engine_page_kind(b, i));
        g_assert_cmpint(cram_engine_page_poisoned(a, i), ==,
                        cram_engine_page_poisoned(b, i));
        cram_engine_load(a, i, pa);
        cram_engine_load(b, i, pb);
        g_assert_cmpmem(pa, sizeof(pa), pb, sizeof(pb));
    }
}

/* Record @at of @s, to be made bad; the next expect_bad() restores it. */
static CramPageRecord *bad_rec(Stream *s, guint at)
{
    g_assert_cmpuint(s->bad, ==, G_MAXUINT);
    s->bad = at;
    s->was = *rec_at(s, at);
    return rec_at(s, at);
}

/*
 * The import of @s into a new engine of @codec over @media bytes fails
 * with @msg and leaves the engine empty; then the bad record is restored.
 */
static void expect_bad_in(Stream *s, CramCodecId codec, uint64_t media,
                          const char *msg)
{
    CramEngine *b = new_engine(64 * MiB, media, codec);
    GError *err = NULL;
    CramStats st;

    g_assert_false(import_all(b, s, &err));
    g_assert_nonnull(err);
    if (!strstr(err->message, msg)) {
        g_error("expected '%s', got '%s'", msg, err->message);
    }
    g_clear_error(&err);
    cram_engine_get_stats(b, &st);
    g_assert_cmpuint(st.media_used, ==, 0);
    g_assert_cmpuint(st.logical_bytes, ==, 0);
    g_assert_cmpuint(st.poisoned_pages, ==, 0);
    if (s->bad != G_MAXUINT) {
        *rec_at(s, s->bad) = s->was;
        s->bad = G_MAXUINT;
    }
    cram_engine_free(b);
}

/* The same, into an engine like the source's: zstd, 8 MiB of media. */
static void expect_bad(Stream *s, const char *msg)
{
    expect_bad_in(s, CRAM_CODEC_ZSTD, 8 * MiB, msg);
}

static void test_round_trip(gconstpointer data)
{
    CramCodecId codec = GPOINTER_TO_INT(data);
    CramEngine *a = new_engine(64 * MiB, 8 * MiB, codec);
    CramEngine *b = new_engine(64 * MiB, 8 * MiB, codec);
    uint8_t p[CRAM_PAGE_SIZE];
    CramStats sa, sb;
    GError *err = NULL;
    Stream *s;
    uint64_t i;

    load_mixed(a, 1500, 42);
    s = export_all(a);
    g_assert_cmpuint(s->st.media_used, >, 0);
    g_assert_cmpuint(s->st.poisoned_pages, >, 0);
    /* b held something else before: the import replaces it. */
    load_mixed(b, 100, 7);
    g_assert_true(import_all(b, s, &err));
    g_assert_no_error(err);
    cram_engine_get_stats(a, &sa);
    cram_engine_get_stats(b, &sb);
    assert_same_stats(&sa, &sb);
    assert_same_pages(a, b, 1500 * 7);

    /* Both go on alike: rewrite, then everything freed leaks nothing. */
    for (i = 0; i < 1500 * 7; i += 3) {
        memset(p, (int)i, sizeof(p));
        p[17] ^= 1;
        g_assert_cmpint(cram_engine_store(a, i, p), ==,
                        cram_engine_store(b, i, p));
    }
    cram_engine_get_stats(a, &sa);
    cram_engine_get_stats(b, &sb);
    assert_same_stats(&sa, &sb);
    for (i = 0; i < 1500 * 7; i++) {
        cram_engine_discard(b, i);
    }
    cram_engine_get_stats(b, &sb);
    g_assert_cmpuint(sb.media_used, ==, 0);
    g_assert_cmpuint(sb.poisoned_pages, ==, 0);
    stream_free(s);
    cram_engine_free(a);
    cram_engine_free(b);
}

/*
 * Without the span groups (each object in a span of its own), the
 * destination would use other media pages than the source: the figures
 * would differ, and the import says so and leaves the engine empty.
 */
static void test_groups_keep_media_used(void)
{
    CramEngine *a = new_engine(64 * MiB, 8 * MiB, CRAM_CODEC_ZSTD);
    Stream *s;
    guint i;

    load_mixed(a, 1500, 3);
    s = export_all(a);
    for (i = 0; i < s->recs->len; i++) {
        if (rec_at(s, i)->data) {
            rec_at(s, i)->group = i;
        }
    }
    expect_bad(s, "media used is");
    stream_free(s);
    cram_engine_free(a);
}

/* Three pages of a 1 TiB store export as three records, fast. */
static void test_sparse(void)
{
    CramEngine *a = new_engine(1 * TiB, 1 * GiB, CRAM_CODEC_LZ4);
    CramEngine *b = new_engine(1 * TiB, 1 * GiB, CRAM_CODEC_LZ4);
    uint64_t last = (1 * TiB >> CRAM_PAGE_SHIFT) - 1;
    GRand *r = g_rand_new_with_seed(1);
    uint8_t p[CRAM_PAGE_SIZE];
    GError *err = NULL;
    CramStats sa, sb;
    Stream *s;

    page_text(r, p);
    cram_engine_store(a, 0, p);
    cram_engine_store(a, last / 2, p);
    cram_engine_store(a, last, p);
    s = export_all(a);
    g_assert_cmpuint(s->recs->len, ==, 3);
    g_assert_cmpuint(rec_at(s, 2)->page, ==, last);
    g_assert_true(import_all(b, s, &err));
    cram_engine_get_stats(a, &sa);
    cram_engine_get_stats(b, &sb);
    assert_same_stats(&sa, &sb);
    cram_engine_load(b, last, p + 0);
    g_assert_false(page_is_zero(p));
    g_assert_cmpuint(cram_engine_metadata_bytes(b), <, 1 * MiB);
    stream_free(s);
    g_rand_free(r);
    cram_engine_free(a);
    cram_engine_free(b);
}

static guint find_class(Stream *s, CramPageKind kind, bool poisoned)
{
    guint i;

    for (i = 0; i < s->recs->len; i++) {
        CramPageRecord *r = rec_at(s, i);

        if (r->kind == kind && !!(r->flags & CRAM_RECORD_POISON) == poisoned) {
            return i;
        }
    }
    g_assert_not_reached();
}

/* Two consecutive compressed records in one span group. */
static guint find_group_pair(Stream *s)
{
    guint i;

    for (i = 0; i + 1 < s->recs->len; i++) {
        CramPageRecord *a = rec_at(s, i), *b = rec_at(s, i + 1);

        if (a->kind == CRAM_KIND_COMPRESSED &&
            b->kind == CRAM_KIND_COMPRESSED && a->group == b->group) {
            return i;
        }
    }
    g_assert_not_reached();
}

/* A compressed record of at most (or, @big, at least) @size bytes. */
static guint find_size(Stream *s, uint32_t size, bool big)
{
    guint i;

    for (i = 0; i < s->recs->len; i++) {
        CramPageRecord *r = rec_at(s, i);

        if (r->kind == CRAM_KIND_COMPRESSED &&
            (big ? r->size >= size : r->size <= size)) {
            return i;
        }
    }
    g_assert_not_reached();
}

/*
 * Slots that cannot be the source's: one given twice in a span group, a
 * group whose objects are of two size classes (a small object's span
 * cannot hold one of more than half a page).
 */
static void bad_slots(Stream *s)
{
    guint i = find_group_pair(s), small = find_size(s, 256, false);
    guint big = find_size(s, 2200, true);
    CramPageRecord *r;

    bad_rec(s, i + 1)->slot = rec_at(s, i)->slot;
    expect_bad(s, "is given twice");

    g_assert_cmpuint(small + 1, <, s->recs->len);
    r = bad_rec(s, small + 1);
    *r = *rec_at(s, big);
    r->group = rec_at(s, small)->group;
    expect_bad(s, "mixes objects of different size classes");
}

static void test_bad_records(void)
{
    CramEngine *a = new_engine(64 * MiB, 8 * MiB, CRAM_CODEC_ZSTD);
    guint comp, raw, zero, same, pois;
    uint8_t garbage[CRAM_PAGE_SIZE];
    CramPageRecord *r;
    CramStats keep;
    Stream *s;
    guint i;

    memset(garbage, 0x5a, sizeof(garbage));
    load_mixed(a, 600, 9);
    s = export_all(a);
    comp = find_class(s, CRAM_KIND_COMPRESSED, false);
    raw = find_class(s, CRAM_KIND_RAW, false);
    zero = find_class(s, CRAM_KIND_ZERO, false);
    same = find_class(s, CRAM_KIND_SAME, false);
    pois = find_class(s, CRAM_KIND_EMPTY, true);

    bad_rec(s, comp)->page = 64 * MiB / CRAM_PAGE_SIZE;
    expect_bad(s, "beyond the");
    bad_rec(s, zero)->page = UINT64_MAX;
    expect_bad(s, "beyond the");
    bad_rec(s, same)->flags |= 0x80;
    expect_bad(s, "unknown flags");
    bad_rec(s, pois)->flags = 0;
    expect_bad(s, "kind 0 with");
    bad_rec(s, zero)->flags = CRAM_RECORD_POISON;
    expect_bad(s, "kind 1 with");
    bad_rec(s, raw)->kind = CRAM_KIND__MAX;
    expect_bad(s, "unknown kind");
    bad_rec(s, comp)->size = 0;
    expect_bad(s, "object of 0");
    bad_rec(s, comp)->size = CRAM_PAGE_SIZE + 1;
    expect_bad(s, "object of 4097");
    bad_rec(s, raw)->size = CRAM_PAGE_SIZE - 1;
    expect_bad(s, "object of 4095");
    bad_rec(s, zero)->size = 16;
    expect_bad(s, "object of 16");
    bad_rec(s, same)->fill = 0;
    expect_bad(s, "same-filled with zero");
    bad_rec(s, raw)->data = NULL;
    expect_bad(s, "object of 4096");
    bad_rec(s, comp)->data = garbage;
    expect_bad(s, "does not decompress to a page with zstd");
    /* zstd objects in an lz4 store */
    expect_bad_in(s, CRAM_CODEC_LZ4, 8 * MiB,
                  "does not decompress to a page with lz4");
    /* more than the destination's media holds */
    expect_bad_in(s, CRAM_CODEC_ZSTD, 256 * KiB, "no media left");
    /* a slot beyond any span */
    bad_rec(s, comp)->slot = 4000;
    expect_bad(s, "slot 4000 is beyond the span");
    /* a raw page takes a media page of its own: slot 0 only */
    bad_rec(s, raw)->slot = 1;
    expect_bad(s, "slot 1 is beyond the span of a 4096-byte object (1 slots)");
    /* a page without media in a span group */
    r = bad_rec(s, same);
    r->group = 7;
    r->slot = 3;
    expect_bad(s, "holds no media, yet span group 7 slot 3");
    bad_slots(s);

    /* a page given twice */
    g_array_append_val(s->recs, *rec_at(s, same));
    rec_at(s, s->recs->len - 1)->data = NULL;
    expect_bad(s, "given twice");
    g_array_set_size(s->recs, s->recs->len - 1);

    /* figures that the pages do not add up to */
    for (i = 0; i < 6; i++) {
        keep = s->st;
        switch (i) {
        case 0:
            s->st.media_used += 4096;
            break;
        case 1:
            s->st.stored_bytes--;
            break;
        case 2:
            s->st.pages[CRAM_KIND_SAME]++;
            break;
        case 3:
            s->st.poisoned_pages = 0;
            break;
        case 4:
            s->st.media_reserved = 4096;
            break;
        case 5:
            s->st.pages[CRAM_KIND_RAW]--;
            break;
        }
        expect_bad(s, "the source had");
        s->st = keep;
    }
    stream_free(s);
    cram_engine_free(a);
}

/* Cached dirty pages hold reservations: no import over them. */
static void test_reserved(void)
{
    CramEngine *b = new_engine(64 * MiB, 8 * MiB, CRAM_CODEC_ZSTD);
    GError *err = NULL;

    g_assert_true(cram_engine_reserve(b));
    g_assert_null(cram_import_new(b, 0, &err));
    g_assert_nonnull(strstr(err->message, "reserved"));
    g_clear_error(&err);
    cram_engine_unreserve(b);
    cram_engine_free(b);
}

/* A byte stream in memory for the wire format; reads stop at @end. */
typedef struct Wire {
    GByteArray *b;
    gsize at, end;
} Wire;

static void wire_put(void *opaque, const void *buf, size_t len)
{
    g_byte_array_append(((Wire *)opaque)->b, buf, len);
}

static bool wire_get(void *opaque, void *buf, size_t len)
{
    Wire *w = opaque;

    if (len > w->end - w->at) {
        return false;
    }
    memcpy(buf, w->b->data + w->at, len);
    w->at += len;
    return true;
}

/* A new engine holding @count records of @w cut at @end, or NULL. */
static CramEngine *wire_load(Wire *w, gsize end, uint64_t count,
                             const CramStats *st, unsigned max_tag,
                             GError **err)
{
    CramEngine *b = new_engine(64 * MiB, 8 * MiB, CRAM_CODEC_ZSTD);
    CramImport *im = cram_import_new(b, max_tag, err);

    g_assert_nonnull(im);
    w->at = 0;
    w->end = end;
    if (!cram_import_read(im, count, wire_get, w, err)) {
        cram_import_abort(im);
    } else if (cram_import_finish(im, st, err)) {
        return b;
    }
    cram_engine_free(b);
    return NULL;
}

static void expect_wire_bad(Wire *w, gsize end, uint64_t count,
                            const CramStats *st, unsigned max_tag,
                            const char *msg)
{
    GError *err = NULL;

    g_assert_null(wire_load(w, end, count, st, max_tag, &err));
    g_assert_nonnull(err);
    if (!strstr(err->message, msg)) {
        g_error("cut at %zu of %u: '%s', expected '%s'", end, w->b->len,
                err->message, msg);
    }
    g_error_free(err);
}

/*
 * The records on a byte stream: read back, the same pages and poison
 * tags; a stream cut anywhere, a tag above the destination's limit or
 * an object larger than a page is refused, naming the record.
 */
static void test_wire(void)
{
    CramEngine *a = new_engine(64 * MiB, 8 * MiB, CRAM_CODEC_ZSTD), *b;
    /* page 0, COMPRESSED, no flags, 4097 bytes, group 1, slot 0 */
    static const uint8_t huge[18] = {
        [8] = CRAM_KIND_COMPRESSED, [10] = 0x10, [11] = 0x01, [15] = 1,
    };
    Wire w = { .b = g_byte_array_new() };
    GError *err = NULL;
    uint64_t count, i;
    CramExport *x;
    CramStats st;
    gsize cut;

    load_mixed(a, 600, 5);
    for (i = 0; i < 20; i++) {
        cram_engine_poison_tagged(a, 600 * 7 + i, 2);
    }
    cram_engine_get_stats(a, &st);
    x = cram_export_new(a);
    count = cram_export_count(x);
    g_assert_cmpuint(cram_export_write(x, wire_put, &w), ==, st.stored_bytes);
    cram_export_free(x);

    b = wire_load(&w, w.b->len, count, &st, 2, &err);
    g_assert_no_error(err);
    assert_same_pages(a, b, 600 * 7 + 20);
    g_assert_cmpint(cram_engine_poison_tag(b, 600 * 7 + 3), ==, 2);
    g_assert_cmpint(cram_engine_poison_tag(b, 2 * 7), ==, 0);
    cram_engine_free(b);

    expect_wire_bad(&w, w.b->len, count, &st, 1, "poison tag 2");
    for (cut = 0; cut < w.b->len; cut += w.b->len / 97 + 1) {
        expect_wire_bad(&w, cut, count, &st, 2, "the stream ends at record");
    }
    g_byte_array_set_size(w.b, 0);
    g_byte_array_append(w.b, huge, sizeof(huge));
    expect_wire_bad(&w, w.b->len, 1, &st, 2,
                    "record 0: page 0 has an object of 4097 bytes");
    g_byte_array_free(w.b, TRUE);
    cram_engine_free(a);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_data_func("/export/round-trip/zstd",
                         GINT_TO_POINTER(CRAM_CODEC_ZSTD), test_round_trip);
    g_test_add_data_func("/export/round-trip/lz4",
                         GINT_TO_POINTER(CRAM_CODEC_LZ4), test_round_trip);
    g_test_add_data_func("/export/round-trip/none",
                         GINT_TO_POINTER(CRAM_CODEC_NONE), test_round_trip);
    g_test_add_func("/export/groups-keep-media-used",
                    test_groups_keep_media_used);
    g_test_add_func("/export/sparse-1tib", test_sparse);
    g_test_add_func("/export/bad-records", test_bad_records);
    g_test_add_func("/export/reserved", test_reserved);
    g_test_add_func("/export/wire", test_wire);
    return g_test_run();
}
