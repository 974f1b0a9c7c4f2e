// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "e2e.h"

const char *mptrace_bin, *schema, *schema_check, *python, *ocsf_desc, *ocsf_check;
const char *lineage_bin;
const char *e2e_comm;
char tmpdir[] = "/tmp/mptrace-e2e-XXXXXX";

void proc_start(struct proc *p, char *const argv[], uid_t uid)
{
	assert_int_equal(proc_spawn(p, argv, uid), 0);
}

void proc_read(struct proc *p, int ms, const char *want)
{
	if (proc_pump(p, ms, want))
		fail_msg("more output than the test keeps: %.200s", p->out_len ? p->out : p->err);
}

int proc_wait(struct proc *p, int ms)
{
	int rc;

	proc_read(p, ms, NULL);
	rc = proc_reap(p, ms);
	if (rc < 0) {
		kill(p->pid, SIGKILL);
		waitpid(p->pid, NULL, 0);
		fprintf(stderr, "mptrace did not exit; stderr: %s\n", p->err);
	}
	return rc;
}

int run(char *const argv[], uid_t uid, struct proc *p)
{
	proc_start(p, argv, uid);
	return proc_wait(p, 10000);
}

void assert_one_line_error(const struct proc *p, const char *part)
{
	if (!strstr(p->err, part))
		fail_msg("stderr '%s' does not mention '%s'", p->err, part);
	assert_int_equal(strncmp(p->err, "mptrace: ", 9), 0);
	assert_ptr_equal(strchr(p->err, '\n'), p->err + p->err_len - 1);
}

void start_tracing(struct proc *p, char *const argv[])
{
	proc_start(p, argv, 0);
	/* "tracing move_pages, migrate_pages via MODE", or the events --event chose */
	proc_read(p, 15000, " via ");
	if (!strstr(p->err, "mptrace: tracing ") || !strstr(p->err, " via "))
		fail_msg("no ready line; stderr: %s", p->err);
}

pid_t waiting_child(int go[2])
{
	pid_t child;
	char b;

	assert_int_equal(pipe(go), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		alarm(60); /* never outlive a failed test */
		close(1), close(2);
		(void)!read(go[0], &b, 1);
		_exit(0);
	}
	return child;
}

void own_call(struct tu_call *c, void **pages, int *status, size_t n, int *nodes, int flags)
{
	memset(c, 0, sizeof(*c));
	c->count = n;
	c->pages = pages;
	c->status = status;
	c->nodes = nodes;
	c->flags = flags;
	tu_move_pages(c);
}

json_t *ev_arg(json_t *ev, size_t i)
{
	return json_array_get(json_object_get(ev, "args"), i);
}

char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc(n + 1);
	assert_int_equal(fread(buf, 1, n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = n;
	return buf;
}

void assert_replay_is_live(const char *cap, const char *live, bool detect, const char *ancestors)
{
	char again[300];
	char *replay[] = {(char *)mptrace_bin,
			  "replay",
			  "-f",
			  "json",
			  "-o",
			  again,
			  (char *)cap,
			  "--ancestors",
			  ancestors ? (char *)ancestors : "0",
			  detect ? "--detect" : NULL,
			  NULL};
	static struct proc p;
	size_t n, rn;
	char *buf, *rbuf;

	snprintf(again, sizeof(again), "%s.replayed", live);
	unlink(again);
	assert_int_equal(run(replay, 0, &p), 0);
	buf = slurp(live, &n);
	rbuf = slurp(again, &rn);
	assert_int_equal(rn, n);
	assert_memory_equal(rbuf, buf, n);
	free(buf);
	free(rbuf);
}

bool is_process_record(json_t *j)
{
	const char *name = json_string_value(json_object_get(j, "eventName"));

	return name && !strcmp(name, "process");
}

int json_lines(const char *path)
{
	size_t len;
	char *buf = slurp(path, &len), *p = buf, *nl;
	json_t *procs = json_object();
	int n = 0, line = 0;

	while ((nl = memchr(p, '\n', len - (p - buf)))) {
		json_error_t err;
		json_t *j = json_loadb(p, nl - p, 0, &err);
		const char *parent;

		if (!j)
			fail_msg("%s: line %d is not JSON: %s", path, line + 1, err.text);
		line++;
		parent = json_string_value(json_object_get(j, "parentEntityId"));
		if (is_process_record(j)) {
			json_object_set(procs, json_string_value(json_object_get(j, "entityId")),
					j);
		} else {
			/* a cut chain goes on in a record of this file, before the line */
			if (parent && json_is_true(json_object_get(j, "ancestorsTruncated")) &&
			    !json_object_get(procs, parent))
				fail_msg(
				    "%s: line %d names parent %s, of which no record came before",
				    path, line, parent);
			/* a lean line's caller, too */
			if (!json_object_get(j, "commandLine") && json_object_get(j, "args") &&
			    !json_object_get(procs,
					     json_string_value(json_object_get(j, "entityId"))))
				fail_msg("%s: lean line %d, and no record of its caller before it",
					 path, line);
			n++;
		}
		json_decref(j);
		p = nl + 1;
	}
	assert_int_equal(p - buf, len); /* nothing after the last newline: no torn line */
	json_decref(procs);
	free(buf);
	return n;
}

int count_lines(const char *s)
{
	int n = 0;

	for (; (s = strchr(s, '\n')); s++)
		n++;
	return n;
}

json_t *last_line_with(const char *buf, const char *needle)
{
	const char *at = NULL, *p = buf;
	json_error_t err;

	while ((p = strstr(p, needle)))
		at = p++;
	if (!at)
		return NULL;
	while (at > buf && at[-1] != '\n')
		at--;
	return json_loadb(at, strcspn(at, "\n"), 0, &err);
}

int newlines(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[1 << 16];
	int n = 0;

	while (f && fgets(line, sizeof(line), f))
		n += strchr(line, '\n') && !strstr(line, "\"eventName\":\"process\"");
	if (f)
		fclose(f);
	return n;
}

void copy_exe(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY | O_CLOEXEC), out;
	ssize_t n;

	assert_true(in >= 0);
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	assert_true(out >= 0);
	assert_int_equal(fchmod(out, 0755), 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, n), n);
	assert_int_equal(n, 0);
	close(in);
	assert_int_equal(close(out), 0);
}

int e2e_main(int argc, char **argv, const char *name, const struct CMUnitTest *tests, size_t n)
{
	char cmd[256];
	int rc;

	if (argc != 8) {
		fprintf(stderr,
			"usage: %s MPTRACE SCHEMA SCHEMA_CHECKER PYTHON OCSF_DESC OCSF_CHECKER "
			"MP_LINEAGE\n",
			argv[0]);
		return 1;
	}
	mptrace_bin = argv[1];
	schema = argv[2];
	schema_check = argv[3];
	python = argv[4];
	ocsf_desc = argv[5];
	ocsf_check = argv[6];
	lineage_bin = argv[7];
	/*
	 * The events' processName, and a tracer's --comm: each binary its own,
	 * as ctest runs two of them at once
	 */
	e2e_comm = name;
	prctl(PR_SET_NAME, name);
	rc = tu_require_bpf(name);
	if (rc)
		return rc;
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	rc = _cmocka_run_group_tests(name, tests, n, NULL, NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", tmpdir);
	return rc;
}
