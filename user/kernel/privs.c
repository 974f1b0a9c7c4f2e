// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "kernel/privs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

static bool effective(cap_t caps, cap_value_t c)
{
	cap_flag_value_t v = CAP_CLEAR;

	cap_get_flag(caps, c, CAP_EFFECTIVE, &v);
	return v == CAP_SET;
}

bool mpt_can_bpf(void)
{
	cap_t caps = cap_get_proc();
	bool ok;

	if (!caps)
		return false;
	ok = effective(caps, CAP_SYS_ADMIN) ||
	     (effective(caps, CAP_BPF) && effective(caps, CAP_PERFMON));
	cap_free(caps);
	return ok;
}

int mpt_drop_privileges(char *kept, size_t kept_len, char *err, size_t len)
{
	static const cap_value_t wanted[] = {CAP_BPF, CAP_SYS_PTRACE};
	cap_value_t keep[2];
	cap_t now = cap_get_proc(), next = cap_init();
	int n = 0, rc = 0;

	kept[0] = '\0';
	if (!now || !next) {
		rc = -errno;
		snprintf(err, len, "reading capabilities failed: %s", strerror(-rc));
		goto out;
	}
	for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
		if (!effective(now, wanted[i]))
			continue;
		keep[n++] = wanted[i];
		snprintf(kept + strlen(kept), kept_len - strlen(kept), "%s%s", n > 1 ? ", " : "",
			 i == 0 ? "CAP_BPF" : "CAP_SYS_PTRACE");
	}
	/* the bounding set first: dropping from it needs CAP_SETPCAP, given up below */
	if (effective(now, CAP_SETPCAP)) {
		for (cap_value_t c = 0; c <= CAP_LAST_CAP; c++) {
			bool k = false;

			for (int i = 0; i < n; i++)
				k |= keep[i] == c;
			if (!k && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) && errno != EINVAL) {
				rc = -errno;
				snprintf(err, len,
					 "dropping capability %d from the bounding set: %s", c,
					 strerror(-rc));
				goto out;
			}
		}
	}
	if ((n && (cap_set_flag(next, CAP_PERMITTED, n, keep, CAP_SET) ||
		   cap_set_flag(next, CAP_EFFECTIVE, n, keep, CAP_SET))) ||
	    cap_set_proc(next)) {
		rc = -errno;
		snprintf(err, len, "dropping capabilities failed: %s", strerror(-rc));
		goto out;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		rc = -errno;
		snprintf(err, len, "setting no_new_privs failed: %s", strerror(-rc));
	}
out:
	cap_free(now);
	cap_free(next);
	return rc;
}

uint32_t mpt_self_tgid(void)
{
	return (uint32_t)getpid();
}
