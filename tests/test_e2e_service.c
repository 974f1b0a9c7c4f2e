// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * mptrace as a service runs it, through the real binary: systemd, log rotation and
 * SIGHUP, a full disk, several outputs, bad command lines and files, no privileges.
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

/* Under systemd: READY once attached, watchdog keep-alives, STOPPING; capabilities dropped. */
static void test_service_manager(void **state)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	char msg[512], file[64], line[300], all[4096] = "", conf[300];
	int fd, ready = 0, watchdog = 0, stopping = 0;
	unsigned long long eff = ~0ull;
	struct proc p;
	FILE *f;

	(void)state;
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/notify.sock", tmpdir);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	/* the unit's ExecStart, with the shipped config's paths moved into our directory */
	{
		char src[512], cmd[2048];

		snprintf(src, sizeof(src), "%s", schema);
		*strrchr(src, '/') = '\0';
		*strrchr(src, '/') = '\0';
		snprintf(conf, sizeof(conf), "%s/mptrace.conf", tmpdir);
		snprintf(cmd, sizeof(cmd),
			 "sed 's|/var/log/mptrace|%s|; s|/var/lib/mptrace|%s|; "
			 "s|127.0.0.1:9867|127.0.0.1:0|' "
			 "'%s/packaging/mptrace.conf' "
			 "> '%s'",
			 tmpdir, tmpdir, src, conf);
		assert_int_equal(system(cmd), 0);
	}
	setenv("NOTIFY_SOCKET", addr.sun_path, 1);
	setenv("WATCHDOG_USEC", "200000", 1);
	char *argv[] = {(char *)mptrace_bin, "--config", conf, NULL};
	start_tracing(&p, argv);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");

	/* once attached it keeps CAP_BPF and CAP_SYS_PTRACE only, and cannot regain any */
	snprintf(file, sizeof(file), "/proc/%d/status", p.pid);
	f = fopen(file, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "CapEff: %llx", &eff);
		if (!strncmp(line, "NoNewPrivs:", 11))
			assert_non_null(strstr(line, "1"));
	}
	fclose(f);
	assert_int_equal(eff, (1ull << 39) | (1ull << 19));

	usleep(500 * 1000);
	/* systemctl stop: SIGTERM drains and exits 0 */
	kill(p.pid, SIGTERM);
	assert_int_equal(proc_wait(&p, 10000), 0);
	snprintf(line, sizeof(line), "%s/events.json", tmpdir);
	assert_true(json_lines(line) >= 1); /* at least the final stats record */
	for (;;) {
		ssize_t n = recv(fd, msg, sizeof(msg) - 1, MSG_DONTWAIT);

		if (n <= 0)
			break;
		msg[n] = '\0';
		ready += !!strstr(msg, "READY=1");
		watchdog += !!strstr(msg, "WATCHDOG=1");
		stopping += !!strstr(msg, "STOPPING=1");
		strncat(all, msg, sizeof(all) - strlen(all) - 2);
		strcat(all, "|");
	}
	close(fd);
	if (ready != 1 || watchdog < 2 || stopping != 1)
		fail_msg("notifications: %s", all);
	/* "STATUS=tracing EVENTS via MODE", whatever the events */
	assert_non_null(strstr(all, "STATUS=tracing "));
	assert_non_null(strstr(strstr(all, "STATUS=tracing "), " via "));
}

/* Until @path exists (and, with @lines, holds that many lines), or 10 s pass. */
static void wait_file(const char *path, int lines)
{
	struct stat st;

	for (int i = 0; i < 1000; i++) {
		if (!stat(path, &st) && newlines(path) >= lines)
			return;
		usleep(10 * 1000);
	}
	fail_msg("%s: not there with %d lines after 10 s", path, lines);
}

/* Until FILE and its rotated FILE.1..FILE.(@files - 1) hold @lines lines in all. */
static void wait_rotated_lines(const char *log, int files, int lines)
{
	char path[300];
	int n = 0;

	for (int tries = 0; tries < 1000; tries++, usleep(10 * 1000)) {
		n = newlines(log);
		for (int i = 1; i < files; i++) {
			snprintf(path, sizeof(path), "%s.%d", log, i);
			n += newlines(path);
		}
		if (n >= lines)
			return;
	}
	fail_msg("%s: %d of %d lines written after 10 s", log, n, lines);
}

/*
 * Calls that make about @mb MB of JSON: a line's size depends on the
 * caller (its executable, its command line), so it is measured on a first
 * call (made, and left in @log).
 */
static int calls_for_mb(const char *log, int mb, void **pages, int *status)
{
	struct tu_call c;
	size_t len;
	char *buf, *last;
	int n;

	own_call(&c, pages, status, 1, NULL, 0);
	wait_file(log, 1);
	/* its line, not the process records of its ancestors before it (written once) */
	buf = slurp(log, &len);
	assert_true(len > 0 && buf[len - 1] == '\n');
	buf[len - 1] = '\0';
	last = strrchr(buf, '\n');
	n = (int)(((int64_t)mb << 20) / (int64_t)strlen(last ? last + 1 : buf)) + 1;
	free(buf);
	return n;
}

/*
 * --log-size rotates into numbered whole-line files, the oldest dropped past
 * --log-files; SIGHUP after a move (logrotate) starts a fresh log, and no event
 * is lost across either switch.
 */
static void test_log_rotation_and_hup(void **state)
{
	char log[256], path[300], pid[16];
	char *mem = tu_touched_pages(1);
	void *pages[1] = {mem};
	int status[1], total = 0, calls = 1, files = 0, n;
	struct tu_call c;
	struct stat st;
	struct proc p;

	(void)state;
	snprintf(log, sizeof(log), "%s/rotated.json", tmpdir);
	snprintf(pid, sizeof(pid), "%d", getpid());
	char *argv[] = {(char *)mptrace_bin, "-f", "json",	  "-o", log, "--pid", pid,
			"--log-size",	     "1",  "--log-files", "8",	NULL};
	start_tracing(&p, argv);
	/*
	 * 2.5 MB of JSON, whatever a line's size: rotated twice, far from 8 files,
	 * and the file logrotate moves is half full, so the calls below do not
	 * rotate it again
	 */
	n = calls_for_mb(log, 5, pages, status) / 2;
	for (int i = 1; i < n; i++, calls++)
		own_call(&c, pages, status, 1, NULL, 0);
	/* the tracer has written them all: its own rotation is done before logrotate's */
	wait_rotated_lines(log, 8, calls);
	/* logrotate: move the file away, then HUP; mptrace writes to a new one */
	snprintf(path, sizeof(path), "%s/rotated.json.moved", tmpdir);
	assert_int_equal(rename(log, path), 0);
	/* calls made between the move and the HUP land in the moved file */
	for (int i = 0; i < 10; i++, calls++)
		own_call(&c, pages, status, 1, NULL, 0);
	kill(p.pid, SIGHUP);
	wait_file(log, 0); /* reopened: what comes now goes to the new file */
	for (int i = 0; i < 5; i++, calls++)
		own_call(&c, pages, status, 1, NULL, 0);
	kill(p.pid, SIGINT);
	assert_int_equal(proc_wait(&p, 10000), 0);
	assert_int_equal(json_lines(log), 5);
	total = 5 + json_lines(path);
	for (int i = 1; i <= 7; i++) {
		snprintf(path, sizeof(path), "%s.%d", log, i);
		if (stat(path, &st))
			continue;
		files++;
		assert_true(st.st_size >= 1 << 20);
		total += json_lines(path);
	}
	assert_true(files >= 2);
	assert_true(files < 7); /* nothing rotated away: the count below holds */
	assert_int_equal(total, calls);

	/* a small ring: the oldest files go */
	for (int i = 0; i <= 7; i++) {
		snprintf(path, sizeof(path), "%s.%d", log, i);
		unlink(i ? path : log);
	}
	char *ring[] = {(char *)mptrace_bin, "-f", "json",	  "-o", log, "--pid", pid,
			"--log-size",	     "1",  "--log-files", "2",	NULL};
	start_tracing(&p, ring);
	n = calls_for_mb(log, 3, pages, status);
	for (int i = 1; i < n; i++)
		own_call(&c, pages, status, 1, NULL, 0);
	kill(p.pid, SIGINT);
	assert_int_equal(proc_wait(&p, 10000), 0);
	snprintf(path, sizeof(path), "%s.1", log);
	assert_int_equal(stat(path, &st), 0);
	json_lines(path);
	snprintf(path, sizeof(path), "%s.2", log);
	assert_int_not_equal(stat(path, &st), 0);
	munmap(mem, 4096);
}

/* Several sinks at once: a JSON log, standard output and a capture hold the same events. */
static void test_several_outputs(void **state)
{
	char log1[256], log2[256], cap[256], pid[16];
	char *mem = tu_touched_pages(1);
	void *pages[1] = {mem};
	int status[1];
	size_t l1, l2;
	char *b1, *b2;
	struct tu_call c;
	struct proc p;

	(void)state;
	snprintf(log1, sizeof(log1), "%s/sink1.json", tmpdir);
	snprintf(log2, sizeof(log2), "%s/sink2.json", tmpdir);
	snprintf(cap, sizeof(cap), "%s/sinks.mpcap", tmpdir);
	snprintf(pid, sizeof(pid), "%d", getpid());
	char *argv[] = {(char *)mptrace_bin, "-f", "json",  "-o", log1, "-o", "-", "-o", log2,
			"--capture",	     cap,  "--pid", pid,  NULL};
	start_tracing(&p, argv);
	for (int i = 0; i < 3; i++)
		own_call(&c, pages, status, 1, NULL, 0);
	kill(p.pid, SIGINT);
	assert_int_equal(proc_wait(&p, 10000), 0);
	b1 = slurp(log1, &l1);
	b2 = slurp(log2, &l2);
	assert_int_equal(json_lines(log1), 3);
	assert_int_equal(l1, l2);
	assert_memory_equal(b1, b2, l1);
	assert_int_equal(p.out_len, l1);
	assert_memory_equal(p.out, b1, l1);
	char *replay[] = {(char *)mptrace_bin, "replay", "-f", "json", cap, NULL};
	assert_int_equal(run(replay, 0, &p), 0);
	assert_int_equal(p.out_len, l1);
	assert_memory_equal(p.out, b1, l1);
	char *five[] = {
	    (char *)mptrace_bin, "-o", "a", "-o", "b", "-o", "c", "-o", "d", "-o", "e", NULL};
	assert_int_equal(run(five, 0, &p), 2);
	assert_one_line_error(&p, "at most 4 outputs");
	free(b1);
	free(b2);
	munmap(mem, 4096);
}

/* A full disk: the tracer keeps running, counts what it could not write, marks the gap. */
static void test_disk_full(void **state)
{
	char dir[256], log[300], filler[300], pid[16], buf[4096] = {0};
	char *mem = tu_touched_pages(1);
	void *pages[1] = {mem};
	int status[1], fd, calls = 0;
	size_t len;
	char *text, *at;
	json_t *drop;
	struct tu_call c;
	struct proc p;
	long long lost = 0, events = 0;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/small", tmpdir);
	assert_int_equal(mkdir(dir, 0755), 0);
	if (mount("mptrace-test", dir, "tmpfs", 0, "size=1m")) {
		printf("# cannot mount a small tmpfs: %s\n", strerror(errno));
		skip();
	}
	snprintf(log, sizeof(log), "%s/events.json", dir);
	snprintf(filler, sizeof(filler), "%s/filler", dir);
	snprintf(pid, sizeof(pid), "%d", getpid());
	char *argv[] = {(char *)mptrace_bin, "-f", "json", "-o", log, "--pid", pid, NULL};
	start_tracing(&p, argv);
	for (int i = 0; i < 100; i++, calls++)
		own_call(&c, pages, status, 1, NULL, 0);
	usleep(200 * 1000);
	/* fill the disk */
	fd = open(filler, O_WRONLY | O_CREAT, 0600);
	while (write(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
	for (int i = 0; i < 300; i++, calls++)
		own_call(&c, pages, status, 1, NULL, 0);
	/* room again only once the tracer found none, however long a busy host makes it take */
	proc_read(&p, 60000, "No space left on device");
	assert_int_equal(kill(p.pid, 0), 0); /* still running */
	unlink(filler);
	for (int i = 0; i < 50; i++, calls++)
		own_call(&c, pages, status, 1, NULL, 0);
	proc_read(&p, 60000, "works again");
	kill(p.pid, SIGINT);
	assert_int_equal(proc_wait(&p, 10000), 1);
	assert_non_null(strstr(p.err, "failed: No space left on device"));
	assert_non_null(strstr(p.err, "works again"));

	/* whole lines only; the events written plus the drop record's count are every call */
	json_lines(log);
	text = slurp(log, &len);
	for (at = text; (at = strstr(at, "\"eventName\":\"move_pages\"")); at++)
		events++;
	drop = last_line_with(text, "\"cause\":\"output\"");
	if (!drop)
		fail_msg("no drop record; %lld events; stderr: %s", events, p.err);
	lost = json_integer_value(json_object_get(drop, "count"));
	assert_true(lost > 0);
	assert_int_equal(events + lost, calls);
	json_decref(drop);
	free(text);
	umount(dir);
	munmap(mem, 4096);
}

static void test_bad_command_lines(void **state)
{
	static const struct {
		const char *arg, *value, *reason;
	} bad[] = {
	    {"--attach", "bogus", "unknown attach mode 'bogus'"},
	    {"--format", "xml", "unknown format 'xml'"},
	    {"-n", "0", "invalid event count"},
	    {"--array-cap", "5000", "invalid array cap"},
	    {"--duration", "soon", "invalid duration"},
	    {"--frobnicate", NULL, "unrecognized option '--frobnicate'"},
	    {"probe", "now", "unexpected argument 'now'"},
	    /* each fine alone, together more kernel memory than allowed */
	    {"--max-inflight", "1048576", "--max-inflight 1048576 x --array-cap 64 needs"},
	};
	static const char *const commands[] = {"probe", "replay", "verify", "capture-info", "ship"};
	char want[64];
	struct proc p;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *argv[] = {(char *)mptrace_bin, (char *)bad[i].arg, (char *)bad[i].value,
				NULL};
		assert_int_equal(run(argv, 0, &p), 2);
		assert_one_line_error(&p, bad[i].reason);
	}
	/* every command's --help is its own usage, on stdout, exit 0, whatever it lacks */
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		char *argv[] = {(char *)mptrace_bin, (char *)commands[i], "--help", NULL};

		assert_int_equal(run(argv, 0, &p), 0);
		snprintf(want, sizeof(want), "Usage: mptrace %s", commands[i]);
		if (strncmp(p.out, want, strlen(want)) || p.err_len)
			fail_msg("%s --help: stdout '%.80s', stderr '%s'", commands[i], p.out,
				 p.err);
	}
}

static void test_unwritable_output(void **state)
{
	struct proc p;

	(void)state;
	char *argv[] = {(char *)mptrace_bin, "-o", "/nonexistent/dir/events.json", NULL};
	assert_int_equal(run(argv, 0, &p), 1);
	assert_one_line_error(&p, "cannot open output '/nonexistent/dir/events.json'");
}

static void test_without_privileges(void **state)
{
	char dir[] = "/tmp/mptrace-unpriv-XXXXXX", bin[64];
	struct proc p;

	(void)state;
	/*
	 * A copy that user 65534 can reach: the build tree may sit in a private
	 * (0700) directory, as a clone in root's home does.
	 */
	assert_non_null(mkdtemp(dir));
	assert_int_equal(chmod(dir, 0755), 0);
	snprintf(bin, sizeof(bin), "%s/mptrace", dir);
	copy_exe(mptrace_bin, bin);

	char *trace[] = {bin, NULL};
	assert_int_equal(run(trace, 65534, &p), 1);
	assert_one_line_error(&p, "permission denied");
	char *probe[] = {bin, "probe", NULL};
	assert_int_equal(run(probe, 65534, &p), 1);
	assert_one_line_error(&p, "permission denied");
	unlink(bin);
	rmdir(dir);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_service_manager),    cmocka_unit_test(test_log_rotation_and_hup),
	    cmocka_unit_test(test_disk_full),	       cmocka_unit_test(test_several_outputs),
	    cmocka_unit_test(test_bad_command_lines),  cmocka_unit_test(test_unwritable_output),
	    cmocka_unit_test(test_without_privileges),
	};

	return e2e_main(argc, argv, "e2e_service", tests, sizeof(tests) / sizeof(tests[0]));
}
