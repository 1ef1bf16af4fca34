/*
 * cxl-cram figures: the one table of what the device reports
 *
 * X(name, reg, member, mig) for each figure:
 *   name    its field in QMP's "qom-get <device> stats" and its column in
 *           tools/cram-stat (ABI: docs/properties.md);
 *   reg     its register in the vendor block, CXL_CRAM_REG_<reg>
 *           (cxl-cram-regs.h), or NONE when only QMP has it;
 *   member  where CXLCramFigures holds it;
 *   mig     its slot among the figures of the migration stream's store
 *           header (the engine's own, which the destination recomputes
 *           and checks), or -1.
 * The register decode, the QMP struct, the migration figures and
 * cram-stat all walk this table.  QEMU-free: tools/cram-stat/cram-stat.c
 * uses it.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_CXL_CRAM_FIGURES_H
#define HW_CXL_CRAM_FIGURES_H

#define CXL_CRAM_FIGURES(X) \
    X("capacity", CAPACITY, st.capacity, -1) \
    X("media-size", MEDIA_SIZE, st.media_size, -1) \
    X("media-used", MEDIA_USED, st.media_used, 0) \
    X("media-free", MEDIA_FREE, st.media_free, -1) \
    X("logical-held", LOGICAL_HELD, st.logical_bytes, -1) \
    X("stored-bytes", STORED_BYTES, st.stored_bytes, 2) \
    X("ratio", RATIO, ratio_fp16, -1) \
    X("pages-zero", PAGES_ZERO, st.pages[CRAM_KIND_ZERO], 4) \
    X("pages-same", PAGES_SAME, st.pages[CRAM_KIND_SAME], 5) \
    X("pages-compressed", PAGES_COMP, st.pages[CRAM_KIND_COMPRESSED], 6) \
    X("pages-raw", PAGES_RAW, st.pages[CRAM_KIND_RAW], 7) \
    X("stores", STORES, st.stores, 8) \
    X("loads", LOADS, st.loads, 9) \
    X("dropped-writes", DROPPED_WRITES, st.failed_stores, 10) \
    X("discards", DISCARDS, st.discards, 11) \
    X("metadata-bytes", METADATA_BYTES, metadata_bytes, -1) \
    X("poisoned-pages", POISONED_PAGES, st.poisoned_pages, 12) \
    X("poisoned-reads", POISONED_READS, s.poisoned_reads, -1) \
    X("machine-checks", MCE_RAISED, s.mce_raised, -1) \
    X("machine-checks-abandoned", NONE, s.mce_abandoned, -1) \
    X("status", STATUS, status, -1) \
    X("headroom-pages", HEADROOM_PAGES, headroom_pages, -1) \
    X("irq-low-rise", IRQ_COUNT(0), s.irq_count[0], -1) \
    X("irq-high-rise", IRQ_COUNT(1), s.irq_count[1], -1) \
    X("irq-high-fall", IRQ_COUNT(2), s.irq_count[2], -1) \
    X("irq-low-fall", IRQ_COUNT(3), s.irq_count[3], -1) \
    X("irq-dropped", IRQ_COUNT(4), s.irq_count[4], -1) \
    X("irq-danger", IRQ_DANGER, s.danger_count, -1) \
    X("irq-safe", IRQ_SAFE, s.safe_count, -1) \
    X("media-reserved", MEDIA_RESERVED, st.media_reserved, 1) \
    X("media-taken", NONE, st.media_taken, -1) \
    X("wm-low", WM_LOW, s.wm_low, -1) \
    X("wm-high", WM_HIGH, s.wm_high, -1) \
    X("cache-pages", NONE, cs.cached, -1) \
    X("cache-dirty", CACHE_DIRTY, cs.dirty, -1) \
    X("cache-hits", CACHE_HITS, cs.hits, -1) \
    X("cache-misses", CACHE_MISSES, cs.misses, -1) \
    X("writebacks-sync", NONE, cs.sync_writebacks, -1) \
    X("writebacks-async", NONE, cs.async_writebacks, -1) \
    X("cache-faults", NONE, cs.faults, -1) \
    X("fault-misses", NONE, cs.fault_misses, -1) \
    X("fault-lock-ns", NONE, cs.fault_lock_ns, -1) \
    X("fault-evict-ns", NONE, cs.fault_evict_ns, -1) \
    X("fault-decompress-ns", NONE, cs.fault_load_ns, -1) \
    X("fault-fill-ns", NONE, cs.fault_fill_ns, -1) \
    X("tlb-fills", NONE, cs.prefills, -1) \
    X("tlb-fill-misses", NONE, cs.prefill_misses, -1) \
    X("tlb-fill-ns", NONE, cs.prefill_ns, -1) \
    X("tlb-writes", NONE, cs.tlb_writes, -1)

/*
 * The store header's figures: 13 slots; slot 3 (empty pages) is always
 * 0 and has no figure.
 */
#define CXL_CRAM_MIG_FIGURES 13

#endif
