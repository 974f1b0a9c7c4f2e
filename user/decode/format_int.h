/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What the formats share inside decode/. */
#ifndef MPTRACE_FORMAT_INT_H
#define MPTRACE_FORMAT_INT_H

#include "decode/decode.h"
#include "util/strbuf.h"

/* A node mask as the list of its nodes (only the bits the kernel reads), @sep between. */
void mpt_format_mask(struct strbuf *sb, const struct mpt_arg_view *a, const char *sep);

#endif
