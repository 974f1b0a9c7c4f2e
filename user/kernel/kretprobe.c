// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "kernel/kretprobe.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kernel/attach.h"

#define GROUP "mptrace"

static int tracefs_file(char *path, size_t len, const char *name)
{
	const char *root = mpt_tracefs_root();

	if (!root)
		return -ENOENT;
	snprintf(path, len, "%s/%s", root, name);
	return 0;
}

static int kprobe_events_write(const char *cmd)
{
	char path[128];
	ssize_t n;
	int fd, err;

	err = tracefs_file(path, sizeof(path), "kprobe_events");
	if (err)
		return err;
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, cmd, strlen(cmd));
	err = n < 0 ? -errno : 0;
	close(fd);
	return err;
}

static int event_id(const char *event)
{
	char name[160], path[256], buf[32];
	int fd, n;

	snprintf(name, sizeof(name), "events/%s/%s/id", GROUP, event);
	if (tracefs_file(path, sizeof(path), name))
		return -ENOENT;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EINVAL;
	buf[n] = '\0';
	return atoi(buf);
}

int mpt_kretprobe_attach(struct mpt_kretprobe *kr, struct bpf_program *prog, const char *func,
			 const char *tag, bool entry, char *why, size_t len)
{
	struct perf_event_attr attr = {.size = sizeof(attr), .type = PERF_TYPE_TRACEPOINT};
	char cmd[256];
	int id, pfd, err;

	static unsigned int seq;

	memset(kr, 0, sizeof(*kr));
	/* unique per probe: one process may run several tracers (the tests do) */
	snprintf(kr->event, sizeof(kr->event), "mpt%d_%u_%s", (int)getpid(), seq++, tag);
	if (entry)
		snprintf(cmd, sizeof(cmd), "p:%s/%s %s\n", GROUP, kr->event, func);
	else
		snprintf(cmd, sizeof(cmd), "r%d:%s/%s %s\n", MPT_KRETPROBE_MAXACTIVE, GROUP,
			 kr->event, func);
	err = kprobe_events_write(cmd);
	if (err) {
		snprintf(why, len, "creating a %s on %s in kprobe_events failed: %s",
			 entry ? "kprobe" : "kretprobe with maxactive 4096", func, strerror(-err));
		kr->event[0] = '\0';
		return err;
	}
	id = event_id(kr->event);
	if (id < 0) {
		snprintf(why, len, "reading the id of kretprobe %s failed: %s", kr->event,
			 strerror(-id));
		mpt_kretprobe_detach(kr);
		return id;
	}
	attr.config = id;
	attr.sample_period = 1;
	attr.wakeup_events = 1;
	pfd = syscall(SYS_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
	if (pfd < 0) {
		err = -errno;
		snprintf(why, len, "opening kretprobe %s failed: %s", kr->event, strerror(-err));
		mpt_kretprobe_detach(kr);
		return err;
	}
	/* the link owns pfd from here on, and closes it on destroy */
	kr->link = bpf_program__attach_perf_event(prog, pfd);
	if (!kr->link) {
		err = -errno;
		close(pfd);
		snprintf(why, len, "attaching %s to kretprobe %s failed: %s",
			 bpf_program__name(prog), kr->event, strerror(-err));
		mpt_kretprobe_detach(kr);
		return err;
	}
	return 0;
}

void mpt_kretprobe_detach(struct mpt_kretprobe *kr)
{
	char cmd[160];

	bpf_link__destroy(kr->link);
	kr->link = NULL;
	if (!kr->event[0])
		return;
	snprintf(cmd, sizeof(cmd), "-:%s/%s\n", GROUP, kr->event);
	kprobe_events_write(cmd);
	kr->event[0] = '\0';
}

uint64_t mpt_kretprobe_missed(const struct mpt_kretprobe *kr)
{
	char path[128], line[512], name[128];
	unsigned long long hits, missed, found = 0;
	FILE *f;

	if (!kr->event[0] || tracefs_file(path, sizeof(path), "kprobe_profile"))
		return 0;
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, " %127s %llu %llu", name, &hits, &missed) == 3 &&
		    !strcmp(name, kr->event)) {
			found = missed;
			break;
		}
	}
	fclose(f);
	return found;
}

void mpt_kretprobe_remove_stale(void)
{
	char path[128], line[512], cmd[160];
	FILE *f;

	if (tracefs_file(path, sizeof(path), "kprobe_events"))
		return;
	f = fopen(path, "re");
	if (!f)
		return;
	/* "r4096:mptrace/mpt1234_0_x64 __x64_sys_move_pages" */
	while (fgets(line, sizeof(line), f)) {
		char event[64];
		int pid;

		if (sscanf(line, "%*[^:]:" GROUP "/%63s", event) != 1 ||
		    sscanf(event, "mpt%d_", &pid) != 1 || pid <= 0)
			continue;
		if (kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(cmd, sizeof(cmd), "-:%s/%s\n", GROUP, event);
		kprobe_events_write(cmd);
	}
	fclose(f);
}
