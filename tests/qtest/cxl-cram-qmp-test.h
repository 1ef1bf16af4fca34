/*
 * cxl-cram qtests of the QMP commands (cxl-cram-qmp-test.c)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef CXL_CRAM_QMP_TEST_H
#define CXL_CRAM_QMP_TEST_H

/* Registers the /cxl-cram/qmp/... tests. */
void cxl_cram_qmp_add_tests(void);

#endif
