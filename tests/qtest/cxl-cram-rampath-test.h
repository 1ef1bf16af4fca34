/*
 * cxl-cram qtests of ram-path=on: the page cache mapped into the fixed
 * memory window (cxl-cram-rampath-test.c, linked into cxl-cram-test).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef CXL_CRAM_RAMPATH_TEST_H
#define CXL_CRAM_RAMPATH_TEST_H

/* Registers the /cxl-cram/ram-path/... tests. */
void cxl_cram_rampath_add_tests(void);

#endif
