// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Every hook pair passes the verifier of the running kernel, including the
 * ones that cannot attach here (no kprobes on the development VM). Their real
 * attach is covered by the kernel matrix under qemu (tests/vm).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"

static void load(enum mpt_attach_mode mode, uint32_t cap)
{
	char why[MPT_REASON_LEN] = "";
	int err;

	err = mpt_tracer_load_only_cap(mode, cap, why, sizeof(why));
	if (err == -EPERM && mode == MPT_ATTACH_FENTRY && geteuid() == 0) {
		/* this kernel refuses trampolines outright: nothing to verify */
		printf("# fentry: %s\n", why);
		skip();
	}
	if (err)
		fail_msg("%s (cap %u): %s", mpt_attach_name(mode), cap, why);
}

static void test_kprobe_loads(void **state)
{
	(void)state;
	load(MPT_ATTACH_KPROBE, MPT_ARRAY_CAP_DEFAULT);
	load(MPT_ATTACH_KPROBE, MPT_ARRAY_CAP_MAX);
}

static void test_fentry_loads(void **state)
{
	(void)state;
	load(MPT_ATTACH_FENTRY, MPT_ARRAY_CAP_DEFAULT);
	load(MPT_ATTACH_FENTRY, MPT_ARRAY_CAP_MAX);
}

static void test_tracepoint_loads(void **state)
{
	(void)state;
	load(MPT_ATTACH_TRACEPOINT, 1);
	load(MPT_ATTACH_TRACEPOINT, MPT_ARRAY_CAP_DEFAULT);
	load(MPT_ATTACH_TRACEPOINT, MPT_ARRAY_CAP_MAX);
}

int main(void)
{
	int rc = tu_require_bpf("test_verifier");

	if (rc)
		return rc;

	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kprobe_loads),
	    cmocka_unit_test(test_fentry_loads),
	    cmocka_unit_test(test_tracepoint_loads),
	};
	return cmocka_run_group_tests_name("verifier", tests, NULL, NULL);
}
