/*
 * cxl-cram qtests of interleaved regions: several cxl-cram devices behind
 * one host bridge whose HDM decoder interleaves the fixed memory window
 * across them (cxl-cram-interleave-test.c, linked into cxl-cram-test).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef CXL_CRAM_INTERLEAVE_TEST_H
#define CXL_CRAM_INTERLEAVE_TEST_H

/* Registers the /cxl-cram/interleave/... tests. */
void cxl_cram_interleave_add_tests(void);

#endif
