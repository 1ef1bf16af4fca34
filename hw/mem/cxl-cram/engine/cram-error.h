/*
 * cxl-cram engine: GError domain
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef CRAM_ERROR_H
#define CRAM_ERROR_H

#include <glib.h>

/* Every engine GError uses this domain; the code is always 0. */
#define CRAM_ERROR cram_error_quark()

GQuark cram_error_quark(void);

#endif /* CRAM_ERROR_H */
