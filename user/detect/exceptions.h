/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Exceptions: findings an operator has judged legitimate (numad migrating
 * pages all day). They silence the detection, never the event: the record
 * stays whole, and what was silenced is counted.
 *
 * One exception a line; '#' starts a comment:
 *
 *   RULE [exe=PATH] [container=ID] [user=UID|NAME]
 *
 * RULE is a rule's code (MPT-5) or '*'; the conditions, all of which must
 * hold, name the caller: the executable it runs (its path, and only while that
 * path names the very file it runs: not a deleted, fileless or bind-mounted
 * one), its container (an id prefix) and its real user. A '*' line must have a
 * condition.
 */
#ifndef MPTRACE_EXCEPTIONS_H
#define MPTRACE_EXCEPTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "decode/decode.h"

struct mpt_exceptions;

/* Read @path whole; NULL with @err ("FILE:LINE: why") if any line is wrong. */
struct mpt_exceptions *mpt_exceptions_load(const char *path, char *err, size_t len);
void mpt_exceptions_free(struct mpt_exceptions *x);
unsigned int mpt_exceptions_count(const struct mpt_exceptions *x);
/* The rules of @hits (a bit per enum mpt_detection_id) an exception covers for @v's caller. */
uint32_t mpt_exceptions_match(const struct mpt_exceptions *x, uint32_t hits,
			      const struct mpt_view *v);

#endif
