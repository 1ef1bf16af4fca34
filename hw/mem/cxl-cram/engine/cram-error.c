/*
 * cxl-cram engine: GError domain "cram-engine-error"
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "cram-error.h"

GQuark cram_error_quark(void)
{
    return g_quark_from_static_string("cram-engine-error");
}
