// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target for the capture reader, and for the formatters on what
 * it accepts: whatever the bytes, no crash, no overread, no unbounded
 * allocation. Seeds come from test_capture; CTest runs it for a bounded time.
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "capture/capture.h"
#include "decode/format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mpt_cap_reader *r;
	struct mpt_cap_item it;
	struct strbuf sb;
	char err[512];
	FILE *f;
	int n = 0;

	if (!size)
		return 0;
	f = fmemopen((void *)data, size, "r");
	if (!f)
		return 0;
	if (mpt_cap_reader_open(f, &r, err, sizeof(err))) {
		fclose(f);
		return 0;
	}
	sb_init(&sb);
	while (n++ < 100000 && mpt_cap_next(r, &it) > 0) {
		const struct mpt_cap_meta *m = mpt_cap_reader_meta(r);
		struct mpt_fmt_ctx ctx = {.boot_to_wall_ns = m->boot_to_wall_ns,
					  .hostname = m->hostname};

		if (it.type != MPT_CAP_REC_EVENT)
			continue;
		sb_reset(&sb);
		mpt_format_json(&sb, &it.view, &ctx);
		mpt_format_table(&sb, &it.view, &ctx);
	}
	sb_free(&sb);
	mpt_cap_reader_free(r);
	fclose(f);
	return 0;
}
