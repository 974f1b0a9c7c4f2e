// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Every hook pair passes the verifier of the running kernel, including the
 * ones that cannot attach here (no kprobes on the development VM). Their real
 * attach is covered by the kernel matrix under qemu (tests/vm).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"

/* Every filter on: rodata constants otherwise let the verifier skip their code. */
static void all_filters(struct mpt_filter *f)
{
	for (int k = 0; k < MPT_FILTER_NR; k++) {
		f->val[k][0] = 1;
		f->n[k] = 1;
	}
	strcpy(f->comm[0], "x");
	for (int i = 0; i < MPT_CONTAINER_FILTER_MAX; i++)
		strcpy(f->container[i],
		       "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	f->n_container = MPT_CONTAINER_FILTER_MAX;
	f->scope = MPT_SCOPE_CONTAINERS_ONLY;
	f->target_other = true;
}

static void load(enum mpt_attach_mode mode, uint32_t cap, bool filters)
{
	char why[MPT_REASON_LEN] = "";
	struct mpt_tracer_opts o;
	uint32_t insns = 0;
	int err;

	mpt_tracer_opts_default(&o);
	o.array_cap = cap;
	if (filters)
		all_filters(&o.filter);
	err = mpt_tracer_load_only(&o, mode, &insns, why, sizeof(why));
	if (err == -EPERM && mode == MPT_ATTACH_FENTRY && geteuid() == 0) {
		/* this kernel refuses trampolines outright: nothing to verify */
		printf("# fentry: %s\n", why);
		skip();
	}
	if (err)
		fail_msg("%s (cap %u%s): %s", mpt_attach_name(mode), cap,
			 filters ? ", every filter" : "", why);
	printf("# %s cap %u%s: %u instructions verified\n", mpt_attach_name(mode), cap,
	       filters ? " every filter" : "", insns);
}

static void test_kprobe_loads(void **state)
{
	(void)state;
	load(MPT_ATTACH_KPROBE, MPT_ARRAY_CAP_DEFAULT, false);
	load(MPT_ATTACH_KPROBE, MPT_ARRAY_CAP_MAX, true);
}

static void test_fentry_loads(void **state)
{
	(void)state;
	load(MPT_ATTACH_FENTRY, MPT_ARRAY_CAP_DEFAULT, false);
	load(MPT_ATTACH_FENTRY, MPT_ARRAY_CAP_MAX, true);
}

static void test_tracepoint_loads(void **state)
{
	(void)state;
	load(MPT_ATTACH_TRACEPOINT, 1, false);
	load(MPT_ATTACH_TRACEPOINT, MPT_ARRAY_CAP_DEFAULT, false);
	load(MPT_ATTACH_TRACEPOINT, MPT_ARRAY_CAP_MAX, false);
	load(MPT_ATTACH_TRACEPOINT, MPT_ARRAY_CAP_DEFAULT, true);
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
