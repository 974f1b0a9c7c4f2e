// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "context/target.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "context/container.h"

uint32_t mpt_host_pid_ns(void)
{
	static uint32_t ns;
	struct stat st;

	if (!ns && !stat("/proc/self/ns/pid", &st))
		ns = st.st_ino;
	return ns;
}

bool mpt_target_resolve(const struct mpt_lineage *l, const struct mpt_view *v,
			struct mpt_target *out)
{
	const struct mpt_proc_info *p;
	const struct mpt_ctr_meta *meta;
	struct mpt_container c;
	int32_t pid;

	if (!mpt_view_other_pid(v, &pid))
		return false;
	memset(out, 0, sizeof(*out));
	out->pid = pid;
	p = l ? mpt_lineage_find_ns(l, v->hdr->task.pid_ns, pid, mpt_host_pid_ns()) : NULL;
	if (!p)
		return true;
	out->resolved = true;
	out->host_tgid = p->tgid;
	out->start_ns = p->start_ns;
	out->uid = p->uid;
	out->cgroup_id = p->cgroup_id;
	snprintf(out->comm, sizeof(out->comm), "%s", p->comm);
	snprintf(out->exe, sizeof(out->exe), "%s", p->exe ? p->exe : "");
	out->cgroup_known = p->cgroup_id && mpt_cgroup_container(p->cgroup_id, p->tgid, &c, &meta);
	if (out->cgroup_known && c.id[0]) {
		snprintf(out->container_id, sizeof(out->container_id), "%s", c.id);
		out->container_verify = meta ? meta->verify : MPT_CTR_UNCHECKED;
		if (meta && meta->verify == MPT_CTR_VERIFIED)
			snprintf(out->container_name, sizeof(out->container_name), "%s",
				 meta->name);
	}
	return true;
}
