// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/cli.h"

static struct mpt_cli cli;
static char err[256];

#define PARSE(...)                                                                                 \
	({                                                                                         \
		char *argv[] = {"mptrace", __VA_ARGS__, NULL};                                     \
		mpt_cli_parse(sizeof(argv) / sizeof(argv[0]) - 1, argv, &cli, err, sizeof(err));   \
	})

static void rejects(int rc, const char *reason_part)
{
	assert_int_equal(rc, -22);
	if (!strstr(err, reason_part))
		fail_msg("error '%s' does not mention '%s'", err, reason_part);
	assert_null(strchr(err, '\n')); /* one line */
}

static void test_defaults(void **state)
{
	char *argv[] = {"mptrace", NULL};

	(void)state;
	assert_int_equal(mpt_cli_parse(1, argv, &cli, err, sizeof(err)), 0);
	assert_int_equal(cli.command, MPT_CMD_TRACE);
	assert_int_equal(cli.format, MPT_FMT_TABLE);
	assert_int_equal(cli.tracer.attach, MPT_ATTACH_AUTO);
	assert_int_equal(cli.tracer.array_cap, MPT_ARRAY_CAP_DEFAULT);
	assert_int_equal(cli.tracer.ringbuf_bytes, 8u << 20);
	assert_int_equal(cli.tracer.filter.n[MPT_FILTER_PID], 0);
	assert_null(cli.output);
	assert_int_equal(cli.max_events, 0);
	assert_int_equal(cli.duration_ms, 0);
	assert_int_equal(cli.verbosity, 0);
	assert_int_equal(cli.ancestors, -1);
}

static void test_ancestors(void **state)
{
	(void)state;
	assert_int_equal(PARSE("--ancestors", "0"), 0);
	assert_int_equal(cli.ancestors, 0);
	assert_int_equal(PARSE("replay", "--ancestors", "16", "c.mpcap"), 0);
	assert_int_equal(cli.ancestors, 16);
	assert_int_equal(PARSE("--ancestors", "3", "--ancestors", "all"), 0);
	assert_int_equal(cli.ancestors, -1);
	rejects(PARSE("--ancestors", "17"), "invalid --ancestors '17'");
	rejects(PARSE("--ancestors", "-1"), "invalid --ancestors");
	rejects(PARSE("--ancestors", "some"), "invalid --ancestors");
	rejects(PARSE("ship", "--ancestors", "1", "c.mpcap"), "--ancestors goes with tracing");
	rejects(PARSE("report", "--ancestors", "1", "c.mpcap"), "--ancestors goes with tracing");
	/* not given: JSON and OCSF write process records instead, the table the chain inline */
	assert_int_equal(PARSE("-f", "json"), 0);
	assert_int_equal(cli.ancestors, 0);
	assert_int_equal(PARSE("replay", "-f", "json", "c.mpcap"), 0);
	assert_int_equal(cli.ancestors, 0);
	assert_int_equal(PARSE("-f", "ocsf"), 0);
	assert_int_equal(cli.ancestors, 0);
	assert_int_equal(PARSE("replay", "-f", "ocsf", "c.mpcap"), 0);
	assert_int_equal(cli.ancestors, 0);
	assert_int_equal(PARSE("replay", "c.mpcap"), 0);
	assert_int_equal(cli.ancestors, -1);
	assert_int_equal(PARSE("ship", "--nats", "nats://127.0.0.1:4222", "c.mpcap"), 0);
}

static void test_all_options(void **state)
{
	(void)state;
	assert_int_equal(PARSE("--attach", "tracepoint", "--format", "json", "-o", "out.json", "-n",
			       "10", "-d", "1.5", "-p", "812", "--array-cap", "1024",
			       "--ringbuf-mb", "16", "--max-inflight", "64", "-vv"),
			 0);
	assert_int_equal(cli.tracer.attach, MPT_ATTACH_TRACEPOINT);
	assert_int_equal(cli.format, MPT_FMT_JSON);
	assert_string_equal(cli.output, "out.json");
	assert_int_equal(cli.max_events, 10);
	assert_int_equal(cli.duration_ms, 1500);
	assert_int_equal(cli.tracer.filter.n[MPT_FILTER_PID], 1);
	assert_int_equal(cli.tracer.filter.val[MPT_FILTER_PID][0], 812);
	assert_int_equal(cli.tracer.array_cap, 1024);
	assert_int_equal(cli.tracer.ringbuf_bytes, 16u << 20);
	assert_int_equal(cli.tracer.max_inflight, 64);
	assert_int_equal(cli.verbosity, 2);
}

static void test_attach_modes(void **state)
{
	(void)state;
	assert_int_equal(PARSE("-a", "kprobe"), 0);
	assert_int_equal(cli.tracer.attach, MPT_ATTACH_KPROBE);
	assert_int_equal(PARSE("-a", "fentry"), 0);
	assert_int_equal(cli.tracer.attach, MPT_ATTACH_FENTRY);
	assert_int_equal(PARSE("-a", "auto"), 0);
	assert_int_equal(cli.tracer.attach, MPT_ATTACH_AUTO);
	rejects(PARSE("-a", "uprobe"), "unknown attach mode 'uprobe'");
	rejects(PARSE("-a", ""), "unknown attach mode");
}

static void test_probe_command(void **state)
{
	(void)state;
	assert_int_equal(PARSE("probe"), 0);
	assert_int_equal(cli.command, MPT_CMD_PROBE);
	rejects(PARSE("probe", "extra"), "unexpected argument 'extra'");
	rejects(PARSE("trace"), "unexpected argument 'trace'");
}

static void test_fleet_options(void **state)
{
	(void)state;
	assert_int_equal(PARSE("ship", "--nats", "nats://a:1,nats://b:2", "--stream", "S",
			       "--state", "st.json", "--replicas", "3", "--follow", "c.mpcap.0"),
			 0);
	assert_int_equal(cli.command, MPT_CMD_SHIP);
	assert_string_equal(cli.nats.urls, "nats://a:1,nats://b:2");
	assert_string_equal(cli.nats.stream, "S");
	assert_int_equal(cli.nats.replicas, 3);
	assert_true(cli.follow);
	assert_int_equal(cli.n_files, 1);
	assert_int_equal(PARSE("replay", "--nats", "nats://a:1", "--since", "1700000000", "--until",
			       "2023-11-14T22:13:21Z"),
			 0);
	assert_int_equal(cli.window.since_ns, 1700000000ll * 1000000000);
	assert_int_equal(cli.window.until_ns, 1700000001ll * 1000000000);
	/* to the nanosecond: through a double, .005 of this second came out 192 ns late */
	assert_int_equal(PARSE("replay", "--nats", "nats://a:1", "--since", "1796163492.005",
			       "--until", "1796163492.000000001"),
			 0);
	assert_int_equal(cli.window.since_ns, 1796163492005000000ll);
	assert_int_equal(cli.window.until_ns, 1796163492000000001ll);
	rejects(PARSE("replay", "--nats", "nats://a:1", "--since", "0"), "invalid time '0'");
	rejects(PARSE("ship"), "which capture file? (mptrace ship FILE...)");
	rejects(PARSE("replay", "--nats", "nats://a:1", "x.mpcap"), "reads the stream, not files");
	rejects(PARSE("replay", "--nats", "nats://a:1", "--since", "yesterday"),
		"invalid time 'yesterday'");
	/* RFC 3339: fractions to the nanosecond, offsets east and west, 't' and ' ' */
	assert_int_equal(PARSE("replay", "--since", "2023-11-15T00:13:20.5+02:00", "--until",
			       "2023-11-14t17:13:21.000000001-05:00", "x.mpcap"),
			 0);
	assert_int_equal(cli.window.since_ns, 1700000000500000000ll);
	assert_int_equal(cli.window.until_ns, 1700000001000000001ll);
	assert_int_equal(PARSE("replay", "--since", "2023-11-14 22:13:20z", "x.mpcap"), 0);
	assert_int_equal(cli.window.since_ns, 1700000000ll * 1000000000);
	rejects(PARSE("replay", "--since", "2023-11-14T22:13:20", "x.mpcap"), "RFC 3339");
	rejects(PARSE("replay", "--since", "2023-11-14T22:13:20+2:00", "x.mpcap"), "RFC 3339");
	rejects(PARSE("replay", "--since", "2023-11-14T22:13:20.Z", "x.mpcap"), "RFC 3339");
	rejects(PARSE("replay", "--since", "2023-11-14T22:13:20+24:00", "x.mpcap"), "RFC 3339");
	/* files too, and the report */
	assert_int_equal(PARSE("replay", "--since", "1700000000", "x.mpcap"), 0);
	assert_int_equal(cli.window.since_ns, 1700000000ll * 1000000000);
	assert_int_equal(PARSE("report", "--until", "1700000000", "-f", "json", "x.mpcap"), 0);
	assert_int_equal(cli.command, MPT_CMD_REPORT);
	assert_int_equal(cli.format, MPT_FMT_JSON);
	assert_true(cli.detect.enabled);
	assert_int_equal(PARSE("report", "-f", "html", "-o", "r.html", "x.mpcap"), 0);
	assert_true(cli.format_html);
	rejects(PARSE("report", "-f", "ocsf", "x.mpcap"), "report writes html or json");
	rejects(PARSE("report", "-f", "table", "x.mpcap"), "report writes html or json");
	rejects(PARSE("report", "--follow", "x.mpcap"), "no -n, no --follow");
	rejects(PARSE("report"), "which capture file? (mptrace report FILE...)");
	rejects(PARSE("replay", "-f", "html", "x.mpcap"), "-f html goes with report");
	rejects(PARSE("--since", "1", "-d", "1"), "--since and --until go with replay and report");
	rejects(PARSE("--nats", "nats://a:1"), "--nats goes with ship, replay or report");
	rejects(PARSE("ship", "--detect", "x.mpcap"), "ship publishes JSON events");
	rejects(PARSE("ship", "--replicas", "9", "x.mpcap"), "invalid replica count");
	rejects(PARSE("--state", "s", "-d", "1"), "--state, --replicas and --batch go with ship");
	rejects(PARSE("replay", "--batch", "8", "c.mpcap"), "--batch go with ship");
	rejects(PARSE("ship", "--batch", "0", "c.mpcap"), "invalid batch size");
	rejects(PARSE("ship", "--batch", "4097", "c.mpcap"), "invalid batch size");
	assert_int_equal(PARSE("ship", "--batch", "256", "c.mpcap"), 0);
	assert_int_equal(cli.nats.batch, 256);
	rejects(PARSE("--capture-group-read"), "--capture-group-read needs --capture");
}

static void test_bad_numbers(void **state)
{
	(void)state;
	rejects(PARSE("-n", "0"), "invalid event count '0'");
	rejects(PARSE("-n", "-1"), "invalid event count");
	rejects(PARSE("-n", "12abc"), "invalid event count");
	rejects(PARSE("-n", "99999999999999999999999"), "invalid event count");
	rejects(PARSE("-p", "0"), "invalid --pid");
	rejects(PARSE("-p", "4194305"), "invalid --pid");
	rejects(PARSE("--array-cap", "0"), "invalid array cap");
	rejects(PARSE("--array-cap", "1025"), "invalid array cap");
	rejects(PARSE("--ringbuf-mb", "3"), "not a power of two");
	rejects(PARSE("--ringbuf-mb", "2048"), "invalid ring buffer size");
	rejects(PARSE("--max-inflight", "0"), "invalid max in-flight");
	rejects(PARSE("-d", "0"), "invalid duration");
	rejects(PARSE("-d", "-3"), "invalid duration");
	rejects(PARSE("-d", "nan"), "invalid duration");
	rejects(PARSE("-d", "5s"), "invalid duration");
}

static void test_bad_strings(void **state)
{
	(void)state;
	rejects(PARSE("-f", "xml"), "unknown format 'xml'");
	assert_int_equal(PARSE("-f", "none", "--capture", "c.mpcap"), 0);
	rejects(PARSE("-f", "none"), "-f none writes no lines: it needs --capture");
	rejects(PARSE("-f", "none", "--capture", "c.mpcap", "-o", "x"), "-o has nothing to write");
	rejects(PARSE("-f", "none", "--capture", "c.mpcap", "--detect"), "--detect's findings");
	rejects(PARSE("-f", "none", "--capture", "c.mpcap", "--stats-interval", "5"),
		"--stats-interval's records");
	rejects(PARSE("replay", "-f", "none", "c.mpcap"), "-f none goes with tracing");
	rejects(PARSE("ship", "-f", "none", "--nats", "nats://127.0.0.1:4222", "c.mpcap"),
		"-f none goes with tracing");
	rejects(PARSE("-o", ""), "empty output file name");
	rejects(PARSE("--no-such-flag"), "unrecognized option '--no-such-flag'");
	rejects(PARSE("-n"), "option '-n' requires an argument");
	rejects(PARSE("--max-events"), "option '--max-events' requires an argument");
}

static void test_events(void **state)
{
	const struct mpt_filter *f = &cli.tracer.filter;

	(void)state;
	assert_int_equal(PARSE("-d", "1"), 0);
	assert_int_equal(f->events, 0); /* every event */
	assert_true(mpt_filter_event_on(f, mpt_event_desc_named("migrate_pages")));
	assert_int_equal(PARSE("--event", "migrate_pages"), 0);
	assert_int_equal(f->events, MPT_EVENT_BIT(MPT_REC_MIGRATE_PAGES));
	assert_false(mpt_filter_event_on(f, mpt_event_desc_named("move_pages")));
	assert_int_equal(PARSE("--event", "move_pages,migrate_pages"), 0);
	assert_int_equal(f->events,
			 MPT_EVENT_BIT(MPT_REC_MOVE_PAGES) | MPT_EVENT_BIT(MPT_REC_MIGRATE_PAGES));
	/* repeated, the lists add up */
	assert_int_equal(PARSE("--event", "move_pages", "--event", "migrate_pages"), 0);
	assert_int_equal(f->events,
			 MPT_EVENT_BIT(MPT_REC_MOVE_PAGES) | MPT_EVENT_BIT(MPT_REC_MIGRATE_PAGES));
	rejects(PARSE("--event", "get_mempolicy"), "unknown event 'get_mempolicy'");
	rejects(PARSE("--event", ""), "--event needs at least one event name");
	rejects(PARSE("--event", "move_pages,"), "ends in a comma");
	rejects(PARSE("--event", ",move_pages"), "unknown event ''");
}

static void test_filters(void **state)
{
	const struct mpt_filter *f = &cli.tracer.filter;

	(void)state;
	assert_int_equal(PARSE("-p", "5", "--pid", "7", "-p", "5", "--tid", "9", "--uid", "0",
			       "--uid", "root", "--comm", "numad", "--comm", "wl", "--mntns",
			       "4026531841", "--pidns", "4026531836", "--cgroup", "/a/b",
			       "--container", "3f4e", "--containers-only", "--target-other"),
			 0);
	/* repeated values kept once */
	assert_int_equal(f->n[MPT_FILTER_PID], 2);
	assert_int_equal(f->val[MPT_FILTER_PID][0], 5);
	assert_int_equal(f->val[MPT_FILTER_PID][1], 7);
	assert_int_equal(f->n[MPT_FILTER_TID], 1);
	assert_int_equal(f->n[MPT_FILTER_UID], 1);
	assert_int_equal(f->val[MPT_FILTER_UID][0], 0);
	assert_int_equal(f->n[MPT_FILTER_COMM], 2);
	assert_string_equal(f->comm[1], "wl");
	assert_int_equal(f->val[MPT_FILTER_MNTNS][0], 4026531841u);
	assert_int_equal(f->val[MPT_FILTER_PIDNS][0], 4026531836u);
	/* cgroups are resolved later, not while parsing */
	assert_int_equal(f->n_cgroup_arg, 1);
	assert_string_equal(f->cgroup_arg[0], "/a/b");
	assert_int_equal(f->n[MPT_FILTER_CGROUP], 0);
	assert_int_equal(f->n_container, 1);
	assert_string_equal(f->container[0], "3f4e");
	assert_int_equal(f->scope, MPT_SCOPE_CONTAINERS_ONLY);
	assert_true(f->target_other);
	assert_true(mpt_filter_active(f));

	assert_int_equal(PARSE("--host-only"), 0);
	assert_int_equal(cli.tracer.filter.scope, MPT_SCOPE_HOST_ONLY);
	assert_int_equal(PARSE("-n", "1"), 0);
	assert_false(mpt_filter_active(&cli.tracer.filter));

	rejects(PARSE("--host-only", "--containers-only"), "exclude each other");
	rejects(PARSE("--container", "abc", "--host-only"), "exclude each other");
	/* not an id: a name, checked in user space on verified containers */
	assert_int_equal(PARSE("--container", "web-1", "--pod", "prod/shop"), 0);
	assert_int_equal(cli.tracer.filter.n_container_name, 1);
	assert_string_equal(cli.tracer.filter.container_name[0], "web-1");
	assert_string_equal(cli.tracer.filter.pod[0], "prod/shop");
	assert_true(mpt_filter_has_names(&cli.tracer.filter));
	rejects(PARSE("--container", "3f4e", "--container", "web"), "ids or names, not both");
	rejects(PARSE("--pod", "prod/shop", "--host-only"), "exclude each other");
	rejects(PARSE("--pod", "shop"), "invalid --pod 'shop'");
	rejects(PARSE("--pod", "/shop"), "invalid --pod");
	rejects(PARSE("--pod", "a/b/c"), "invalid --pod");
	rejects(PARSE("--container", ""), "invalid --container");
	rejects(PARSE("--container",
		      "00000000000000000000000000000000000000000000000000000000000000000"),
		"invalid --container");
	rejects(PARSE("--comm", "sixteen-bytes-xx"), "invalid --comm");
	rejects(PARSE("--comm", ""), "invalid --comm");
	rejects(PARSE("--uid", "no-such-user-xyz"), "no such user");
	rejects(PARSE("--uid", "-1"), "invalid --uid");
	rejects(PARSE("--tid", "0"), "invalid --tid");
	rejects(PARSE("--mntns", "abc"), "invalid --mntns");
	rejects(PARSE("--pidns", "0"), "invalid --pidns");
	rejects(PARSE("--cgroup", ""), "invalid --cgroup");
	rejects(PARSE("--cgroup"), "option '--cgroup' requires an argument");
}

static int parse_with_config(const char *conf, char *err, size_t len, int argc, char **argv)
{
	char path[] = "/tmp/mptrace-conf-XXXXXX";
	char **all = NULL;
	int fd = mkstemp(path), rc;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, conf, strlen(conf)), (ssize_t)strlen(conf));
	close(fd);
	argv[2] = path;
	rc = mpt_cli_parse_config(argc, argv, &cli, err, len, &all);
	unlink(path);
	return rc;
}

static void test_config_file(void **state)
{
	char err[256];
	char *argv[] = {"mptrace", "--config", NULL, "--comm", "b", "-f", "table", NULL};

	(void)state;
	assert_int_equal(parse_with_config("; the daemon's settings\n"
					   "[output]\nformat = json\noutput = /var/log/x.json\n"
					   "[filters]\ncomm = a\ncontainers-only = true\n"
					   "target-other = false\n[detect]\ndetect = yes\n"
					   "detect-burst = 9\n[daemon]\nstats-interval = 60\n",
					   err, sizeof(err), 7, argv),
			 0);
	/* the command line wins for single values, and adds to filter lists */
	assert_int_equal(cli.format, MPT_FMT_TABLE);
	assert_string_equal(cli.output, "/var/log/x.json");
	assert_int_equal(cli.tracer.filter.n[MPT_FILTER_COMM], 2);
	assert_int_equal(cli.tracer.filter.scope, MPT_SCOPE_CONTAINERS_ONLY);
	assert_false(cli.tracer.filter.target_other);
	assert_true(cli.detect.enabled);
	assert_int_equal(cli.detect.burst_errors, 9);
	assert_int_equal(cli.stats_ms, 60000);

	assert_int_not_equal(parse_with_config("nonsense = 1\n", err, sizeof(err), 3, argv), 0);
	assert_non_null(strstr(err, "unknown setting 'nonsense'"));
	assert_int_not_equal(parse_with_config("detect = maybe\n", err, sizeof(err), 3, argv), 0);
	assert_non_null(strstr(err, "takes true or false"));
	assert_int_not_equal(parse_with_config("array-cap = 99999\n", err, sizeof(err), 3, argv),
			     0);
	assert_non_null(strstr(err, "invalid array cap"));
	assert_int_not_equal(parse_with_config("just words\n", err, sizeof(err), 3, argv), 0);
	assert_non_null(strstr(err, "not a 'key = value' line"));
	assert_int_not_equal(parse_with_config("config = /etc/other\n", err, sizeof(err), 3, argv),
			     0);
	/*
	 * inih reads a line past 199 bytes in pieces: the tail of this comment
	 * would become a live capture setting. It is refused, naming the line.
	 */
	{
		char conf[512];
		int pad = 199 - (int)strlen("# capture = /tmp/x");

		snprintf(conf, sizeof(conf), "format = json\n# %*scapture = /tmp/x\n", pad, "");
		assert_int_equal(parse_with_config(conf, err, sizeof(err), 3, argv), 0);
		assert_null(cli.capture);
		snprintf(conf, sizeof(conf), "format = json\n# %*scapture = /tmp/x\n", pad + 1, "");
		assert_int_not_equal(parse_with_config(conf, err, sizeof(err), 3, argv), 0);
		assert_non_null(strstr(err, ":2: a line longer than 199 bytes"));
	}
	argv[2] = "/no/such/mptrace.conf";
	assert_int_not_equal(mpt_cli_parse_config(3, argv, &cli, err, sizeof(err), &(char **){0}),
			     0);
	assert_non_null(strstr(err, "cannot read config file"));
}

static const char *shipped_config;

/* The example the package ships parses, with the values it documents. */
static void test_shipped_config(void **state)
{
	char err[256];
	char *argv[] = {"mptrace", "--config", (char *)shipped_config, NULL};
	char **all = NULL;

	(void)state;
	if (mpt_cli_parse_config(3, argv, &cli, err, sizeof(err), &all))
		fail_msg("%s: %s", shipped_config, err);
	assert_int_equal(cli.format, MPT_FMT_JSON);
	assert_string_equal(cli.output, "/var/log/mptrace/events.json");
	assert_string_equal(cli.capture, "/var/lib/mptrace/trace.mpcap");
	assert_int_equal(cli.capture_files, 8);
	assert_true(cli.detect.enabled);
	assert_int_equal(cli.stats_ms, 60000);
}

static void test_help_and_version(void **state)
{
	FILE *saved = stdout;

	(void)state;
	stdout = fopen("/dev/null", "w");
	assert_int_equal(PARSE("--help"), 1);
	assert_int_equal(PARSE("--version"), 1);
	fclose(stdout);
	stdout = saved;
}

int main(int argc, char **argv)
{
	shipped_config = argc > 1 ? argv[1] : "packaging/mptrace.conf";
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),	     cmocka_unit_test(test_all_options),
	    cmocka_unit_test(test_ancestors),	     cmocka_unit_test(test_attach_modes),
	    cmocka_unit_test(test_probe_command),    cmocka_unit_test(test_fleet_options),
	    cmocka_unit_test(test_bad_numbers),	     cmocka_unit_test(test_bad_strings),
	    cmocka_unit_test(test_help_and_version), cmocka_unit_test(test_filters),
	    cmocka_unit_test(test_config_file),	     cmocka_unit_test(test_shipped_config),
	    cmocka_unit_test(test_events),
	};
	return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
