/*
 * cxl-cram engine: GError domain "cram-engine-error"
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "cram-error.h"

G_DEFINE_QUARK(cram-engine-error, cram_error)
