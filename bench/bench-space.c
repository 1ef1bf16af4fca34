/*
 * cxl-cram engine benchmarks: media efficiency, churn and metadata
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include <string.h>
#include "bench.h"
#include "cram-alloc.h"
#include "cram-encode.h"

#define GiB (1ULL << 30)

static CramEngine *engine_new(CramCodecId codec, uint64_t capacity,
                              uint64_t media)
{
    CramConfig cfg = {
        .capacity = capacity,
        .media_size = media,
        .codec = codec,
        .level = 0,
    };
    GError *err = NULL;
    CramEngine *e = cram_engine_new(&cfg, &err);

    if (!e) {
        g_error("bench: %s", err->message);
    }
    return e;
}

static double overhead(const CramStats *st)
{
    return st->stored_bytes ? (double)st->media_used / st->stored_bytes : 0;
}

void bench_space(const BenchCorpus *c, CramCodecId codec, BenchSpace *out)
{
    uint64_t bytes = (uint64_t)c->npages * CRAM_PAGE_SIZE;
    CramEngine *e = engine_new(codec, bytes, bytes);
    CramStats st;
    uint32_t i;

    for (i = 0; i < c->npages; i++) {
        if (cram_engine_store(e, i, bench_page(c, c->mixed[i])) < 0) {
            g_error("bench: store failed on media sized for the corpus");
        }
    }
    cram_engine_get_stats(e, &st);
    out->pages = c->npages;
    out->media_used = st.media_used;
    out->stored_bytes = st.stored_bytes;
    out->media_size = st.media_size;
    out->overhead = overhead(&st);
    memcpy(out->pages_by_class, st.pages, sizeof(st.pages));
    cram_engine_free(e);
}

/*
 * The churn runs against the engine, or against an allocator-level copy
 * of the engine's store path (same encoding, same in-place rewrite rule,
 * same allocator), which can also compact: the engine does not call
 * cram_alloc_compact() yet, so this shows what wiring it in would give.
 * With compaction off, both give the same figures (test-bench-smoke).
 */
typedef struct ChurnSim {
    CramAlloc *alloc;
    CramScratch *scratch;
    uint64_t *handle;           /* per page: media handle */
    uint32_t *size;             /* per page: object bytes, 0 if none */
    uint64_t stored;
    GHashTable *moves;          /* old handle -> new, during compaction */
} ChurnSim;

typedef struct ChurnTarget {
    CramEngine *e;
    ChurnSim *sim;
    uint64_t media_size;
} ChurnTarget;

static ChurnSim *sim_new(CramCodecId codec, uint64_t media_size,
                         uint64_t npages)
{
    ChurnSim *m = g_new0(ChurnSim, 1);
    GError *err = NULL;

    m->alloc = cram_alloc_new(media_size, &err);
    if (!m->alloc) {
        g_error("bench: %s", err->message);
    }
    m->scratch = cram_scratch_new(cram_codec_ops(codec), 0);
    m->handle = g_new0(uint64_t, npages);
    m->size = g_new0(uint32_t, npages);
    m->moves = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free,
                                     g_free);
    return m;
}

static void sim_free(ChurnSim *m)
{
    g_hash_table_destroy(m->moves);
    g_free(m->handle);
    g_free(m->size);
    cram_scratch_free(m->scratch);
    cram_alloc_free(m->alloc);
    g_free(m);
}

/* cram_engine_store() without the page table and the counters. */
static int sim_store(ChurnSim *m, uint64_t idx, const void *src)
{
    uint32_t old = m->size[idx];
    uint64_t handle = 0;
    bool free_old = old > 0;
    CramEncoded enc;

    cram_page_encode(m->scratch, src, &enc);
    if (enc.size) {
        if (free_old && cram_alloc_same_class(m->alloc, old, enc.size)) {
            handle = m->handle[idx];
            free_old = false;
        } else if (!cram_alloc_obj(m->alloc, enc.size, &handle)) {
            return -ENOSPC;
        }
        cram_alloc_write(m->alloc, handle, enc.data, enc.size);
    }
    if (free_old) {
        cram_alloc_free_obj(m->alloc, m->handle[idx]);
    }
    m->stored += enc.size;
    m->stored -= old;
    m->size[idx] = enc.size;
    m->handle[idx] = handle;
    return 0;
}

static void sim_note_move(void *opaque, uint64_t from, uint64_t to)
{
    ChurnSim *m = opaque;
    uint64_t *k = g_new(uint64_t, 1), *v = g_new(uint64_t, 1);

    *k = from;
    *v = to;
    g_hash_table_insert(m->moves, k, v);
}

/*
 * Compaction as the engine would do it: collect the moves, then one walk
 * of the page table replaces the handles that moved.  Returns the moves.
 */
static uint64_t sim_compact(ChurnSim *m, uint64_t npages)
{
    uint64_t i, moves;

    cram_alloc_compact(m->alloc, sim_note_move, m);
    moves = g_hash_table_size(m->moves);
    if (moves) {
        for (i = 0; i < npages; i++) {
            uint64_t *to = m->size[i] ?
                           g_hash_table_lookup(m->moves, &m->handle[i]) :
                           NULL;

            if (to) {
                m->handle[i] = *to;
            }
        }
        g_hash_table_remove_all(m->moves);
    }
    return moves;
}

static int target_store(ChurnTarget *t, uint64_t idx, const void *src)
{
    return t->e ? cram_engine_store(t->e, idx, src) :
           sim_store(t->sim, idx, src);
}

static void target_stats(ChurnTarget *t, CramStats *st)
{
    if (t->e) {
        cram_engine_get_stats(t->e, st);
        return;
    }
    memset(st, 0, sizeof(*st));
    st->media_size = t->media_size;
    st->media_used = cram_alloc_used(t->sim->alloc);
    st->stored_bytes = t->sim->stored;
}

const char *bench_churn_mode_name(BenchChurnMode mode)
{
    static const char *const names[] = {
        [BCM_ENGINE] = "engine",
        [BCM_ALLOC] = "alloc",
        [BCM_ALLOC_COMPACT] = "compact",
    };
    return names[mode];
}

static void churn_sample(FILE *csv, CramCodecId codec, BenchChurnMode mode,
                         uint64_t done, uint64_t filled, const CramStats *st,
                         uint64_t failed)
{
    if (csv) {
        fprintf(csv, "%s,%s,%" G_GUINT64_FORMAT ",%.3f,%" G_GUINT64_FORMAT
                ",%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT ",%.5f,%.5f,%"
                G_GUINT64_FORMAT "\n", cram_codec_name(codec),
                bench_churn_mode_name(mode), done,
                (double)done / MAX(filled, 1), st->media_used,
                st->stored_bytes, st->media_size,
                (double)st->media_used / st->media_size, overhead(st),
                failed);
    }
}

void bench_churn(const BenchCorpus *c, CramCodecId codec, uint64_t media_size,
                 unsigned rewrites_per_page, unsigned samples,
                 BenchChurnMode mode, FILE *csv, BenchChurn *out)
{
    /* Enough logical pages to fill the media with any mix of the corpus. */
    uint64_t capacity = MIN(media_size * 16, CRAM_MAX_CAPACITY);
    uint64_t npages = capacity / CRAM_PAGE_SIZE;
    ChurnTarget t = { .media_size = media_size };
    GRand *r = g_rand_new_with_seed(7);
    uint64_t n = 0, k, every, t0, residual = 0;
    CramStats st;

    if (mode == BCM_ENGINE) {
        t.e = engine_new(codec, capacity, media_size);
    } else {
        t.sim = sim_new(codec, media_size, npages);
    }
    memset(out, 0, sizeof(*out));
    out->media_size = media_size;
    target_stats(&t, &st);
    while (st.media_used < media_size / 10 * 9) {
        uint32_t p = g_rand_int_range(r, 0, c->npages);

        g_assert(n < npages);
        if (target_store(&t, n++, bench_page(c, p)) < 0) {
            g_error("bench: store failed below 90%% of the media");
        }
        target_stats(&t, &st);
    }
    out->filled_pages = n;
    out->fill_used = (double)st.media_used / media_size;
    out->fill_overhead = overhead(&st);
    out->max_overhead = out->fill_overhead;

    out->rewrites = n * rewrites_per_page;
    every = MAX(out->rewrites / MAX(samples, 1), 1);
    churn_sample(csv, codec, mode, 0, n, &st, 0);
    for (k = 1; k <= out->rewrites; k++) {
        uint64_t idx = g_rand_int_range(r, 0, n);
        uint32_t p = g_rand_int_range(r, 0, c->npages);

        if (target_store(&t, idx, bench_page(c, p)) == -ENOSPC) {
            out->failed++;
        }
        /*
         * Compact when free slots pass 2% of the media used and have grown
         * by 1% since the last pass (what it could not empty stays).
         */
        if (mode == BCM_ALLOC_COMPACT && k % 1024 == 0) {
            uint64_t slack = cram_alloc_free_slot_bytes(t.sim->alloc);
            uint64_t used = cram_alloc_used(t.sim->alloc);

            if (slack > used / 50 && slack > residual + used / 100) {
                t0 = bench_now_ns();
                out->moves += sim_compact(t.sim, n);
                out->compact_ns += bench_now_ns() - t0;
                out->compactions++;
                residual = cram_alloc_free_slot_bytes(t.sim->alloc);
            }
        }
        if (k % every == 0 || k == out->rewrites) {
            target_stats(&t, &st);
            out->max_overhead = MAX(out->max_overhead, overhead(&st));
            churn_sample(csv, codec, mode, k, n, &st, out->failed);
        }
    }
    target_stats(&t, &st);
    out->end_used = (double)st.media_used / media_size;
    out->end_overhead = overhead(&st);
    out->end_media_used = st.media_used;
    out->end_stored = st.stored_bytes;
    g_rand_free(r);
    if (t.e) {
        cram_engine_free(t.e);
    } else {
        sim_free(t.sim);
    }
}

static const char *const pattern_names[BP__MAX] = {
    [BP_SEQUENTIAL] = "sequential",
    [BP_SCATTERED_64G] = "scatter64G",
    [BP_SCATTERED] = "scatter1T",
};

const char *bench_pattern_name(BenchPattern p)
{
    return pattern_names[p];
}

static uint64_t meta_media(uint64_t capacity)
{
    return MIN(capacity, GiB);
}

uint64_t bench_meta_empty(uint64_t capacity)
{
    CramEngine *e = engine_new(CRAM_CODEC_LZ4, capacity,
                               meta_media(capacity));
    uint64_t b = cram_engine_metadata_bytes(e);

    cram_engine_free(e);
    return b;
}

/*
 * The k-th page touched.  Scattered: k times an odd constant modulo the
 * page count of the area (a power of two) is a bijection, so pages never
 * repeat, and it spreads them over the whole area.
 */
static uint64_t touch_index(BenchPattern pat, uint64_t k, uint64_t npages)
{
    const uint64_t mix = 0x9e3779b97f4a7c15ULL;

    switch (pat) {
    case BP_SEQUENTIAL:
        return k;
    case BP_SCATTERED_64G:
        return (k * mix) & ((64 * GiB / CRAM_PAGE_SIZE) - 1);
    default:
        return (k * mix) & (npages - 1);
    }
}

/*
 * Two leaf designs the page table could use instead, costed from the
 * same leaf occupancy (see docs/performance.md):
 * - sparse leaves: a leaf of n <= SPARSE_MAX entries is an array of
 *   16-byte (slot, meta, value) entries, capacity rounded up to 4, behind
 *   a 16-byte header; fuller leaves stay dense.  Mid nodes as today.
 * - a hash table of 16-byte entries (28-bit page number and meta packed
 *   in one word, the value in the other) kept 7/8 full at most.
 */
#define SPARSE_MAX 256

/*
 * The model is costed against the dense radix tree the page table had
 * (512-entry leaves of 12 bytes an entry, mid nodes of 512 pointers, one
 * root slot per GiB); these constants describe it, whatever the page
 * table now is.
 */
#define DENSE_LEAF_BITS     9
#define DENSE_ROOT_SHIFT    18
#define DENSE_LEAF_BYTES    (512 * 12 + 8)
#define DENSE_MID_BYTES     (512 * 8 + 8)

static uint64_t sparse_leaf_bytes(uint64_t n)
{
    if (n > SPARSE_MAX) {
        return DENSE_LEAF_BYTES;
    }
    return 16 + 16 * ((n + 3) & ~3ull);
}

void bench_metadata(const BenchCorpus *c, BenchPattern pat,
                    BenchMetaPoint *points, unsigned npoints)
{
    const uint64_t capacity = CRAM_MAX_CAPACITY;
    const uint64_t npages = capacity / CRAM_PAGE_SIZE;
    CramEngine *e = engine_new(CRAM_CODEC_LZ4, capacity,
                               meta_media(capacity));
    uint64_t base = cram_engine_metadata_bytes(e);
    /*
     * The allocator's share, measured: the same objects, in the same
     * order, into an allocator of the same media; the page table's share
     * is the rest of the engine's metadata, whatever its design.
     */
    CramAlloc *side = cram_alloc_new(meta_media(capacity), NULL);
    CramScratch *scratch = cram_scratch_new(cram_codec_ops(CRAM_CODEC_LZ4),
                                            0);
    uint64_t alloc0 = cram_alloc_meta_bytes(side), pt0 = base - alloc0;
    /* leaf number -> entries, mid number -> present */
    GHashTable *leaves = g_hash_table_new_full(g_int64_hash, g_int64_equal,
                                               g_free, g_free);
    GHashTable *mids = g_hash_table_new_full(g_int64_hash, g_int64_equal,
                                             g_free, NULL);
    uint64_t k = 0, sparse = 0;
    unsigned pi;

    G_STATIC_ASSERT((CRAM_MAX_CAPACITY / CRAM_PAGE_SIZE &
                     (CRAM_MAX_CAPACITY / CRAM_PAGE_SIZE - 1)) == 0);
    for (pi = 0; pi < npoints; pi++) {
        BenchMetaPoint *pt = &points[pi];

        g_assert(pi == 0 || pt->touched >= points[pi - 1].touched);
        for (; k < pt->touched; k++) {
            uint64_t idx = touch_index(pat, k, npages);
            uint64_t leaf = idx >> DENSE_LEAF_BITS;
            uint64_t mid = idx >> DENSE_ROOT_SHIFT;
            uint32_t p = c->mixed[k % c->npages];
            CramEncoded enc;
            uint64_t *n, h;

            if (cram_engine_store(e, idx, bench_page(c, p)) < 0) {
                g_error("bench: metadata run ran out of media");
            }
            cram_page_encode(scratch, bench_page(c, p), &enc);
            if (enc.size && !cram_alloc_obj(side, enc.size, &h)) {
                g_error("bench: metadata run ran out of media");
            }
            /* The radix tree's own nodes, counted from the indexes. */
            n = g_hash_table_lookup(leaves, &leaf);
            if (!n) {
                n = g_new0(uint64_t, 1);
                g_hash_table_insert(leaves, g_memdup2(&leaf, sizeof(leaf)),
                                    n);
            }
            sparse -= *n ? sparse_leaf_bytes(*n) : 0;
            sparse += sparse_leaf_bytes(++*n);
            if (!g_hash_table_contains(mids, &mid)) {
                g_hash_table_add(mids, g_memdup2(&mid, sizeof(mid)));
            }
        }
        pt->per_page = pt->pt_per_page = pt->alloc_per_page = 0;
        pt->sparse_per_page = pt->hash_per_page = 0;
        pt->meta_bytes = cram_engine_metadata_bytes(e);
        pt->pt_bytes = pt->meta_bytes - cram_alloc_meta_bytes(side);
        if (pt->touched) {
            uint64_t alloc = cram_alloc_meta_bytes(side);
            uint64_t mid_bytes = g_hash_table_size(mids) *
                                 (uint64_t)DENSE_MID_BYTES;

            pt->per_page = (double)(pt->meta_bytes - base) / pt->touched;
            pt->pt_per_page = ((double)pt->pt_bytes - pt0) / pt->touched;
            pt->alloc_per_page = ((double)alloc - alloc0) / pt->touched;
            pt->sparse_per_page = (double)(sparse + mid_bytes) / pt->touched;
            pt->hash_per_page = 16.0 * 8 / 7;
        }
    }
    g_hash_table_destroy(leaves);
    g_hash_table_destroy(mids);
    cram_scratch_free(scratch);
    cram_alloc_free(side);
    cram_engine_free(e);
}
