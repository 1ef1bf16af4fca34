/*
 * cxl-cram qtests of hostile guest and host inputs that reach upstream
 * CXL code (cxl-cram-hostinput-test.c, linked into cxl-cram-test).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef CXL_CRAM_HOSTINPUT_TEST_H
#define CXL_CRAM_HOSTINPUT_TEST_H

/* Registers the /cxl-cram/hostile/... tests. */
void cxl_cram_hostinput_add_tests(void);

#endif
