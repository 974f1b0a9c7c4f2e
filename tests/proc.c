// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#define _GNU_SOURCE
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int proc_spawn(struct proc *p, char *const argv[], uid_t uid)
{
	int out[2], err[2];

	memset(p, 0, sizeof(*p));
	p->out_fd = p->err_fd = -1;
	if (pipe2(out, O_CLOEXEC))
		return -errno;
	if (pipe2(err, O_CLOEXEC)) {
		close(out[0]);
		close(out[1]);
		return -errno;
	}
	p->pid = fork();
	if (p->pid == 0) {
		dup2(out[1], 1);
		dup2(err[1], 2);
		if (uid && (setgid(uid) || setuid(uid)))
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	if (p->pid < 0) {
		close(out[0]);
		close(err[0]);
		return -EAGAIN;
	}
	p->out_fd = out[0];
	p->err_fd = err[0];
	return 0;
}

/* What is there on pipe @i (0 stdout, 1 stderr): 0, or -EMSGSIZE when it is full. */
static int take(struct proc *p, int i)
{
	int *fd = i ? &p->err_fd : &p->out_fd;
	char *buf = i ? p->err : p->out;
	size_t *len = i ? &p->err_len : &p->out_len;
	size_t cap = i ? sizeof(p->err) : sizeof(p->out);
	ssize_t n;

	if (*len == cap - 1)
		return -EMSGSIZE;
	n = read(*fd, buf + *len, cap - 1 - *len);
	if (n <= 0) {
		close(*fd);
		*fd = -1;
		return 0;
	}
	*len += n;
	buf[*len] = '\0';
	return 0;
}

int proc_pump(struct proc *p, int ms, const char *want)
{
	uint64_t deadline = mono_ns() + (uint64_t)ms * 1000000;

	while (mono_ns() < deadline && (p->out_fd >= 0 || p->err_fd >= 0)) {
		struct pollfd fds[2] = {{p->out_fd, POLLIN, 0}, {p->err_fd, POLLIN, 0}};

		if (want && p->err_len && strstr(p->err, want))
			return 0;
		if (poll(fds, 2, 20) <= 0)
			continue;
		for (int i = 0; i < 2; i++)
			if ((i ? p->err_fd : p->out_fd) >= 0 &&
			    (fds[i].revents & (POLLIN | POLLHUP)) && take(p, i))
				return -EMSGSIZE;
	}
	return 0;
}

int proc_reap(struct proc *p, int ms)
{
	uint64_t deadline = mono_ns() + (uint64_t)ms * 1000000;
	int status;
	pid_t r;

	/* its pipes close a moment before it can be reaped */
	while ((r = waitpid(p->pid, &status, WNOHANG)) == 0 && mono_ns() < deadline)
		usleep(5000);
	if (r != p->pid)
		return -1;
	if (p->out_fd >= 0)
		close(p->out_fd);
	if (p->err_fd >= 0)
		close(p->err_fd);
	p->out_fd = p->err_fd = -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

bool proc_ready(const struct proc *p)
{
	const char *l = strstr(p->err, "mptrace: tracing ");

	return l && strstr(l, " via ") && strchr(l, '\n');
}
