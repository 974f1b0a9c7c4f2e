// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The attach-plan walker with fake kernels: which mode wins, and what is said about the rest. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "kernel/attach.h"

/* A fake kernel: per mode, does the precheck pass, and does load+attach work. */
struct fake_kernel {
	bool precheck_ok[MPT_ATTACH_NR];
	bool attach_ok[MPT_ATTACH_NR];
	int tries[MPT_ATTACH_NR];
};

static struct fake_kernel *kernel;

static bool fake_precheck(enum mpt_attach_mode mode, char *why, size_t len)
{
	if (kernel->precheck_ok[mode])
		return true;
	snprintf(why, len, "precheck %s failed", mpt_attach_name(mode));
	return false;
}

static int fake_try(enum mpt_attach_mode mode, void *ctx, char *why, size_t len)
{
	assert_ptr_equal(ctx, kernel);
	kernel->tries[mode]++;
	if (kernel->attach_ok[mode])
		return 0;
	snprintf(why, len, "load %s failed", mpt_attach_name(mode));
	return -EPERM;
}

static const struct mpt_attach_ops ops = {.precheck = fake_precheck, .try_mode = fake_try};

static int walk(struct fake_kernel *k, enum mpt_attach_mode req, struct mpt_attach_report *rep)
{
	kernel = k;
	return mpt_attach_walk(req, &ops, k, rep);
}

static void test_auto_prefers_kprobe(void **state)
{
	struct fake_kernel k = {.precheck_ok = {true, true, true}, .attach_ok = {true, true, true}};
	struct mpt_attach_report rep;

	(void)state;
	assert_int_equal(walk(&k, MPT_ATTACH_AUTO, &rep), MPT_ATTACH_KPROBE);
	assert_true(rep.ok[MPT_ATTACH_KPROBE]);
	/* the first that works is kept; the others are not even loaded */
	assert_int_equal(k.tries[MPT_ATTACH_FENTRY], 0);
	assert_false(rep.tried[MPT_ATTACH_FENTRY]);
}

static void test_auto_falls_back_like_this_host(void **state)
{
	/* no kprobes; BTF present but fentry refused on load; tracepoints work */
	struct fake_kernel k = {.precheck_ok = {false, true, true},
				.attach_ok = {false, false, true}};
	struct mpt_attach_report rep;

	(void)state;
	assert_int_equal(walk(&k, MPT_ATTACH_AUTO, &rep), MPT_ATTACH_TRACEPOINT);
	assert_int_equal(k.tries[MPT_ATTACH_KPROBE], 0); /* precheck said no: never loaded */
	assert_int_equal(k.tries[MPT_ATTACH_FENTRY], 1);
	assert_string_equal(rep.why[MPT_ATTACH_KPROBE], "precheck kprobe failed");
	assert_string_equal(rep.why[MPT_ATTACH_FENTRY], "load fentry failed");
	assert_string_equal(rep.why[MPT_ATTACH_TRACEPOINT], "");
	assert_true(rep.tried[MPT_ATTACH_KPROBE] && !rep.ok[MPT_ATTACH_KPROBE]);
	assert_true(rep.ok[MPT_ATTACH_TRACEPOINT]);
}

static void test_auto_nothing_works(void **state)
{
	struct fake_kernel k = {.precheck_ok = {false, true, false},
				.attach_ok = {false, false, false}};
	struct mpt_attach_report rep;

	(void)state;
	assert_int_equal(walk(&k, MPT_ATTACH_AUTO, &rep), -1);
	for (int m = 0; m < MPT_ATTACH_NR; m++) {
		assert_true(rep.tried[m]);
		assert_false(rep.ok[m]);
		assert_true(strlen(rep.why[m]) > 0);
	}
}

static void test_forced_mode_only(void **state)
{
	struct fake_kernel k = {.precheck_ok = {true, true, true},
				.attach_ok = {true, false, true}};
	struct mpt_attach_report rep;

	(void)state;
	/* a forced mode that fails does not fall back */
	assert_int_equal(walk(&k, MPT_ATTACH_FENTRY, &rep), -1);
	assert_int_equal(k.tries[MPT_ATTACH_KPROBE], 0);
	assert_int_equal(k.tries[MPT_ATTACH_TRACEPOINT], 0);
	assert_string_equal(rep.why[MPT_ATTACH_FENTRY], "load fentry failed");
	assert_int_equal(walk(&k, MPT_ATTACH_TRACEPOINT, &rep), MPT_ATTACH_TRACEPOINT);
	assert_int_equal(k.tries[MPT_ATTACH_KPROBE], 0);
}

static void test_invalid_request(void **state)
{
	struct fake_kernel k = {.precheck_ok = {true, true, true}, .attach_ok = {true, true, true}};
	struct mpt_attach_report rep;

	(void)state;
	assert_int_equal(walk(&k, MPT_ATTACH_AUTO + 1, &rep), -1);
}

static void test_names(void **state)
{
	enum mpt_attach_mode m;

	(void)state;
	assert_string_equal(mpt_attach_name(MPT_ATTACH_KPROBE), "kprobe");
	assert_string_equal(mpt_attach_name(MPT_ATTACH_FENTRY), "fentry");
	assert_string_equal(mpt_attach_name(MPT_ATTACH_TRACEPOINT), "tracepoint");
	assert_string_equal(mpt_attach_name(MPT_ATTACH_AUTO), "auto");
	for (int i = 0; i < MPT_ATTACH_NR; i++) {
		assert_int_equal(mpt_attach_parse(mpt_attach_name(i), &m), 0);
		assert_int_equal(m, i);
	}
	assert_int_equal(mpt_attach_parse("KPROBE", &m), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_auto_prefers_kprobe),
	    cmocka_unit_test(test_auto_falls_back_like_this_host),
	    cmocka_unit_test(test_auto_nothing_works),
	    cmocka_unit_test(test_forced_mode_only),
	    cmocka_unit_test(test_invalid_request),
	    cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests_name("attach", tests, NULL, NULL);
}
