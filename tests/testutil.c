// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#define _GNU_SOURCE
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int tu_require_bpf(const char *test)
{
	char why[256];

	if (!mpt_check_privileges(why, sizeof(why)))
		return 0;
	if (getenv("MPTRACE_REQUIRE_BPF") && *getenv("MPTRACE_REQUIRE_BPF") != '0') {
		fprintf(stderr, "FAIL: %s: BPF is required (MPTRACE_REQUIRE_BPF) but: %s\n", test,
			why);
		return 1;
	}
	printf("SKIP: %s: %s\n", test, why);
	return TU_SKIP;
}

void tu_print_lap(void)
{
	static uint64_t last;
	uint64_t now = tu_boot_ns();

	if (last)
		printf("# %.1f s\n", (now - last) / 1e9);
	last = now;
}

uint64_t tu_boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

pid_t tu_gettid(void)
{
	return syscall(SYS_gettid);
}

long tu_move_pages(struct tu_call *c)
{
	long r;

	c->tid = tu_gettid();
	c->boot_before = tu_boot_ns();
	r = syscall(SYS_move_pages, c->pid, c->count, c->pages, c->nodes, c->status, c->flags);
	c->ret = r < 0 ? -errno : r;
	c->boot_after = tu_boot_ns();
	if (c->status) {
		size_t n = c->count < 1024 ? c->count : 1024;

		memcpy(c->status_seen, c->status, n * sizeof(int));
	}
	return c->ret;
}

/* The cgroup v2 mount: /sys/fs/cgroup on pure v2 hosts, .../unified on hybrid ones. */
static int cgroup2_mount(char *path, size_t len)
{
	char line[1024], mnt[512], fstype[64];
	FILE *f = fopen("/proc/self/mountinfo", "r");
	int found = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *sep = strstr(line, " - ");

		if (!sep || sscanf(sep + 3, "%63s", fstype) != 1 || strcmp(fstype, "cgroup2"))
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %511s", mnt) == 1) {
			snprintf(path, len, "%s", mnt);
			found = 0;
			break;
		}
	}
	fclose(f);
	return found;
}

uint64_t tu_self_cgroup_id(void)
{
	char line[1024], mnt[512], path[2048];
	struct {
		struct file_handle fh;
		uint64_t id;
	} h = {.fh.handle_bytes = sizeof(uint64_t)};
	FILE *f;
	int mount_id;
	uint64_t id = 0;

	if (cgroup2_mount(mnt, sizeof(mnt)))
		return 0;
	f = fopen("/proc/self/cgroup", "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3))
			continue;
		line[strcspn(line, "\n")] = '\0';
		snprintf(path, sizeof(path), "%s%s", mnt, line + 3);
		/* the file handle of a cgroup2 directory is its id */
		if (!name_to_handle_at(AT_FDCWD, path, &h.fh, &mount_id, 0))
			memcpy(&id, h.fh.f_handle, sizeof(id));
		break;
	}
	fclose(f);
	return id;
}

int tu_online_nodes(void)
{
	char path[64];
	int node, n = 0;

	for (node = 0; node < 1024; node++) {
		snprintf(path, sizeof(path), "/sys/devices/system/node/node%d", node);
		if (!access(path, F_OK))
			n++;
	}
	return n;
}

int tu_offline_node(void)
{
	char buf[256];
	int fd = open("/sys/devices/system/node/online", O_RDONLY);
	ssize_t n;
	int node = 0, a, b;
	char *p;

	if (fd < 0)
		return 1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 1;
	buf[n] = '\0';
	/* "0" or "0-1" or "0,2-3": the highest online node + 1 is offline (or beyond MAX_NUMNODES)
	 */
	for (p = buf; *p;) {
		if (sscanf(p, "%d-%d", &a, &b) == 2)
			node = b + 1 > node ? b + 1 : node;
		else if (sscanf(p, "%d", &a) == 1)
			node = a + 1 > node ? a + 1 : node;
		p += strcspn(p, ",");
		if (*p == ',')
			p++;
	}
	return node;
}

int tu_collect(void *ctx, const struct mpt_view *v)
{
	struct tu_events *e = ctx;
	struct mpt_call_event *copy;

	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 16;
		struct mpt_call_event **p = realloc(e->ev, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		e->ev = p;
		e->cap = cap;
	}
	/* the record as it came, of any event (a migrate_pages one is cast back by its reader) */
	copy = malloc(v->raw_size);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, v->raw, v->raw_size);
	e->ev[e->n++] = copy;
	return 0;
}

size_t tu_wait_events(struct mpt_tracer *t, struct tu_events *events, size_t n, int timeout_ms)
{
	uint64_t deadline = tu_boot_ns() + (uint64_t)timeout_ms * 1000000ull;

	while (events->n < n && tu_boot_ns() < deadline)
		mpt_tracer_poll(t, 10);
	return events->n;
}

void tu_events_clear(struct tu_events *events)
{
	size_t i;

	for (i = 0; i < events->n; i++)
		free(events->ev[i]);
	events->n = 0;
}

void *tu_touched_pages(size_t n)
{
	long page = sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, n * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	size_t i;

	if (p == MAP_FAILED)
		return NULL;
	for (i = 0; i < n; i++)
		p[i * page] = 1;
	return p;
}

int tu_attach_mode(enum mpt_attach_mode *mode)
{
	const char *name = getenv("MPTRACE_TEST_ATTACH");

	if (name && *name && mpt_attach_parse(name, mode)) {
		fprintf(stderr, "MPTRACE_TEST_ATTACH: unknown mode '%s'\n", name);
		return -1;
	}
	return 0;
}

bool tu_trace_self;

uint32_t __real_mpt_self_tgid(void);
uint32_t __wrap_mpt_self_tgid(void);

uint32_t __wrap_mpt_self_tgid(void)
{
	return tu_trace_self ? 0 : __real_mpt_self_tgid();
}

int tu_seccomp_refuse(int mp_err, int mg_err)
{
	struct sock_filter f[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_move_pages, 0, 1),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (mp_err & SECCOMP_RET_DATA)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_migrate_pages, 0, 1),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (mg_err & SECCOMP_RET_DATA)),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {sizeof(f) / sizeof(f[0]), f};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) ? -1 : 0;
}
