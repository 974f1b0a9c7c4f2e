/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The container-id grammar of cgroup directory names, written once and
 * compiled twice: into the BPF programs (the --container filter and scope,
 * in the kernel) and into user space (enrichment, replay filters), so the two
 * cannot drift. A container's cgroup is named "<id>", "<runtime>-<id>.scope"
 * or "...:<runtime>:<id>", the id 64 lowercase hex digits; a look-alike such
 * as "notdocker-<id>" or "crio-conmon-<id>" is not a container.
 *
 * The includer may define MPT_CID_CH(s, i) (how a byte of the name is read:
 * BPF reads through a masked index) and MPT_CID_INLINE (BPF: always inline).
 */
#ifndef MPTRACE_CONTAINER_ID_H
#define MPTRACE_CONTAINER_ID_H

#include "mptrace_filter.h"

/* X(the word before the id, the runtime's name) */
#define MPT_CONTAINER_RUNTIMES(X)                                                                  \
	X("docker", "docker")                                                                      \
	X("cri-containerd", "containerd")                                                          \
	X("crio", "crio")                                                                          \
	X("libpod", "podman")

#ifndef MPT_CID_CH
#define MPT_CID_CH(s, i) ((s)[i])
#endif
#ifndef MPT_CID_INLINE
#define MPT_CID_INLINE static inline
#endif

MPT_CID_INLINE bool mpt_cid_is_id_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/*
 * Is @w (@wl bytes), followed by '-' or ':', the word right before @end in
 * @s, and does it start the name or follow a ':'?
 */
MPT_CID_INLINE bool mpt_cid_word_before(const char *s, long end, const char *w, int wl)
{
	long ws = end - 1 - wl;
	char sep;

	if (ws < 0)
		return false;
	sep = MPT_CID_CH(s, end - 1);
	if (sep != '-' && sep != ':')
		return false;
	for (int i = 0; i < wl; i++)
		if (MPT_CID_CH(s, ws + i) != w[i])
			return false;
	return ws == 0 || MPT_CID_CH(s, ws - 1) == ':';
}

/*
 * Where the container id starts in directory name @s of @len bytes, or -1;
 * *@runtime gets the index in MPT_CONTAINER_RUNTIMES, or -1 for a bare id.
 */
MPT_CID_INLINE long mpt_container_id_at(const char *s, long len, int *runtime)
{
	long end = len, start;
	int k = 0;

	*runtime = -1;
	if (end > 6 && MPT_CID_CH(s, end - 6) == '.' && MPT_CID_CH(s, end - 5) == 's' &&
	    MPT_CID_CH(s, end - 4) == 'c' && MPT_CID_CH(s, end - 3) == 'o' &&
	    MPT_CID_CH(s, end - 2) == 'p' && MPT_CID_CH(s, end - 1) == 'e')
		end -= 6;
	if (end < MPT_CONTAINER_ID_LEN || end > MPT_CGROUP_NAME_MAX)
		return -1;
	start = end - MPT_CONTAINER_ID_LEN;
	for (int i = 0; i < MPT_CONTAINER_ID_LEN; i++)
		if (!mpt_cid_is_id_char(MPT_CID_CH(s, start + i)))
			return -1;
	if (start == 0)
		return 0;
#define MPT_CID_TRY(word, name)                                                                    \
	if (mpt_cid_word_before(s, start, word, sizeof(word) - 1)) {                               \
		*runtime = k;                                                                      \
		return start;                                                                      \
	}                                                                                          \
	k++;
	MPT_CONTAINER_RUNTIMES(MPT_CID_TRY)
#undef MPT_CID_TRY
	return -1;
}

#endif
