/*
 * cxl-cram engine tests: media allocator
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <string.h>
#include "cram-alloc.h"

#define SLOT_OF(h) ((unsigned)((h) & ((1u << CRAM_HANDLE_SLOT_BITS) - 1)))

typedef struct Obj {
    uint64_t handle;
    size_t size;
    uint32_t seed;
} Obj;

/* A pattern that differs per object and per byte. */
static void pattern(uint8_t *buf, size_t size, uint32_t seed)
{
    size_t i;

    for (i = 0; i < size; i++) {
        buf[i] = (uint8_t)((seed * 2654435761u + i * 40503u) >> 13);
    }
}

static void check_obj(CramAlloc *a, const Obj *o)
{
    uint8_t want[CRAM_PAGE_SIZE], got[CRAM_PAGE_SIZE];
    uint8_t bounce[CRAM_PAGE_SIZE];
    const void *p;

    pattern(want, o->size, o->seed);
    memset(got, 0, sizeof(got));
    cram_alloc_read(a, o->handle, got, o->size);
    g_assert_true(memcmp(want, got, o->size) == 0);
    p = cram_alloc_map(a, o->handle, o->size, bounce);
    g_assert_true(memcmp(want, p, o->size) == 0);
}

static CramAlloc *new_alloc(uint64_t media_size)
{
    GError *err = NULL;
    CramAlloc *a = cram_alloc_new(media_size, &err);

    g_assert_no_error(err);
    g_assert_nonnull(a);
    g_assert_cmpuint(cram_alloc_used(a), ==, 0);
    return a;
}

static void test_fill_mixed(void)
{
    const uint64_t media = 16 << 20;
    CramAlloc *a = new_alloc(media);
    GRand *r = g_rand_new_with_seed(1234);
    GArray *objs = g_array_new(FALSE, FALSE, sizeof(Obj));
    uint64_t stored = 0;
    unsigned failures = 0, i;

    /* Allocate until 200 allocations have failed. */
    while (failures < 200) {
        Obj o;
        uint64_t before = cram_alloc_used(a);
        uint8_t buf[CRAM_PAGE_SIZE];

        o.size = g_rand_int_range(r, 1, CRAM_PAGE_SIZE + 1);
        o.seed = objs->len + 1;
        if (!cram_alloc_obj(a, o.size, &o.handle)) {
            g_assert_cmpuint(cram_alloc_used(a), ==, before);
            failures++;
            continue;
        }
        g_assert_cmpuint(cram_alloc_used(a), <=, media);
        pattern(buf, o.size, o.seed);
        cram_alloc_write(a, o.handle, buf, o.size);
        stored += o.size;
        g_array_append_val(objs, o);
    }
    /* Mixed sizes pack the media fairly densely. */
    g_assert_cmpuint(cram_alloc_used(a), >, media - 4 * CRAM_PAGE_SIZE);
    g_assert_cmpuint(stored, >, media / 10 * 8);
    g_assert_cmpuint(objs->len, >, 100);

    for (i = 0; i < objs->len; i++) {
        check_obj(a, &g_array_index(objs, Obj, i));
    }

    /* Free in random order; survivors stay intact throughout. */
    while (objs->len) {
        unsigned k = g_rand_int_range(r, 0, objs->len);

        cram_alloc_free_obj(a, g_array_index(objs, Obj, k).handle);
        g_array_remove_index_fast(objs, k);
        if (objs->len % 1024 == 0) {
            for (i = 0; i < objs->len; i++) {
                check_obj(a, &g_array_index(objs, Obj, i));
            }
        }
    }
    g_assert_cmpuint(cram_alloc_used(a), ==, 0);

    g_array_free(objs, TRUE);
    g_rand_free(r);
    cram_alloc_free(a);
}

/* 48-byte slots use 3-page spans, so some slots straddle media pages. */
static void test_straddle(void)
{
    CramAlloc *a = new_alloc(16 * CRAM_PAGE_SIZE);
    enum { N = 3 * CRAM_PAGE_SIZE / 48 };
    Obj objs[N];
    uint8_t bounce[CRAM_PAGE_SIZE];
    unsigned i, straddlers = 0;

    for (i = 0; i < N; i++) {
        uint8_t buf[48];

        objs[i].size = 48 - (i % 3);            /* all in the 48 class */
        objs[i].seed = 1000 + i;
        g_assert_true(cram_alloc_obj(a, objs[i].size, &objs[i].handle));
        pattern(buf, objs[i].size, objs[i].seed);
        cram_alloc_write(a, objs[i].handle, buf, objs[i].size);
    }
    /* One span of three pages, zero waste. */
    g_assert_cmpuint(cram_alloc_used(a), ==, 3 * CRAM_PAGE_SIZE);

    for (i = 0; i < N; i++) {
        unsigned off = SLOT_OF(objs[i].handle) * 48 % CRAM_PAGE_SIZE;
        const void *p = cram_alloc_map(a, objs[i].handle, objs[i].size,
                                       bounce);

        check_obj(a, &objs[i]);
        if (off + objs[i].size > CRAM_PAGE_SIZE) {
            g_assert_true(p == bounce);
            straddlers++;
        } else {
            g_assert_true(p != bounce);
        }
    }
    g_assert_cmpuint(straddlers, ==, 2);

    /* The next object opens a second span. */
    g_assert_true(cram_alloc_obj(a, 40, &objs[0].handle));
    g_assert_cmpuint(cram_alloc_used(a), ==, 6 * CRAM_PAGE_SIZE);
    cram_alloc_free(a);
}

static void test_same_class(void)
{
    CramAlloc *a = new_alloc(16 * CRAM_PAGE_SIZE);

    g_assert_true(cram_alloc_same_class(a, 100, 110));
    g_assert_true(cram_alloc_same_class(a, 1, 16));
    g_assert_true(cram_alloc_same_class(a, 4096, 4081));
    g_assert_false(cram_alloc_same_class(a, 100, 120));
    g_assert_false(cram_alloc_same_class(a, 16, 17));
    g_assert_false(cram_alloc_same_class(a, 48, 64));
    /* 4080 also gives one slot per one-page span: shares 4096's class. */
    g_assert_true(cram_alloc_same_class(a, 4080, 4096));
    g_assert_false(cram_alloc_same_class(a, 2800, 4096));
    /* 3040 and 3072 both give 4 slots per 3-page span. */
    g_assert_true(cram_alloc_same_class(a, 3040, 3072));
    cram_alloc_free(a);
}

/* A freed slot is the next one handed out in its class. */
static void test_slot_reuse(void)
{
    CramAlloc *a = new_alloc(16 * CRAM_PAGE_SIZE);
    uint64_t h[4], h2;

    g_assert_true(cram_alloc_obj(a, 100, &h[0]));
    g_assert_true(cram_alloc_obj(a, 100, &h[1]));
    g_assert_true(cram_alloc_obj(a, 100, &h[2]));
    g_assert_true(cram_alloc_obj(a, 200, &h[3]));
    cram_alloc_free_obj(a, h[1]);
    g_assert_true(cram_alloc_obj(a, 110, &h2));
    g_assert_cmphex(h2, ==, h[1]);
    cram_alloc_free_obj(a, h[0]);
    cram_alloc_free_obj(a, h2);
    cram_alloc_free_obj(a, h[2]);
    cram_alloc_free_obj(a, h[3]);
    g_assert_cmpuint(cram_alloc_used(a), ==, 0);

    /* 2048-byte objects: two per one-page span.  A full span regains... */
    g_assert_true(cram_alloc_obj(a, 2048, &h[0]));
    g_assert_true(cram_alloc_obj(a, 2048, &h[1]));
    g_assert_cmpuint(cram_alloc_used(a), ==, CRAM_PAGE_SIZE);
    cram_alloc_free_obj(a, h[0]);
    /* ...a free slot, which is used before a new span is made. */
    g_assert_true(cram_alloc_obj(a, 2000, &h2));
    g_assert_cmphex(h2, ==, h[0]);
    g_assert_cmpuint(cram_alloc_used(a), ==, CRAM_PAGE_SIZE);
    cram_alloc_free_obj(a, h[1]);
    cram_alloc_free_obj(a, h2);
    g_assert_cmpuint(cram_alloc_used(a), ==, 0);
    cram_alloc_free(a);
}

/* Whole-page objects take the lowest-numbered free media page. */
static void test_lowest_page_first(void)
{
    CramAlloc *a = new_alloc(200 * CRAM_PAGE_SIZE);
    uint8_t bounce[CRAM_PAGE_SIZE];
    const uint8_t *base, *p;
    uint64_t h[200], h2;
    unsigned i;

    for (i = 0; i < 200; i++) {
        g_assert_true(cram_alloc_obj(a, CRAM_PAGE_SIZE, &h[i]));
    }
    g_assert_false(cram_alloc_obj(a, CRAM_PAGE_SIZE, &h2));
    g_assert_false(cram_alloc_obj(a, 16, &h2));
    g_assert_cmpuint(cram_alloc_used(a), ==, 200 * CRAM_PAGE_SIZE);

    base = cram_alloc_map(a, h[0], CRAM_PAGE_SIZE, bounce);
    for (i = 0; i < 200; i++) {
        p = cram_alloc_map(a, h[i], CRAM_PAGE_SIZE, bounce);
        g_assert_true(p == base + (size_t)i * CRAM_PAGE_SIZE);
    }

    cram_alloc_free_obj(a, h[150]);
    cram_alloc_free_obj(a, h[70]);
    cram_alloc_free_obj(a, h[130]);
    g_assert_true(cram_alloc_obj(a, CRAM_PAGE_SIZE, &h2));
    p = cram_alloc_map(a, h2, CRAM_PAGE_SIZE, bounce);
    g_assert_true(p == base + 70 * CRAM_PAGE_SIZE);
    g_assert_true(cram_alloc_obj(a, CRAM_PAGE_SIZE, &h2));
    p = cram_alloc_map(a, h2, CRAM_PAGE_SIZE, bounce);
    g_assert_true(p == base + 130 * CRAM_PAGE_SIZE);
    g_assert_cmpuint(cram_alloc_used(a), ==, 199 * CRAM_PAGE_SIZE);
    cram_alloc_free(a);
}

/* A 4-page span can't be made from 3 free pages; nothing changes. */
static void test_span_needs_all_pages(void)
{
    CramAlloc *a = new_alloc(3 * CRAM_PAGE_SIZE);
    uint64_t h;

    g_assert_false(cram_alloc_obj(a, 176, &h));     /* 176: 4-page spans */
    g_assert_cmpuint(cram_alloc_used(a), ==, 0);
    g_assert_true(cram_alloc_obj(a, 48, &h));       /* 48: 3-page spans */
    g_assert_cmpuint(cram_alloc_used(a), ==, 3 * CRAM_PAGE_SIZE);
    cram_alloc_free_obj(a, h);
    g_assert_cmpuint(cram_alloc_used(a), ==, 0);
    cram_alloc_free(a);
}

/* One object per class: every class works and all media comes back. */
static void test_every_class(void)
{
    CramAlloc *a = new_alloc(2048 * CRAM_PAGE_SIZE);
    Obj objs[CRAM_ALLOC_NCLASSES];
    unsigned i;

    for (i = 0; i < CRAM_ALLOC_NCLASSES; i++) {
        uint8_t buf[CRAM_PAGE_SIZE];

        objs[i].size = (i + 1) * CRAM_ALLOC_ALIGN;
        objs[i].seed = 77 + i;
        g_assert_true(cram_alloc_obj(a, objs[i].size, &objs[i].handle));
        pattern(buf, objs[i].size, objs[i].seed);
        cram_alloc_write(a, objs[i].handle, buf, objs[i].size);
    }
    for (i = 0; i < CRAM_ALLOC_NCLASSES; i++) {
        check_obj(a, &objs[i]);
    }
    g_assert_cmpuint(cram_alloc_used(a), >=,
                     CRAM_ALLOC_NCLASSES * CRAM_PAGE_SIZE);
    g_assert_cmpuint(cram_alloc_used(a), <=,
                     CRAM_ALLOC_NCLASSES * CRAM_SPAN_MAX_PAGES *
                     CRAM_PAGE_SIZE);
    for (i = 0; i < CRAM_ALLOC_NCLASSES; i++) {
        cram_alloc_free_obj(a, objs[i].handle);
    }
    g_assert_cmpuint(cram_alloc_used(a), ==, 0);
    cram_alloc_free(a);
}

static void test_reset(void)
{
    CramAlloc *a = new_alloc(128 * CRAM_PAGE_SIZE);
    uint64_t meta0 = cram_alloc_meta_bytes(a);
    uint64_t h;
    unsigned i;

    for (i = 0; i < 1000; i++) {
        g_assert_true(cram_alloc_obj(a, 1 + i % 200, &h));
    }
    g_assert_cmpuint(cram_alloc_used(a), >, 0);
    cram_alloc_reset(a);
    g_assert_cmpuint(cram_alloc_used(a), ==, 0);
    g_assert_cmpuint(cram_alloc_meta_bytes(a), ==, meta0);
    for (i = 0; i < 128; i++) {
        g_assert_true(cram_alloc_obj(a, CRAM_PAGE_SIZE, &h));
    }
    g_assert_false(cram_alloc_obj(a, CRAM_PAGE_SIZE, &h));
    cram_alloc_free(a);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/alloc/fill-mixed", test_fill_mixed);
    g_test_add_func("/alloc/straddle", test_straddle);
    g_test_add_func("/alloc/same-class", test_same_class);
    g_test_add_func("/alloc/slot-reuse", test_slot_reuse);
    g_test_add_func("/alloc/lowest-page-first", test_lowest_page_first);
    g_test_add_func("/alloc/span-needs-all-pages", test_span_needs_all_pages);
    g_test_add_func("/alloc/every-class", test_every_class);
    g_test_add_func("/alloc/reset", test_reset);
    return g_test_run();
}
