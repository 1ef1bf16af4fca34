/*
 * cxl-cram engine benchmarks: media efficiency and churn
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
 * cram_alloc_compact(), so this shows what wiring it in would give.
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
