// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Who made the call, through the real binary: lineage of short-lived callers, the
 * exe and descendant filters, a pid given out again, hostile names and paths, the
 * executable's identity, cgroups that vanish.
 */
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

#include "capture/capture.h"
#include "context/container.h"
#include "e2e.h"
#include "testutil.h"

/* The JSON line of @live whose processName and first commandLine arguments are these. */
static json_t *line_of(const char *live, const char *comm, const char *arg1, const char *arg2)
{
	FILE *f = fopen(live, "r");
	char buf[65536];
	json_t *found = NULL;

	assert_non_null(f);
	while (!found && fgets(buf, sizeof(buf), f)) {
		json_t *ev = json_loads(buf, 0, NULL), *cl;

		if (!ev)
			continue;
		cl = json_object_get(ev, "commandLine");
		if (!strcmp(json_string_value(json_object_get(ev, "processName")), comm) &&
		    json_array_size(cl) >= 2 &&
		    !strcmp(json_string_value(json_array_get(cl, 1)), arg1) &&
		    (!arg2 || (json_array_size(cl) >= 3 &&
			       !strcmp(json_string_value(json_array_get(cl, 2)), arg2))))
			found = ev;
		else
			json_decref(ev);
	}
	fclose(f);
	if (!found)
		fail_msg("no %s %s %s line in %s", comm, arg1, arg2 ? arg2 : "", live);
	return found;
}

static json_t *ancestor(json_t *ev, size_t i)
{
	json_t *a = json_array_get(json_object_get(ev, "ancestors"), i);

	if (!a)
		fail_msg("no ancestor %zu", i);
	return a;
}

static json_int_t jint_of(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static const char *exe_of(json_t *o)
{
	return json_string_value(json_object_get(json_object_get(o, "executable"), "path"));
}

/* `replay -f json @cap` prints what the live run wrote to @live, byte for byte. */

/*
 * Trace mp_lineage's migrate_pages calls into TMPDIR/@name.json (@live) and
 * the capture TMPDIR/@name.mpcap (@cap), each of 256 bytes.
 */
static void trace_lineage(struct proc *p, const char *name, char *live, char *cap)
{
	snprintf(live, 256, "%s/%s.json", tmpdir, name);
	snprintf(cap, 256, "%s/%s.mpcap", tmpdir, name);
	char *argv[] = {
	    (char *)mptrace_bin, "-f", "json",	  "--ancestors",   "all",    "-o",	   live,
	    "--capture",	 cap,  "--event", "migrate_pages", "--comm", "mp_lineage", NULL};
	start_tracing(p, argv);
}

/* Run mp_lineage with @args to its end. */
static void run_lineage(char *const args[])
{
	struct proc p;

	assert_int_equal(run(args, 0, &p), 0);
}

/*
 * Short-lived callers, named right after they are gone: the executable,
 * command line and ancestors of a process that execs, calls and exits at
 * once; a forked child that renames itself; a second exec; a child in a
 * new pid namespace; a process started before mptrace. Live and in replay.
 */
/* Each call's caller and ancestors as the live JSON @live says them. */
static void check_lineages(const char *live, const char *helper, const char *me, pid_t early)
{
	json_t *ev;

	ev = line_of(live, "mp_lineage", "call", "x");
	assert_string_equal(exe_of(ev), helper);
	assert_int_equal(json_array_size(json_object_get(ev, "commandLine")), 4);
	assert_false(json_is_true(json_object_get(ev, "commandLineTruncated")));
	assert_int_equal(jint_of(ancestor(ev, 0), "hostProcessId"), getpid());
	assert_string_equal(exe_of(ancestor(ev, 0)), me);
	assert_string_equal(json_string_value(json_object_get(ancestor(ev, 0), "processName")),
			    e2e_comm);
	assert_int_equal(jint_of(ancestor(ev, 1), "hostProcessId"), getppid());
	json_decref(ev);

	/* a forked child that renamed itself: its name, its parent's image, two generations up */
	ev = line_of(live, "renamed", "fork-rename", NULL);
	assert_string_equal(exe_of(ev), helper);
	assert_string_equal(json_string_value(json_object_get(ancestor(ev, 0), "processName")),
			    "mp_lineage");
	assert_string_equal(exe_of(ancestor(ev, 0)), helper);
	assert_int_not_equal(jint_of(ancestor(ev, 0), "hostProcessId"),
			     jint_of(ev, "hostProcessId"));
	assert_int_equal(jint_of(ancestor(ev, 1), "hostProcessId"), getpid());
	json_decref(ev);

	/* exec'd twice: what the second exec said */
	ev = line_of(live, "mp_lineage", "call", "second");
	assert_string_equal(
	    json_string_value(json_array_get(json_object_get(ev, "commandLine"), 0)), "mp_lineage");
	assert_string_equal(exe_of(ev), helper);
	assert_int_equal(jint_of(ancestor(ev, 0), "hostProcessId"), getpid());
	json_decref(ev);

	/* pid 1 of its own namespace: host pids for the chain */
	ev = line_of(live, "mp_lineage", "pidns", NULL);
	assert_int_equal(jint_of(ev, "processId"), 1);
	assert_int_not_equal(jint_of(ev, "hostProcessId"), 1);
	assert_string_equal(exe_of(ev), helper);
	assert_string_equal(exe_of(ancestor(ev, 0)), helper);
	assert_int_equal(jint_of(ancestor(ev, 1), "hostProcessId"), getpid());
	json_decref(ev);

	/* started before mptrace */
	ev = line_of(live, "mp_lineage", "wait-call", NULL);
	assert_int_equal(jint_of(ev, "hostProcessId"), early);
	assert_string_equal(exe_of(ev), helper);
	assert_int_equal(jint_of(ancestor(ev, 0), "hostProcessId"), getpid());
	assert_string_equal(exe_of(ancestor(ev, 0)), me);
	json_decref(ev);
}

/*
 * The chain of event @ev, walked through the process records in @procs from
 * its parentEntityId: each as @full (the same event with its chain inline)
 * names it. The records came before the line, each once.
 */
static void check_chain_from_records(json_t *ev, json_t *procs, json_t *full)
{
	json_t *inline_chain = json_object_get(full, "ancestors");
	const char *id = json_string_value(json_object_get(ev, "parentEntityId"));
	size_t k = 0;
	json_t *rec;

	assert_non_null(id);
	for (; id && (rec = json_object_get(procs, id)); k++) {
		json_t *a = json_array_get(inline_chain, k);

		assert_non_null(a);
		assert_int_equal(jint_of(rec, "hostProcessId"), jint_of(a, "hostProcessId"));
		assert_int_equal(jint_of(rec, "startTime"), jint_of(a, "startTime"));
		assert_string_equal(json_string_value(json_object_get(rec, "processName")),
				    json_string_value(json_object_get(a, "processName")));
		assert_string_equal(exe_of(rec), exe_of(a));
		id = json_string_value(json_object_get(rec, "parentEntityId"));
	}
	assert_int_equal(k, json_array_size(inline_chain));
}

/*
 * --ancestors 1 in replay: each line names its parent alone and says the
 * chain goes on; process records before it tell the rest, each once, so the
 * chain rebuilt from them is the one --ancestors all prints inline. The
 * capture kept it whole, so --ancestors all is the live run.
 */
static void check_ancestors_cut(char *cap, const char *live)
{
	char *one[] = {(char *)mptrace_bin, "replay", "-f", "json", "--ancestors", "1", cap, NULL};
	char *all[] = {(char *)mptrace_bin, "replay", "-f", "json",
		       "--ancestors",	    "all",    cap,  NULL};
	json_t *procs = json_object();
	size_t n, full_len;
	char *save, *line, *buf, *full = slurp(live, &full_len);
	char *fsave, *fline = strtok_r(full, "\n", &fsave);
	int lines = 0;
	struct proc p;

	assert_int_equal(run(one, 0, &p), 0);
	for (line = strtok_r(p.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_t *ev = json_loads(line, 0, NULL), *fev;

		assert_non_null(ev);
		if (is_process_record(ev)) {
			const char *id = json_string_value(json_object_get(ev, "entityId"));

			assert_null(json_object_get(procs, id));
			json_object_set_new(procs, id, ev);
			continue;
		}
		assert_int_equal(json_array_size(json_object_get(ev, "ancestors")), 1);
		assert_true(json_is_true(json_object_get(ev, "ancestorsTruncated")));
		assert_int_equal(jint_of(ancestor(ev, 0), "hostProcessId"),
				 jint_of(ev, "hostParentProcessId"));
		assert_non_null(fline);
		fev = json_loads(fline, 0, NULL);
		assert_non_null(fev);
		check_chain_from_records(ev, procs, fev);
		fline = strtok_r(NULL, "\n", &fsave);
		json_decref(fev);
		json_decref(ev);
		lines++;
	}
	assert_int_equal(lines, 5);
	assert_true(json_object_size(procs) > 0);
	json_decref(procs);
	free(full);
	assert_int_equal(run(all, 0, &p), 0);
	buf = slurp(live, &n);
	assert_int_equal(p.out_len, n);
	assert_memory_equal(p.out, buf, n);
	free(buf);
}

/* The lineage filters in replay: by the recorded tree and executable path. */
static void check_replay_filters(char *cap, char *helper, pid_t early)
{
	struct proc p;

	char pid_s[16], early_s[16];
	snprintf(pid_s, sizeof(pid_s), "%d", getpid());
	snprintf(early_s, sizeof(early_s), "%d", early);
	char *mine[] = {(char *)mptrace_bin, "replay", "--descendant-of", pid_s, cap, NULL};
	assert_int_equal(run(mine, 0, &p), 0);
	assert_int_equal(count_lines(p.out), 5);
	char *only_early[] = {(char *)mptrace_bin, "replay", "--descendant-of", early_s, cap, NULL};
	assert_int_equal(run(only_early, 0, &p), 0);
	assert_int_equal(count_lines(p.out), 1);
	char *by_exe[] = {(char *)mptrace_bin, "replay", "--exe", helper, cap, NULL};
	assert_int_equal(run(by_exe, 0, &p), 0);
	assert_int_equal(count_lines(p.out), 5);
	char *by_sh[] = {(char *)mptrace_bin, "replay", "--exe", "/bin/sh", cap, NULL};
	assert_int_equal(run(by_sh, 0, &p), 0);
	assert_int_equal(count_lines(p.out), 0);
}

/*
 * Live with --ancestors 0: each ancestor once, as a process record before the
 * first line that needs it, and a replay of the capture writes the same
 * records at the same places, byte for byte.
 */
static void test_process_records_live_and_replayed(void **state)
{
	char live[256], cap[256], again[300], helper[PATH_MAX], cmd[PATH_MAX + 64];
	char *argv[] = {
	    (char *)mptrace_bin, "-f", "json",	  "--ancestors",   "0",	     "-o",	   live,
	    "--capture",	 cap,  "--event", "migrate_pages", "--comm", "mp_lineage", NULL};
	char *replay[] = {(char *)mptrace_bin,
			  "replay",
			  "-f",
			  "json",
			  "--ancestors",
			  "0",
			  "-o",
			  again,
			  cap,
			  NULL};
	char *buf, *rbuf;
	size_t n, rn;
	struct proc p;

	(void)state;
	assert_non_null(realpath(lineage_bin, helper));
	snprintf(live, sizeof(live), "%s/records.json", tmpdir);
	snprintf(cap, sizeof(cap), "%s/records.mpcap", tmpdir);
	snprintf(again, sizeof(again), "%s.replayed", live);
	start_tracing(&p, argv);
	snprintf(cmd, sizeof(cmd), "exec '%s' call x y", helper);
	run_lineage((char *[]){"/bin/sh", "-c", cmd, NULL});
	run_lineage((char *[]){helper, "exec-again", NULL});
	kill(p.pid, SIGINT);
	assert_int_equal(proc_wait(&p, 10000), 0);
	buf = slurp(live, &n);
	/* this test's own process is the parent of both callers: its record, once */
	snprintf(cmd, sizeof(cmd), "\"eventName\":\"process\",\"hostName\":");
	assert_non_null(strstr(buf, cmd));
	snprintf(cmd, sizeof(cmd), "\"hostProcessId\":%d,\"hostParentProcessId\":", getpid());
	assert_non_null(strstr(buf, cmd));
	assert_null(strstr(strstr(buf, cmd) + 1, cmd));
	assert_int_equal(run(replay, 0, &p), 0);
	rbuf = slurp(again, &rn);
	assert_int_equal(rn, n);
	assert_memory_equal(rbuf, buf, n);
	free(buf);
	free(rbuf);
}

static void test_lineage(void **state)
{
	char live[256], cap[256], me[PATH_MAX], helper[PATH_MAX], cmd[PATH_MAX + 64], want[128];
	int in[2];
	struct proc p;
	pid_t early;

	(void)state;
	assert_non_null(realpath("/proc/self/exe", me));
	assert_non_null(realpath(lineage_bin, helper));
	snprintf(live, sizeof(live), "%s/lineage.json", tmpdir);
	snprintf(cap, sizeof(cap), "%s/lineage.mpcap", tmpdir);
	/* started before the tracer: /proc says who it is */
	assert_int_equal(pipe(in), 0);
	early = fork();
	if (early == 0) {
		dup2(in[0], 0);
		close(in[1]);
		execl(helper, helper, "wait-call", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	char *argv[] = {
	    (char *)mptrace_bin, "-f", "json",	  "--ancestors",   "all",    "-o",	   live,
	    "--capture",	 cap,  "--event", "migrate_pages", "--comm", "mp_lineage", "--comm",
	    "renamed",		 NULL};
	start_tracing(&p, argv);

	/* exec, call, exit: through sh, which execs it, so its parent is this test */
	snprintf(cmd, sizeof(cmd), "exec '%s' call x y", helper);
	run_lineage((char *[]){"/bin/sh", "-c", cmd, NULL});
	run_lineage((char *[]){helper, "fork-rename", NULL});
	run_lineage((char *[]){helper, "exec-again", NULL});
	run_lineage((char *[]){helper, "pidns", NULL});
	assert_int_equal(write(in[1], "x", 1), 1);
	waitpid(early, NULL, 0);
	close(in[1]);
	kill(p.pid, SIGINT);
	assert_int_equal(proc_wait(&p, 10000), 0);
	if (!strstr(p.err, "mptrace: 5 events, 0 dropped"))
		fail_msg("not 5 events: %s", p.err);

	check_lineages(live, helper, me, early);

	/* the capture says the same without /proc: replay prints the same bytes */
	assert_replay_is_live(cap, live, false, "all");
	/* the table's compact form */
	char *table[] = {(char *)mptrace_bin, "replay", cap, NULL};
	assert_int_equal(run(table, 0, &p), 0);
	snprintf(want, sizeof(want), " <- %s[%d] <- ", e2e_comm, getpid());
	if (!strstr(p.out, want))
		fail_msg("no '%s' in: %s", want, p.out);
	snprintf(cmd, sizeof(cmd), "%s %s %s %s 5 >&2", python, schema_check, schema, live);
	assert_int_equal(system(cmd), 0);

	check_replay_filters(cap, helper, early);
	check_ancestors_cut(cap, live);
}

/*
 * --exe in the kernel matches the file, not its name: a copy of the helper
 * (same name, same bytes, another inode) is not traced; --descendant-of
 * takes what runs below this test.
 */
static void test_exe_and_descendant_filters(void **state)
{
	char helper[PATH_MAX], copy[PATH_MAX + 32], pid_s[16];
	struct proc p;
	json_t *ev;

	(void)state;
	assert_non_null(realpath(lineage_bin, helper));
	snprintf(copy, sizeof(copy), "%s/mp_lineage", tmpdir);
	copy_exe(helper, copy);
	snprintf(pid_s, sizeof(pid_s), "%d", getpid());
	char *argv[] = {
	    (char *)mptrace_bin, "-f",	  "json", "--ancestors",     "all", "-n", "1", "--event",
	    "migrate_pages",	 "--exe", helper, "--descendant-of", pid_s, NULL};
	start_tracing(&p, argv);
	run_lineage((char *[]){copy, "call", "copy", NULL});
	run_lineage((char *[]){helper, "call", "real", NULL});
	assert_int_equal(proc_wait(&p, 10000), 0);
	ev = json_loads(p.out, JSON_DISABLE_EOF_CHECK, NULL);
	assert_non_null(ev);
	assert_string_equal(exe_of(ev), helper);
	assert_string_equal(
	    json_string_value(json_array_get(json_object_get(ev, "commandLine"), 2)), "real");
	json_decref(ev);
	/* a file that is not there: one line, exit 2, before anything is loaded */
	char *missing[] = {(char *)mptrace_bin, "--exe", "/nonexistent/tool", "-d", "0.1", NULL};
	assert_int_equal(run(missing, 0, &p), 2);
	assert_one_line_error(&p, "--exe /nonexistent/tool: ");
}

/*
 * Lineage from a hostile caller: a command line past what is kept, bytes
 * that are not UTF-8, quotes and newlines in the executable's path and in
 * the arguments, a chain of processes deeper than the ancestors kept. Valid
 * JSON, each cut flagged, live and in replay.
 */
/* Hostile bytes in a path and a command line; an ancestry deeper than is kept. */
static void check_hostile_names(const char *live, const char *helper, const char *want_exe,
				size_t big_len)
{
	json_t *ev, *cl;

	ev = line_of(live, "mp_lineage", "call", "x\xc3\xbf\"\n");
	assert_string_equal(exe_of(ev), want_exe);
	cl = json_object_get(ev, "commandLine");
	assert_string_equal(json_string_value(json_array_get(cl, 0)), want_exe);
	assert_true(json_is_true(json_object_get(ev, "commandLineTruncated")));
	/* 512 bytes kept: argv[3] is cut short, and nothing follows it */
	assert_int_equal(json_array_size(cl), 4);
	assert_true(strlen(json_string_value(json_array_get(cl, 3))) < big_len);
	assert_int_equal(strspn(json_string_value(json_array_get(cl, 3)), "A"),
			 strlen(json_string_value(json_array_get(cl, 3))));
	json_decref(ev);

	/* 20 generations below the helper, 16 ancestors kept: the nearest, parent first */
	ev = line_of(live, "mp_lineage", "deep", "20");
	assert_true(json_is_true(json_object_get(ev, "ancestorsTruncated")));
	assert_int_equal(json_array_size(json_object_get(ev, "ancestors")), 16);
	assert_int_equal(jint_of(ancestor(ev, 0), "hostProcessId"),
			 jint_of(ev, "hostParentProcessId"));
	for (size_t i = 0; i < 16; i++)
		assert_string_equal(exe_of(ancestor(ev, i)), helper);
	json_decref(ev);
}

static void test_lineage_hostile(void **state)
{
	char live[256], cap[256], helper[PATH_MAX], dir[PATH_MAX], odd[PATH_MAX + 16];
	char want_exe[PATH_MAX + 16], big[601], cmd[3 * PATH_MAX], deep[PATH_MAX];
	json_t *ev;
	struct proc p;

	(void)state;
	assert_non_null(realpath(lineage_bin, helper));
	/* an executable whose path is longer than the 512 bytes kept */
	snprintf(deep, sizeof(deep), "%s", tmpdir);
	for (int i = 0; i < 8; i++) {
		size_t n = strlen(deep);

		snprintf(deep + n, sizeof(deep) - n, "/%070d", i);
		assert_int_equal(mkdir(deep, 0755), 0);
	}
	strncat(deep, "/mp_lineage", sizeof(deep) - strlen(deep) - 1);
	copy_exe(helper, deep);
	snprintf(dir, sizeof(dir), "%s/we ird\n\"\xff", tmpdir);
	assert_int_equal(mkdir(dir, 0755), 0);
	snprintf(odd, sizeof(odd), "%s/mp_lineage", dir);
	copy_exe(helper, odd);
	/* as JSON gives it back: the byte that is not UTF-8 is U+00FF */
	snprintf(want_exe, sizeof(want_exe), "%s/we ird\n\"\xc3\xbf/mp_lineage", tmpdir);
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	trace_lineage(&p, "hostile", live, cap);
	run_lineage((char *[]){odd, "call", "x\xff\"\n", big, NULL});
	run_lineage((char *[]){helper, "deep", "20", NULL});
	/* through a short link, so that argv[0] leaves room for the arguments */
	snprintf(cmd, sizeof(cmd), "%s/short", tmpdir);
	assert_int_equal(mkdir(cmd, 0755), 0);
	strncat(cmd, "/mp_lineage", sizeof(cmd) - strlen(cmd) - 1);
	assert_int_equal(symlink(deep, cmd), 0);
	run_lineage((char *[]){cmd, "call", "long", NULL});
	kill(p.pid, SIGINT);
	assert_int_equal(proc_wait(&p, 10000), 0);
	if (!strstr(p.err, "mptrace: 3 events, 0 dropped"))
		fail_msg("not 3 events: %s", p.err);

	/* the path kept is the true path's tail, and marked as such: it looks whole */
	ev = line_of(live, "mp_lineage", "call", "long");
	{
		const char *kept = exe_of(ev);
		size_t kl = strlen(kept), dl = strlen(deep);

		assert_true(kl < dl);
		assert_string_equal(kept, deep + dl - kl);
		assert_true(json_is_true(
		    json_object_get(json_object_get(ev, "executable"), "pathTruncated")));
	}
	json_decref(ev);
	/* no other path is marked */
	ev = line_of(live, "mp_lineage", "deep", "20");
	assert_null(json_object_get(json_object_get(ev, "executable"), "pathTruncated"));
	json_decref(ev);
	snprintf(cmd, sizeof(cmd),
		 "%s replay -f ocsf %s | grep -c 'path truncated: only its last' "
		 "| grep -qx 1",
		 mptrace_bin, cap);
	assert_int_equal(system(cmd), 0);

	check_hostile_names(live, helper, want_exe, sizeof(big) - 1);

	assert_replay_is_live(cap, live, false, "all");
	snprintf(cmd, sizeof(cmd), "%s %s %s %s 3 >&2", python, schema_check, schema, live);
	assert_int_equal(system(cmd), 0);
}

/* The executable's inode in @ev: the caller's, or an ancestor's whose path is in doubt. */
static uint64_t exe_ino_of(json_t *o)
{
	return json_integer_value(json_object_get(json_object_get(o, "executable"), "inode"));
}

static json_t *creds_of(json_t *ev)
{
	json_t *c = json_object_get(ev, "credentials");

	if (!c)
		fail_msg("no credentials");
	return c;
}

static bool has_cap(json_t *ev, const char *cap)
{
	json_t *caps = json_object_get(creds_of(ev), "capabilities"), *c;
	size_t i;

	json_array_foreach(caps, i, c) if (!strcmp(json_string_value(c), cap)) return true;
	return false;
}

static bool exe_marked(json_t *o, const char *mark)
{
	return json_is_true(json_object_get(json_object_get(o, "executable"), mark));
}

/*
 * Executables a path does not tell the truth of, and a creator the kernel
 * names no parent: run from a memfd, unlinked while running, bound over
 * another path in an unprivileged user and mount namespace, and a sibling
 * made with clone(CLONE_PARENT). Each is marked, with the inode and device
 * that name the file; an ordinary caller has no mark. Live and in replay.
 */
/* Each caller's executable and credentials as the live JSON @live says them. */
static void check_identities(const char *live, const char *helper, const char *gone,
			     const char *decoy, const struct stat *hs, const struct stat *bs)
{
	json_t *ev;

	/* a setuid-root call: the real uid is the user's, the rest is root's */
	ev = line_of(live, "mp_lineage", "call", "setuid");
	assert_int_equal(jint_of(ev, "userId"), 65534);
	assert_int_equal(jint_of(creds_of(ev), "effectiveUserId"), 0);
	assert_int_equal(jint_of(creds_of(ev), "savedUserId"), 0);
	assert_true(has_cap(ev, "CAP_SYS_NICE") && has_cap(ev, "CAP_SYS_PTRACE"));
	assert_null(json_object_get(creds_of(ev), "inChildUserNamespace"));
	json_decref(ev);

	ev = line_of(live, "mp_lineage", "call", "plain");
	assert_string_equal(exe_of(ev), helper);
	assert_null(json_object_get(ev, "parentIsCreator"));
	assert_int_equal(jint_of(ev, "userId"), 0);
	assert_int_equal(jint_of(creds_of(ev), "effectiveUserId"), 0);
	assert_true(has_cap(ev, "CAP_SYS_NICE") && has_cap(ev, "CAP_SYS_ADMIN"));
	assert_int_equal(exe_ino_of(ev), hs->st_ino);
	assert_false(exe_marked(ev, "fileless") || exe_marked(ev, "deleted") ||
		     exe_marked(ev, "pathNamesOtherFile"));
	json_decref(ev);

	ev = line_of(live, "mp_lineage", "call", "fileless");
	assert_string_equal(exe_of(ev), "/memfd:mpt-fileless");
	assert_true(exe_marked(ev, "fileless"));
	assert_false(exe_marked(ev, "pathNamesOtherFile") || exe_marked(ev, "deleted"));
	assert_true(exe_ino_of(ev) > 0 && exe_ino_of(ev) != hs->st_ino);
	json_decref(ev);

	ev = line_of(live, "mp_lineage", "unlink-call", gone);
	assert_string_equal(exe_of(ev), gone);
	assert_true(exe_marked(ev, "deleted"));
	json_decref(ev);

	/* the path the namespace showed, the file that ran */
	ev = line_of(live, "mp_lineage", "call", "bound");
	assert_string_equal(exe_of(ev), decoy);
	assert_true(exe_marked(ev, "pathNamesOtherFile"));
	assert_int_equal(exe_ino_of(ev), bs->st_ino);
	/* a namespace of its own, whose unmapped uid lost its capabilities at the exec */
	assert_false(has_cap(ev, "CAP_SYS_NICE") || has_cap(ev, "CAP_SYS_ADMIN"));
	assert_true(json_is_true(json_object_get(creds_of(ev), "inChildUserNamespace")));
	json_decref(ev);

	/* the kernel's parent is this test; the creator, its child, is kept above the caller */
	ev = line_of(live, "mp_lineage", "clone-parent", NULL);
	assert_int_equal(jint_of(ev, "hostParentProcessId"), getpid());
	assert_string_equal(exe_of(ancestor(ev, 0)), helper);
	assert_true(json_is_true(json_object_get(ancestor(ev, 0), "createdWithCloneParent")));
	assert_true(json_is_true(json_object_get(ev, "parentIsCreator")));
	assert_int_equal(jint_of(ancestor(ev, 1), "hostProcessId"), getpid());
	assert_null(json_object_get(ancestor(ev, 1), "createdWithCloneParent"));
	json_decref(ev);
}

static void test_exe_identity(void **state)
{
	char live[256], cap[256], helper[PATH_MAX], gone[PATH_MAX + 16], bound[PATH_MAX + 16];
	char decoy[PATH_MAX + 16], cmd[PATH_MAX], setuid_copy[PATH_MAX + 16];
	struct stat hs, bs;
	struct proc p;

	(void)state;
	assert_non_null(realpath(lineage_bin, helper));
	assert_int_equal(stat(helper, &hs), 0);
	snprintf(gone, sizeof(gone), "%s/mp_lineage.gone", tmpdir);
	copy_exe(helper, gone);
	snprintf(bound, sizeof(bound), "%s/mp_lineage.bound", tmpdir);
	copy_exe(helper, bound);
	assert_int_equal(stat(bound, &bs), 0);
	snprintf(decoy, sizeof(decoy), "%s/decoy", tmpdir);
	copy_exe("/bin/true", decoy);
	/* setuid root, where a user (nobody) can reach it */
	snprintf(setuid_copy, sizeof(setuid_copy), "%s/mp_lineage.suid", tmpdir);
	copy_exe(helper, setuid_copy);
	assert_int_equal(chmod(setuid_copy, 04755), 0);
	assert_int_equal(chmod(tmpdir, 0711), 0);
	trace_lineage(&p, "identity", live, cap);
	run_lineage((char *[]){helper, "call", "plain", NULL});
	run_lineage((char *[]){helper, "memfd", NULL});
	run_lineage((char *[]){gone, "unlink-call", gone, NULL});
	run_lineage((char *[]){bound, "bind", decoy, NULL});
	run_lineage((char *[]){helper, "clone-parent", NULL});
	run_lineage((char *[]){helper, "as-user", "65534", setuid_copy, "setuid", NULL});
	kill(p.pid, SIGINT);
	assert_int_equal(proc_wait(&p, 10000), 0);
	if (!strstr(p.err, "mptrace: 6 events, 0 dropped"))
		fail_msg("not 6 events: %s", p.err);

	check_identities(live, helper, gone, decoy, &hs, &bs);
	assert_replay_is_live(cap, live, false, "all");
	snprintf(cmd, sizeof(cmd),
		 "%s replay -f ocsf %s | grep -c "
		 "'\"path\":\"/memfd:mpt-fileless\",\"desc\":\"fileless: run "
		 "from memory' | grep -qx 1",
		 mptrace_bin, cap);
	assert_int_equal(system(cmd), 0);
	/* OCSF has no attribute for them: under unmapped, as in JSON */
	snprintf(cmd, sizeof(cmd),
		 "%s replay -f ocsf %s | grep -c '\"groupId\":65534,\"credentials\":{"
		 "\"effectiveUserId\":0,\"savedUserId\":0,' | grep -qx 1",
		 mptrace_bin, cap);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s %s %s %s 6 >&2", python, schema_check, schema, live);
	assert_int_equal(system(cmd), 0);
}

/*
 * Calls from cgroups removed right after them, as short-lived containers do:
 * each is named by the path it had at the call (the BPF side recorded it),
 * a container's id among them, and the reader never walks the hierarchy.
 */
static void test_vanishing_cgroups(void **state)
{
	const char *root = mpt_cgroup2_root();
	static const char cid[] =
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	char live[256], base[PATH_MAX], dir[PATH_MAX + 128], want[PATH_MAX + 128], pid[16];
	struct proc p;
	json_t *ev;
	int n = 0;

	(void)state;
	if (!root)
		skip();
	snprintf(base, sizeof(base), "%s/mpt-vanish-%d", root, (int)getpid());
	assert_int_equal(mkdir(base, 0755), 0);
	snprintf(live, sizeof(live), "%s/vanish.json", tmpdir);
	snprintf(pid, sizeof(pid), "%d", getpid());
	char *argv[] = {(char *)mptrace_bin, "-f", "json",    "--ancestors", "all", "-o", live,
			"--descendant-of",   pid,  "--event", "move_pages",  NULL};
	start_tracing(&p, argv);
	for (int i = 0; i < 20; i++) {
		pid_t c;
		int st;

		if (i == 19)
			snprintf(dir, sizeof(dir), "%s/docker-%s.scope", base, cid);
		else
			snprintf(dir, sizeof(dir), "%s/c%d", base, i);
		assert_int_equal(mkdir(dir, 0755), 0);
		c = fork();
		assert_true(c >= 0);
		if (c == 0) {
			char procs[PATH_MAX + 160], me[16];
			void *pages[1] = {(void *)((uintptr_t)(i + 1) << 12)};
			int status, fd;

			snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir);
			snprintf(me, sizeof(me), "%d", getpid());
			fd = open(procs, O_WRONLY);
			if (fd < 0 || write(fd, me, strlen(me)) < 0)
				_exit(1);
			close(fd);
			syscall(SYS_move_pages, 0, 1, pages, NULL, &status, 0);
			_exit(0);
		}
		assert_int_equal(waitpid(c, &st, 0), c);
		assert_int_equal(st, 0);
		assert_int_equal(rmdir(dir), 0);
	}
	assert_int_equal(rmdir(base), 0);
	kill(p.pid, SIGINT);
	assert_int_equal(proc_wait(&p, 10000), 0);

	FILE *f = fopen(live, "r");
	char line[65536];

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		const char *page;
		unsigned long long addr;
		int i;

		ev = json_loads(line, 0, NULL);
		assert_non_null(ev);
		page = json_string_value(json_array_get(json_object_get(ev_arg(ev, 2), "data"), 0));
		assert_non_null(page);
		assert_int_equal(sscanf(page, "%llx", &addr), 1);
		i = (int)(addr >> 12) - 1;
		if (i == 19)
			snprintf(want, sizeof(want), "%s/docker-%s.scope", base + strlen(root),
				 cid);
		else
			snprintf(want, sizeof(want), "%s/c%d", base + strlen(root), i);
		assert_string_equal(json_string_value(json_object_get(ev, "cgroupPath")), want);
		assert_string_equal(json_string_value(json_object_get(ev, "containerId")),
				    i == 19 ? cid : "");
		json_decref(ev);
		n++;
	}
	fclose(f);
	assert_int_equal(n, 20);
}

/*
 * Fork a child that gets host pid @want and execs @exe "call" @tag. The kernel
 * hands out ns_last_pid + 1, and another process may fork in between: tried
 * again until the pid is ours. Returns the pid, or -1.
 */
static pid_t fork_with_pid(pid_t want, const char *exe, const char *tag)
{
	char s[16];
	int st, fd, len = snprintf(s, sizeof(s), "%d", want - 1);

	for (int i = 0; i < 200; i++) {
		pid_t c;

		fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			return -1;
		if (write(fd, s, len) != len) {
			close(fd);
			return -1;
		}
		close(fd);
		c = fork();
		if (c < 0)
			return -1;
		if (c == 0) {
			if (getpid() != want)
				_exit(3);
			execl(exe, "mp_lineage", "call", tag, (char *)NULL);
			_exit(127);
		}
		if (waitpid(c, &st, 0) != c)
			return -1;
		if (c == want)
			return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? c : -1;
	}
	return -1;
}

/*
 * A pid reused while the records of its first owner still wait in the ring
 * (the reader stopped): each call is named after the process that made it,
 * not the one that holds the pid when the record is read (by then neither
 * exists). Live and in replay.
 */
static void test_pid_reuse(void **state)
{
	char live[256], cap[256], helper[PATH_MAX], copy[PATH_MAX + 32];
	json_t *first, *second;
	struct proc p;
	pid_t a, b;
	int st;

	(void)state;
	if (access("/proc/sys/kernel/ns_last_pid", W_OK))
		skip(); /* no CONFIG_CHECKPOINT_RESTORE: no way to pick a pid */
	assert_non_null(realpath(lineage_bin, helper));
	snprintf(copy, sizeof(copy), "%s/mp_lineage", tmpdir);
	copy_exe(helper, copy);
	snprintf(live, sizeof(live), "%s/reuse.json", tmpdir);
	snprintf(cap, sizeof(cap), "%s/reuse.mpcap", tmpdir);
	char *argv[] = {
	    (char *)mptrace_bin, "-f", "json",	  "--ancestors",   "all",    "-o",	   live,
	    "--capture",	 cap,  "--event", "migrate_pages", "--comm", "mp_lineage", NULL};
	start_tracing(&p, argv);
	assert_int_equal(kill(p.pid, SIGSTOP), 0);
	a = fork();
	if (a == 0) {
		execl(helper, "mp_lineage", "call", "first", (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(a, &st, 0), a);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	b = fork_with_pid(a, copy, "reused");
	assert_int_equal(kill(p.pid, SIGCONT), 0);
	if (b != a)
		fail_msg("pid %d was not given out again", a);
	kill(p.pid, SIGINT);
	assert_int_equal(proc_wait(&p, 10000), 0);
	if (!strstr(p.err, "mptrace: 2 events, 0 dropped"))
		fail_msg("not 2 events: %s", p.err);

	first = line_of(live, "mp_lineage", "call", "first");
	second = line_of(live, "mp_lineage", "call", "reused");
	assert_int_equal(jint_of(first, "hostProcessId"), a);
	assert_int_equal(jint_of(second, "hostProcessId"), a);
	assert_true(jint_of(second, "processStartTime") > jint_of(first, "processStartTime"));
	assert_string_equal(exe_of(first), helper);
	assert_string_equal(exe_of(second), copy);
	assert_int_equal(jint_of(ancestor(first, 0), "hostProcessId"), getpid());
	assert_int_equal(jint_of(ancestor(second, 0), "hostProcessId"), getpid());
	json_decref(first);
	json_decref(second);

	assert_replay_is_live(cap, live, false, "all");
	/* the replayed lineage filter follows each process, not the pid */
	char *by_copy[] = {(char *)mptrace_bin,
			   "replay",
			   "-f",
			   "json",
			   "--ancestors",
			   "all",
			   "--exe",
			   copy,
			   cap,
			   NULL};
	assert_int_equal(run(by_copy, 0, &p), 0);
	assert_int_equal(count_lines(p.out), 1);
	if (!strstr(p.out, "\"reused\""))
		fail_msg("--exe %s in replay: %s", copy, p.out);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lineage),
	    cmocka_unit_test(test_process_records_live_and_replayed),
	    cmocka_unit_test(test_exe_and_descendant_filters),
	    cmocka_unit_test(test_pid_reuse),
	    cmocka_unit_test(test_lineage_hostile),
	    cmocka_unit_test(test_exe_identity),
	    cmocka_unit_test(test_vanishing_cgroups),
	};

	return e2e_main(argc, argv, "e2e_lineage", tests, sizeof(tests) / sizeof(tests[0]));
}
