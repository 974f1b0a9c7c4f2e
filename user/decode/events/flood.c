// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Decoding flood summaries (events/flood.h): the sums, shown as an event's arguments. */
#include "decode/decode_events.h"

#include <errno.h>

int mpt_flood_parse(const void *buf, size_t len, struct mpt_view *v, const char **why)
{
	const struct mpt_flood_event *f = buf;

	if (len < sizeof(*f) || f->size != sizeof(*f)) {
		*why = "flood summary of the wrong length";
		return -EINVAL;
	}
	if (mpt_check_hdr(&f->hdr, why))
		return -EINVAL;
	if (!mpt_syscall_desc_of(f->event) || !f->calls || f->returns > f->calls ||
	    f->failures > f->returns || f->last_ns < f->ts_boot_ns) {
		*why = "flood summary of an unknown event, or with counts that do not add up";
		return -EINVAL;
	}
	v->flood = f;
	v->hdr = &f->hdr;
	v->ptr_bytes = mpt_abi_ptr_bytes(f->abi);
	v->arg[0].value = f->calls;
	v->arg[1].value = f->pages;
	v->arg[2].value = __builtin_popcountll(f->targets);
	v->arg[3].value = f->returns;
	v->arg[4].value = f->failures;
	return 0;
}
