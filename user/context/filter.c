// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "context/filter.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "context/container.h"

static const char *const kind_names[] = {
#define MPT_FILTER_NAME(id, name) [MPT_FILTER_##id] = name,
    MPT_FILTER_KINDS(MPT_FILTER_NAME)
#undef MPT_FILTER_NAME
};

const char *mpt_filter_kind_name(enum mpt_filter_kind kind)
{
	return kind < MPT_FILTER_NR ? kind_names[kind] : "?";
}

static int parse_number(const char *arg, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!isdigit((unsigned char)*arg))
		return -EINVAL;
	errno = 0;
	v = strtoull(arg, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* A numeric filter's value: a pid, a uid (or user name), a namespace inode. 0, or -EINVAL said. */
static int parse_id(enum mpt_filter_kind kind, const char *arg, uint64_t *v, char *err, size_t len)
{
	const char *name = mpt_filter_kind_name(kind);

	switch (kind) {
	case MPT_FILTER_PID:
	case MPT_FILTER_TID:
	case MPT_FILTER_ANCESTOR:
		if (parse_number(arg, 4194304, v) || *v == 0) {
			snprintf(err, len, "invalid --%s '%s': expected a number from 1 to 4194304",
				 name, arg);
			return -EINVAL;
		}
		return 0;
	case MPT_FILTER_UID:
		if (parse_number(arg, UINT32_MAX - 1, v)) {
			struct passwd *pw = getpwnam(arg);

			if (!pw) {
				snprintf(err, len, "invalid --uid '%s': no such user", arg);
				return -EINVAL;
			}
			*v = pw->pw_uid;
		}
		return 0;
	case MPT_FILTER_MNTNS:
	case MPT_FILTER_PIDNS:
		if (parse_number(arg, UINT32_MAX, v) || *v == 0) {
			snprintf(err, len,
				 "invalid --%s '%s': expected a namespace inode number (ls -l "
				 "/proc/PID/ns)",
				 name, arg);
			return -EINVAL;
		}
		return 0;
	default:
		snprintf(err, len, "unknown filter kind %d", kind);
		return -EINVAL;
	}
}

int mpt_filter_add(struct mpt_filter *f, enum mpt_filter_kind kind, const char *arg, char *err,
		   size_t len)
{
	uint64_t v = 0;
	uint32_t *n;

	if (kind >= MPT_FILTER_NR) {
		snprintf(err, len, "unknown filter kind %d", kind);
		return -EINVAL;
	}
	n = &f->n[kind];
	if (*n >= MPT_FILTER_VALUES_MAX ||
	    (kind == MPT_FILTER_CGROUP && f->n_cgroup_arg >= MPT_FILTER_VALUES_MAX)) {
		snprintf(err, len, "too many --%s values (at most %d)", mpt_filter_kind_name(kind),
			 MPT_FILTER_VALUES_MAX);
		return -E2BIG;
	}
	switch (kind) {
	case MPT_FILTER_COMM:
		if (!*arg || strlen(arg) >= MPT_TASK_COMM_LEN) {
			snprintf(err, len, "invalid --comm '%s': expected 1 to %d bytes", arg,
				 MPT_TASK_COMM_LEN - 1);
			return -EINVAL;
		}
		memset(f->comm[*n], 0, MPT_TASK_COMM_LEN);
		memcpy(f->comm[*n], arg, strlen(arg));
		break;
	case MPT_FILTER_CGROUP:
		if (!*arg) {
			snprintf(err, len, "invalid --cgroup '': expected a path or a cgroup id");
			return -EINVAL;
		}
		/* resolved later, by mpt_filter_resolve(): parsing has no side effects */
		f->cgroup_arg[f->n_cgroup_arg++] = arg;
		return 0;
	case MPT_FILTER_EXE:
		if (!*arg || f->n_exe_arg >= MPT_FILTER_VALUES_MAX) {
			snprintf(err, len, "invalid --exe '%s': expected the path of an executable",
				 arg);
			return -EINVAL;
		}
		/* resolved later, like --cgroup: the kernel matches the file, not its name */
		f->exe_arg[f->n_exe_arg++] = arg;
		return 0;
	default:
		if (parse_id(kind, arg, &v, err, len))
			return -EINVAL;
	}
	for (uint32_t i = 0; i < *n; i++)
		if (kind == MPT_FILTER_COMM ? !strcmp(f->comm[i], arg) : f->val[kind][i] == v)
			return 0;
	f->val[kind][(*n)++] = v;
	return 0;
}

int mpt_filter_add_container(struct mpt_filter *f, const char *arg, char *err, size_t len)
{
	size_t n = strlen(arg);

	if (f->n_container >= MPT_CONTAINER_FILTER_MAX) {
		snprintf(err, len, "too many --container values (at most %d)",
			 MPT_CONTAINER_FILTER_MAX);
		return -E2BIG;
	}
	if (n < 1 || n >= MPT_CTR_STR_MAX) {
		snprintf(err, len,
			 "invalid --container '%.64s': expected an id, a prefix of one, "
			 "or a name (1 to 255 bytes)",
			 arg);
		return -EINVAL;
	}
	if (n > MPT_CONTAINER_ID_LEN && strspn(arg, "0123456789abcdef") == n) {
		snprintf(err, len, "invalid --container '%.70s': an id has at most 64 hex digits",
			 arg);
		return -EINVAL;
	}
	if (strspn(arg, "0123456789abcdef") != n) {
		if (f->n_container_name >= MPT_CONTAINER_FILTER_MAX) {
			snprintf(err, len, "too many --container names (at most %d)",
				 MPT_CONTAINER_FILTER_MAX);
			return -E2BIG;
		}
		f->container_name[f->n_container_name++] = arg;
	} else {
		memcpy(f->container[f->n_container++], arg, n + 1);
	}
	/* the kernel's id list would drop the named ones: one kind or the other */
	if (f->n_container && f->n_container_name) {
		snprintf(err, len, "--container takes ids or names, not both");
		return -EINVAL;
	}
	return 0;
}

int mpt_filter_add_pod(struct mpt_filter *f, const char *arg, char *err, size_t len)
{
	const char *slash = strchr(arg, '/');

	if (!slash || slash == arg || !slash[1] || strchr(slash + 1, '/') ||
	    strlen(arg) >= 2 * MPT_CTR_STR_MAX) {
		snprintf(err, len, "invalid --pod '%.64s': expected NAMESPACE/NAME", arg);
		return -EINVAL;
	}
	if (f->n_pod >= MPT_CONTAINER_FILTER_MAX) {
		snprintf(err, len, "too many --pod values (at most %d)", MPT_CONTAINER_FILTER_MAX);
		return -E2BIG;
	}
	f->pod[f->n_pod++] = arg;
	return 0;
}

int mpt_filter_add_target_container(struct mpt_filter *f, const char *arg, char *err, size_t len)
{
	if (!arg[0] || strlen(arg) >= MPT_CTR_STR_MAX) {
		snprintf(err, len,
			 "invalid --target-container '%.64s': expected an id, a prefix "
			 "of one, or a name",
			 arg);
		return -EINVAL;
	}
	if (f->n_target_container >= MPT_CONTAINER_FILTER_MAX) {
		snprintf(err, len, "too many --target-container values (at most %d)",
			 MPT_CONTAINER_FILTER_MAX);
		return -E2BIG;
	}
	f->target_container[f->n_target_container++] = arg;
	/* only a call on another process has a target: the kernel keeps those alone */
	f->target_other = true;
	return 0;
}

bool mpt_filter_has_container_names(const struct mpt_filter *f)
{
	return f->n_container_name || f->n_pod;
}

bool mpt_filter_has_names(const struct mpt_filter *f)
{
	return mpt_filter_has_container_names(f) || f->n_target_container;
}

/* An id prefix (hex digits) or a verified container's name. */
static bool target_container_matches(const char *want, const struct mpt_target *t)
{
	size_t n = strlen(want);

	if (!t || !t->resolved || !t->container_id[0])
		return false;
	if (n <= MPT_CONTAINER_ID_LEN && strspn(want, "0123456789abcdef") == n &&
	    !strncmp(t->container_id, want, n))
		return true;
	return t->container_name[0] && !strcmp(t->container_name, want);
}

static bool pod_matches(const char *want, const struct mpt_ctr_meta *m)
{
	size_t ns = strcspn(want, "/");

	return strlen(m->pod_namespace) == ns && !strncmp(want, m->pod_namespace, ns) &&
	       !strcmp(want + ns + 1, m->pod_name);
}

/* Names are the runtime's word: a container it does not vouch for has none. */
bool mpt_filter_match_names(const struct mpt_filter *f, const struct mpt_view *v)
{
	const struct mpt_ctr_meta *m = v->enrich ? v->enrich->ctr_meta : NULL;
	const struct mpt_target *t = v->enrich ? v->enrich->target : NULL;
	bool hit = false;

	if (f->n_target_container) {
		for (uint32_t i = 0; i < f->n_target_container && !hit; i++)
			hit = target_container_matches(f->target_container[i], t);
		if (!hit)
			return false;
	}
	if (!mpt_filter_has_container_names(f))
		return true;
	if (!m || m->verify != MPT_CTR_VERIFIED)
		return false;
	hit = false;
	for (uint32_t i = 0; i < f->n_container_name && !hit; i++)
		hit = !strcmp(f->container_name[i], m->name);
	for (uint32_t i = 0; i < f->n_pod && !hit; i++)
		hit = pod_matches(f->pod[i], m);
	return hit;
}

bool mpt_filter_active(const struct mpt_filter *f)
{
	for (int k = 0; k < MPT_FILTER_NR; k++)
		if (f->n[k])
			return true;
	return f->n_cgroup_arg || f->n_container || f->scope != MPT_SCOPE_ALL || f->target_other ||
	       f->n_exe_arg || f->events || mpt_filter_has_names(f);
}

/* A cgroup given as an id: it must exist (the walk finds its path). */
static int resolve_cgroup_id(uint64_t id, const char *arg, char *err, size_t len)
{
	if (!mpt_cgroup_path(id, 0)) {
		snprintf(err, len, "--cgroup %s: no cgroup with that id in the cgroup v2 hierarchy",
			 arg);
		return -ENOENT;
	}
	return 0;
}

int mpt_filter_resolve(struct mpt_filter *f, char *err, size_t len, void (*warn)(const char *msg))
{
	const char *root = mpt_cgroup2_root();
	char path[PATH_MAX], msg[256];
	uint64_t id;
	int rc;

	static const enum mpt_filter_kind pid_kinds[] = {MPT_FILTER_PID, MPT_FILTER_TID,
							 MPT_FILTER_ANCESTOR};

	for (size_t j = 0; j < sizeof(pid_kinds) / sizeof(pid_kinds[0]); j++) {
		enum mpt_filter_kind k = pid_kinds[j];

		for (uint32_t i = 0; i < f->n[k]; i++) {
			snprintf(path, sizeof(path), "/proc/%llu",
				 (unsigned long long)f->val[k][i]);
			if (access(path, F_OK)) {
				snprintf(err, len, "--%s %llu: no such process",
					 mpt_filter_kind_name(k), (unsigned long long)f->val[k][i]);
				return -ESRCH;
			}
		}
	}
	f->n[MPT_FILTER_EXE] = 0;
	for (uint32_t i = 0; i < f->n_exe_arg; i++) {
		struct stat st;

		if (stat(f->exe_arg[i], &st)) {
			snprintf(err, len, "--exe %s: %s", f->exe_arg[i], strerror(errno));
			return -ENOENT;
		}
		if (!S_ISREG(st.st_mode)) {
			snprintf(err, len, "--exe %s: not a regular file", f->exe_arg[i]);
			return -EINVAL;
		}
		f->val[MPT_FILTER_EXE][i] = st.st_ino;
		f->exe_dev[i] = major(st.st_dev) << 20 | minor(st.st_dev);
		f->n[MPT_FILTER_EXE] = i + 1;
	}
	f->n[MPT_FILTER_CGROUP] = 0;
	for (uint32_t i = 0; i < f->n_cgroup_arg; i++) {
		const char *arg = f->cgroup_arg[i];

		if (!root) {
			snprintf(err, len, "--cgroup %s: no cgroup v2 hierarchy is mounted", arg);
			return -ENOENT;
		}
		if (!parse_number(arg, UINT64_MAX, &id)) {
			rc = resolve_cgroup_id(id, arg, err, len);
			if (rc)
				return rc;
		} else {
			/* an absolute path, or one relative to the v2 root as /proc/PID/cgroup
			 * shows */
			id = mpt_cgroup_id_of(arg);
			if (!id && arg[0] == '/') {
				snprintf(path, sizeof(path), "%s%s", root, arg);
				id = mpt_cgroup_id_of(path);
			}
			if (!id) {
				snprintf(
				    err, len,
				    "--cgroup %s: not a cgroup v2 directory (the hierarchy is at "
				    "%s)",
				    arg, root);
				return -ENOENT;
			}
		}
		f->val[MPT_FILTER_CGROUP][f->n[MPT_FILTER_CGROUP]++] = id;
	}
	for (uint32_t i = 0; i < f->n_container && warn; i++) {
		if (!mpt_container_running(f->container[i])) {
			snprintf(msg, sizeof(msg),
				 "no running container matches --container %s yet; its calls are "
				 "traced once it starts",
				 f->container[i]);
			warn(msg);
		}
	}
	return 0;
}

static bool listed(const struct mpt_filter *f, enum mpt_filter_kind k, uint64_t v)
{
	for (uint32_t i = 0; i < f->n[k]; i++)
		if (f->val[k][i] == v)
			return true;
	return false;
}

/* --cgroup in replay: an id names that cgroup; a path covers the cgroups below it. */
static bool cgroup_arg_matches(const char *arg, const struct mpt_rec_hdr *ev, const char *path)
{
	uint64_t id;
	size_t n;

	if (!parse_number(arg, UINT64_MAX, &id))
		return ev->task.cgroup_id == id;
	n = strlen(arg);
	while (n > 1 && arg[n - 1] == '/')
		n--;
	if (n == 1 && arg[0] == '/')
		return path[0] == '/';
	return !strncmp(path, arg, n) && (path[n] == '\0' || path[n] == '/');
}

int mpt_filter_add_events(struct mpt_filter *f, const char *list, char *err, size_t len)
{
	const char *p = list;

	while (*p) {
		size_t n = strcspn(p, ",");
		const struct mpt_event_desc *d = NULL;
		char name[32];

		if (n && n < sizeof(name)) {
			memcpy(name, p, n);
			name[n] = '\0';
			d = mpt_event_desc_named(name);
		}
		if (!d) {
			char known[256] = "";

			for (unsigned int i = 0; (d = mpt_event_desc_at(i)); i++)
				snprintf(known + strlen(known), sizeof(known) - strlen(known),
					 "%s%s", i ? ", " : "", d->name);
			snprintf(err, len, "unknown event '%.*s' in --event: known are %s", (int)n,
				 p, known);
			return -EINVAL;
		}
		f->events |= MPT_EVENT_BIT(d->type);
		p += n;
		if (*p == ',' && *++p == '\0') {
			snprintf(err, len, "--event ends in a comma: '%s'", list);
			return -EINVAL;
		}
	}
	if (!f->events) {
		snprintf(err, len, "--event needs at least one event name");
		return -EINVAL;
	}
	return 0;
}

bool mpt_filter_event_on(const struct mpt_filter *f, const struct mpt_event_desc *d)
{
	return !f->events || (f->events & MPT_EVENT_BIT(d->type));
}

/* --exe in replay: by the path recorded (the file it named then may be gone, or elsewhere) */
static bool exe_matches(const struct mpt_filter *f, const char *exe)
{
	for (uint32_t i = 0; i < f->n_exe_arg; i++)
		if (exe && !strcmp(exe, f->exe_arg[i]))
			return true;
	return false;
}

/* --descendant-of in replay: the caller or one of its recorded ancestors */
static bool ancestor_matches(const struct mpt_filter *f, const struct mpt_task *t,
			     const struct mpt_lineage_view *l)
{
	if (listed(f, MPT_FILTER_ANCESTOR, t->host_tgid))
		return true;
	for (unsigned int i = 0; l && l->self && i < l->n_anc; i++)
		if (listed(f, MPT_FILTER_ANCESTOR, l->anc[i]->tgid))
			return true;
	return false;
}

bool mpt_filter_match(const struct mpt_filter *f, const struct mpt_view *v)
{
	static const struct mpt_enrich none = {"", "", "", "", "", NULL, NULL, NULL};
	const struct mpt_enrich *en = v->enrich ? v->enrich : &none;
	const struct mpt_rec_hdr *ev = v->hdr;
	const struct mpt_task *t = &ev->task;
	const char *ctr = en->container_id ? en->container_id : "";
	int32_t pid = mpt_view_target_pid(v);
	bool hit;

	if (f->events && !(f->events & MPT_EVENT_BIT(ev->type)))
		return false;
	if (f->n[MPT_FILTER_PID] && !listed(f, MPT_FILTER_PID, t->host_tgid))
		return false;
	if (f->n[MPT_FILTER_TID] && !listed(f, MPT_FILTER_TID, t->host_tid))
		return false;
	if (f->n[MPT_FILTER_UID] && !listed(f, MPT_FILTER_UID, t->uid))
		return false;
	if (f->n[MPT_FILTER_COMM]) {
		hit = false;
		for (uint32_t i = 0; i < f->n[MPT_FILTER_COMM] && !hit; i++)
			hit = !strncmp(f->comm[i], t->comm, MPT_TASK_COMM_LEN);
		if (!hit)
			return false;
	}
	if (f->target_other &&
	    (pid == 0 || (uint32_t)pid == t->ns_tgid || (uint32_t)pid == t->ns_tid))
		return false;
	if (f->n[MPT_FILTER_MNTNS] && !listed(f, MPT_FILTER_MNTNS, t->mnt_ns))
		return false;
	if (f->n_exe_arg && !exe_matches(f, en->exe_path))
		return false;
	if (f->n[MPT_FILTER_ANCESTOR] && !ancestor_matches(f, t, en->lineage))
		return false;
	if (f->n[MPT_FILTER_PIDNS] && !listed(f, MPT_FILTER_PIDNS, t->pid_ns))
		return false;
	if (f->n_cgroup_arg) {
		hit = false;
		for (uint32_t i = 0; i < f->n_cgroup_arg && !hit; i++)
			hit = cgroup_arg_matches(f->cgroup_arg[i], ev, en->cgroup_path);
		if (!hit)
			return false;
	}
	if (f->scope == MPT_SCOPE_HOST_ONLY && ctr[0])
		return false;
	if (f->scope == MPT_SCOPE_CONTAINERS_ONLY && !ctr[0])
		return false;
	if (f->n_container) {
		hit = false;
		for (uint32_t i = 0; i < f->n_container && !hit; i++)
			hit = ctr[0] && !strncmp(ctr, f->container[i], strlen(f->container[i]));
		if (!hit)
			return false;
	}
	return mpt_filter_match_names(f, v);
}
