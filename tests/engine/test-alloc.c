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

/* The objects' own bytes. */
static uint64_t live_slot_bytes(CramAlloc *a, GArray *objs)
{
    uint64_t b = 0;
    unsigned i;

    (void)a;
    for (i = 0; i < objs->len; i++) {
        b += g_array_index(objs, Obj, i).size;
    }
    return b;
}

static void put_obj(CramAlloc *a, GArray *objs, size_t size, uint32_t seed)
{
    uint8_t buf[CRAM_PAGE_SIZE];
    Obj o = { .size = size, .seed = seed };

    g_assert_true(cram_alloc_obj(a, o.size, &o.handle));
    pattern(buf, o.size, o.seed);
    cram_alloc_write(a, o.handle, buf, o.size);
    g_array_append_val(objs, o);
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
            cram_alloc_check(a);
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

/*
 * 48-byte slots use 3-page spans, so some slots straddle media pages.  A
 * whole-page object taken right after the span's first page keeps the
 * span's first two pages apart: the first straddler is read through the
 * bounce buffer, the second (adjacent pages) in place.
 */
static void test_straddle(void)
{
    CramAlloc *a = new_alloc(16 * CRAM_PAGE_SIZE);
    enum { N = 3 * CRAM_PAGE_SIZE / 48 };
    Obj objs[N];
    uint8_t bounce[CRAM_PAGE_SIZE];
    unsigned i, straddlers = 0, bounced = 0;
    uint64_t whole, extra;

    for (i = 0; i < N; i++) {
        uint8_t buf[48];

        objs[i].size = 48 - (i % 3);            /* all in the 48 class */
        objs[i].seed = 1000 + i;
        g_assert_true(cram_alloc_obj(a, objs[i].size, &objs[i].handle));
        pattern(buf, objs[i].size, objs[i].seed);
        cram_alloc_write(a, objs[i].handle, buf, objs[i].size);
        if (i == 0) {
            g_assert_true(cram_alloc_obj(a, CRAM_PAGE_SIZE, &whole));
        }
    }
    /* One span of three pages, zero waste, and the whole page. */
    g_assert_cmpuint(cram_alloc_used(a), ==, 4 * CRAM_PAGE_SIZE);

    for (i = 0; i < N; i++) {
        unsigned off = SLOT_OF(objs[i].handle) * 48 % CRAM_PAGE_SIZE;
        const void *p = cram_alloc_map(a, objs[i].handle, objs[i].size,
                                       bounce);

        check_obj(a, &objs[i]);
        if (off + objs[i].size > CRAM_PAGE_SIZE) {
            straddlers++;
            bounced += p == bounce;
        } else {
            g_assert_true(p != bounce);
        }
    }
    g_assert_cmpuint(straddlers, ==, 2);
    g_assert_cmpuint(bounced, ==, 1);

    /* The next object opens a second span, which takes one page. */
    g_assert_true(cram_alloc_obj(a, 40, &extra));
    g_assert_cmpuint(cram_alloc_used(a), ==, 5 * CRAM_PAGE_SIZE);
    cram_alloc_free_obj(a, extra);
    cram_alloc_free_obj(a, whole);
    for (i = 0; i < N; i++) {
        cram_alloc_free_obj(a, objs[i].handle);
    }
    g_assert_cmpuint(cram_alloc_used(a), ==, 0);
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

/*
 * A span takes a media page when one of its slots first reaches it.  An
 * allocation that needs a page when none is free fails with nothing
 * changed, even though its span has slots left; a freed slot in the
 * pages the span holds can still be reused.
 */
static void test_span_pages_lazy(void)
{
    enum { N = 2 * CRAM_PAGE_SIZE / 48 };      /* slots in two pages */
    CramAlloc *a = new_alloc(3 * CRAM_PAGE_SIZE);
    uint64_t h[N], whole, h2;
    unsigned i;

    for (i = 0; i < N; i++) {
        g_assert_true(cram_alloc_obj(a, 48, &h[i]));
        /* Slot 85 is the first to reach the span's second page. */
        g_assert_cmpuint(cram_alloc_used(a), ==,
                         (i < 85 ? 1 : 2) * CRAM_PAGE_SIZE);
    }
    g_assert_true(cram_alloc_obj(a, CRAM_PAGE_SIZE, &whole));
    g_assert_cmpuint(cram_alloc_used(a), ==, 3 * CRAM_PAGE_SIZE);

    /* Slot 170 would straddle into a third span page: none is left. */
    g_assert_false(cram_alloc_obj(a, 48, &h2));
    g_assert_false(cram_alloc_obj(a, 64, &h2));  /* a new span: no page */
    g_assert_cmpuint(cram_alloc_used(a), ==, 3 * CRAM_PAGE_SIZE);

    cram_alloc_free_obj(a, h[7]);
    g_assert_true(cram_alloc_obj(a, 33, &h2));
    g_assert_cmphex(h2, ==, h[7]);

    for (i = 0; i < N; i++) {
        cram_alloc_free_obj(a, h[i]);
    }
    cram_alloc_free_obj(a, whole);
    g_assert_cmpuint(cram_alloc_used(a), ==, 0);
    cram_alloc_free(a);
}

/*
 * Host bookkeeping: nothing for whole-page objects, a few bytes per
 * object otherwise, and everything back once a class empties.
 */
static void test_meta_bytes(void)
{
    static const size_t sizes[] = { 200, 1000, 1400, 2100, 3000, 3600 };
    enum { PAGES = 2048 };
    CramAlloc *a = new_alloc(PAGES * CRAM_PAGE_SIZE);
    uint64_t meta0 = cram_alloc_meta_bytes(a);
    g_autofree uint64_t *h = g_new(uint64_t, PAGES * CRAM_PAGE_SIZE / 200);
    unsigned i, k, n;

    for (n = 0; n < PAGES; n++) {
        g_assert_true(cram_alloc_obj(a, CRAM_PAGE_SIZE, &h[n]));
    }
    g_assert_cmpuint(cram_alloc_meta_bytes(a), ==, meta0);
    for (i = 0; i < n; i++) {
        cram_alloc_free_obj(a, h[i]);
    }

    for (k = 0; k < G_N_ELEMENTS(sizes); k++) {
        double per_obj;

        for (n = 0; cram_alloc_obj(a, sizes[k], &h[n]); n++) {
            /* fill the media */
        }
        g_assert_cmpuint(n, <=, PAGES * CRAM_PAGE_SIZE / sizes[k]);
        g_assert_cmpuint(n, >=, PAGES);
        per_obj = (double)(cram_alloc_meta_bytes(a) - meta0) / n;
        g_test_message("%zu-byte objects: %.2f bytes each", sizes[k],
                       per_obj);
        g_assert_cmpfloat(per_obj, <=, 6.5);
        for (i = 0; i < n; i++) {
            cram_alloc_free_obj(a, h[i]);
        }
        g_assert_cmpuint(cram_alloc_used(a), ==, 0);
        g_assert_cmpuint(cram_alloc_meta_bytes(a), ==, meta0);
    }
    cram_alloc_free(a);
}

/* One object per class: every class works and all media comes back. */
static void test_every_class(void)
{
    CramAlloc *a = new_alloc(2048 * CRAM_PAGE_SIZE);
    Obj objs[CRAM_ALLOC_NCLASSES];
    unsigned i, nclasses;

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
    /* Each serving class holds a page at least, each object two at most. */
    for (i = 1, nclasses = 1; i < CRAM_ALLOC_NCLASSES; i++) {
        nclasses += !cram_alloc_same_class(a, i * CRAM_ALLOC_ALIGN,
                                           (i + 1) * CRAM_ALLOC_ALIGN);
    }
    g_assert_cmpuint(cram_alloc_used(a), >=, nclasses * CRAM_PAGE_SIZE);
    g_assert_cmpuint(cram_alloc_used(a), <=,
                     2 * CRAM_ALLOC_NCLASSES * CRAM_PAGE_SIZE);
    for (i = 0; i < CRAM_ALLOC_NCLASSES; i++) {
        cram_alloc_free_obj(a, objs[i].handle);
    }
    g_assert_cmpuint(cram_alloc_used(a), ==, 0);
    cram_alloc_free(a);
}

/*
 * A span gives a media page back as soon as no object in use lies on it,
 * even while other pages of the span still hold objects.
 */
static void test_page_returned(void)
{
    enum { SIZE = 48, PER_PAGE = CRAM_PAGE_SIZE / SIZE };    /* 85 */
    CramAlloc *a = new_alloc(16 * CRAM_PAGE_SIZE);
    uint64_t h[3 * PER_PAGE + 1], h2;
    unsigned i;

    /* One 3-page span (48-byte slots): 256 slots, no tail waste. */
    for (i = 0; i < G_N_ELEMENTS(h); i++) {
        g_assert_true(cram_alloc_obj(a, SIZE, &h[i]));
    }
    g_assert_cmpuint(cram_alloc_used(a), ==, 3 * CRAM_PAGE_SIZE);
    /* Slots 86..169 lie wholly on the second page, 85 and 170 straddle. */
    for (i = 86; i < 170; i++) {
        cram_alloc_free_obj(a, h[i]);
        g_assert_cmpuint(cram_alloc_used(a), ==, 3 * CRAM_PAGE_SIZE);
    }
    cram_alloc_free_obj(a, h[85]);
    g_assert_cmpuint(cram_alloc_used(a), ==, 3 * CRAM_PAGE_SIZE);
    cram_alloc_free_obj(a, h[170]);
    g_assert_cmpuint(cram_alloc_used(a), ==, 2 * CRAM_PAGE_SIZE);
    cram_alloc_check(a);
    /* The span still serves its last slots, then the hole takes a page. */
    for (i = 0; i < 256 - 3 * PER_PAGE - 1 + 84 + 2; i++) {
        g_assert_true(cram_alloc_obj(a, SIZE, &h2));
    }
    g_assert_cmpuint(cram_alloc_used(a), ==, 3 * CRAM_PAGE_SIZE);
    cram_alloc_check(a);
    cram_alloc_reset(a);
    g_assert_cmpuint(cram_alloc_used(a), ==, 0);
    cram_alloc_free(a);
}

/*
 * Media used is a function of the objects held, not of history: with a
 * baseline of objects in place, adding objects of every size and freeing
 * them again, in any order, returns media used to the baseline exactly.
 */
static void test_no_leak(void)
{
    CramAlloc *a = new_alloc(16 << 20);
    GRand *r = g_rand_new_with_seed(4242);
    GArray *base = g_array_new(FALSE, FALSE, sizeof(Obj));
    GArray *extra = g_array_new(FALSE, FALSE, sizeof(Obj));
    uint64_t used;
    unsigned round, i;

    for (i = 0; i < 1500; i++) {
        put_obj(a, base, g_rand_int_range(r, 16, CRAM_PAGE_SIZE + 1), i + 1);
    }
    used = cram_alloc_used(a);
    for (round = 0; round < 6; round++) {
        unsigned n = g_rand_int_range(r, 100, 2000);

        for (i = 0; i < n; i++) {
            size_t size = round % 2 ? g_rand_int_range(r, 300, 700) :
                          g_rand_int_range(r, 16, CRAM_PAGE_SIZE + 1);

            put_obj(a, extra, size, 10000 * (round + 1) + i);
        }
        g_assert_cmpuint(cram_alloc_used(a), >, used);
        cram_alloc_check(a);
        while (extra->len) {
            unsigned k = extra->len - 1;

            if (round % 3) {
                k = g_rand_int_range(r, 0, extra->len);
            }

            cram_alloc_free_obj(a, g_array_index(extra, Obj, k).handle);
            g_array_remove_index_fast(extra, k);
        }
        cram_alloc_check(a);
        g_assert_cmpuint(cram_alloc_used(a), ==, used);
        for (i = 0; i < base->len; i++) {
            check_obj(a, &g_array_index(base, Obj, i));
        }
    }
    for (i = 0; i < base->len; i++) {
        cram_alloc_free_obj(a, g_array_index(base, Obj, i).handle);
    }
    g_assert_cmpuint(cram_alloc_used(a), ==, 0);
    cram_alloc_check(a);
    g_array_free(base, TRUE);
    g_array_free(extra, TRUE);
    g_rand_free(r);
    cram_alloc_free(a);
}

static void note_move(void *opaque, uint64_t from, uint64_t to)
{
    GHashTable *moves = opaque;
    uint64_t *k = g_new(uint64_t, 1), *v = g_new(uint64_t, 1);

    *k = from;
    *v = to;
    /* A handle moves once per pass: its new slot is in a fuller span. */
    g_assert_false(g_hash_table_contains(moves, k));
    g_hash_table_insert(moves, k, v);
}

/*
 * Fill with mixed sizes, free most objects at random, compact: every
 * object keeps its bytes under its new handle, the media freed is what
 * compaction reports, no page is taken, a few passes converge and the
 * waste is at least halved.
 */
static void test_compact(void)
{
    const uint64_t media = 16 << 20;
    CramAlloc *a = new_alloc(media);
    GRand *r = g_rand_new_with_seed(99);
    GArray *objs = g_array_new(FALSE, FALSE, sizeof(Obj));
    GHashTable *moves = g_hash_table_new_full(g_int64_hash, g_int64_equal,
                                              g_free, g_free);
    uint64_t used, slack, freed, moved = 0;
    unsigned i, pass;

    while (cram_alloc_used(a) < media / 10 * 9) {
        uint8_t buf[CRAM_PAGE_SIZE];
        Obj o;

        o.size = g_rand_int_range(r, 16, 3841);
        o.seed = objs->len + 1;
        g_assert_true(cram_alloc_obj(a, o.size, &o.handle));
        pattern(buf, o.size, o.seed);
        cram_alloc_write(a, o.handle, buf, o.size);
        g_array_append_val(objs, o);
    }
    for (i = 0; i < objs->len;) {
        if (g_rand_int_range(r, 0, 10) < 7) {
            cram_alloc_free_obj(a, g_array_index(objs, Obj, i).handle);
            g_array_remove_index_fast(objs, i);
        } else {
            i++;
        }
    }

    used = cram_alloc_used(a);
    slack = cram_alloc_free_slot_bytes(a);
    g_assert_cmpuint(slack, >, used / 8);
    /* Each pass moves an object once at most; a few passes converge. */
    for (pass = 0; pass < 8; pass++) {
        uint64_t before = cram_alloc_used(a);

        freed = cram_alloc_compact(a, note_move, moves);
        g_assert_cmpuint(cram_alloc_used(a), ==,
                         before - freed * CRAM_PAGE_SIZE);
        cram_alloc_check(a);
        g_test_message("compaction pass %u: %" G_GUINT64_FORMAT " of %"
                       G_GUINT64_FORMAT " pages freed, %u moves, free "
                       "slots %" G_GUINT64_FORMAT " bytes", pass, freed,
                       before / CRAM_PAGE_SIZE, g_hash_table_size(moves),
                       cram_alloc_free_slot_bytes(a));
        g_assert_true(pass > 0 || freed > 0);
        for (i = 0; i < objs->len; i++) {
            Obj *o = &g_array_index(objs, Obj, i);
            uint64_t *to = g_hash_table_lookup(moves, &o->handle);

            if (to) {
                o->handle = *to;
            }
            check_obj(a, o);
        }
        moved += g_hash_table_size(moves);
        g_hash_table_remove_all(moves);
        if (!freed) {
            break;
        }
    }
    g_assert_cmpuint(pass, <, 8);
    g_assert_cmpuint(moved, >, 0);
    g_assert_cmpuint(cram_alloc_free_slot_bytes(a), <, slack / 3);
    /* The waste (media used beyond the objects' bytes) at least halves. */
    g_assert_cmpuint(cram_alloc_used(a) - live_slot_bytes(a, objs), <,
                     (used - live_slot_bytes(a, objs)) / 2);

    for (i = 0; i < objs->len; i++) {
        cram_alloc_free_obj(a, g_array_index(objs, Obj, i).handle);
    }
    g_assert_cmpuint(cram_alloc_used(a), ==, 0);
    g_assert_cmpuint(cram_alloc_free_slot_bytes(a), ==, 0);
    g_hash_table_destroy(moves);
    g_array_free(objs, TRUE);
    g_rand_free(r);
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
    g_test_add_func("/alloc/span-pages-lazy", test_span_pages_lazy);
    g_test_add_func("/alloc/meta-bytes", test_meta_bytes);
    g_test_add_func("/alloc/every-class", test_every_class);
    g_test_add_func("/alloc/reset", test_reset);
    g_test_add_func("/alloc/compact", test_compact);
    g_test_add_func("/alloc/page-returned", test_page_returned);
    g_test_add_func("/alloc/no-leak", test_no_leak);
    return g_test_run();
}
