// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#define _GNU_SOURCE
#include "cli/cli.h"

#include <argp.h>
#include <ini.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "version.h"

/* A configuration file is a page of settings; anything this big is not one. */
#define MPT_CONFIG_MAX (1u << 20)

static const char doc[] =
    "Trace every page-migration and memory-policy call on this host: move_pages(2),\n"
    "migrate_pages(2), mbind(2), set_mempolicy(2), set_mempolicy_home_node(2).\n"
    "\n"
    "USAGE: mptrace [OPTIONS]\n"
    "       mptrace probe        report which attach modes this kernel supports\n"
    "       mptrace replay [OPTIONS] FILE...   decode captures, with the same filters and formats\n"
    "       mptrace report [OPTIONS] -o r.html FILE...  one page an investigator reads\n"
    "       mptrace verify FILE...             check captures' checksums and hash chain\n"
    "       mptrace capture-info FILE...       a capture's header and counts\n"
    "       mptrace ship [OPTIONS] FILE...     publish captures to NATS JetStream\n"
    "\n"
    "EXAMPLES:\n"
    "    mptrace                        # every call, one strace-style line each\n"
    "    mptrace --format json -o x.json  # JSON lines into a file\n"
    "    mptrace -p 812 -n 10           # the first 10 calls made by process 812\n"
    "    mptrace --container 3f4e2a1b   # one container (by id prefix)\n"
    "    mptrace --cgroup /kubepods.slice/kubepods-pod<uid>.slice  # one pod\n"
    "    mptrace --uid 1000 --target-other  # user 1000 touching other processes\n"
    "    mptrace --attach tracepoint -v # force a mode, say why others were skipped\n"
    "    mptrace probe                  # what this kernel supports\n"
    "    mptrace -f json -o live.json --capture t.mpcap  # and keep a capture\n"
    "    mptrace replay -f json --comm numad t.mpcap     # later, anywhere\n"
    "    mptrace report -o t.html t.mpcap                # the page to open in a browser";

enum {
	OPT_ARRAY_CAP = 0x100,
	OPT_RINGBUF_MB,
	OPT_MAX_INFLIGHT,
	OPT_FAIR_RATE,
	OPT_FAIR_BURST,
	OPT_NO_COMPAT,
	OPT_ANCESTORS,
	OPT_TID,
	OPT_UID,
	OPT_COMM,
	OPT_CGROUP,
	OPT_CONTAINER,
	OPT_POD,
	OPT_TARGET_CONTAINER,
	OPT_MNTNS,
	OPT_PIDNS,
	OPT_HOST_ONLY,
	OPT_CONTAINERS_ONLY,
	OPT_TARGET_OTHER,
	OPT_CAPTURE,
	OPT_CAPTURE_SYNC,
	OPT_CAPTURE_SIZE,
	OPT_CAPTURE_FILES,
	OPT_FOLLOW,
	OPT_DETECT,
	OPT_DETECT_BURST,
	OPT_DETECT_SCAN,
	OPT_DETECT_FLOOD,
	OPT_DETECT_REFUSED,
	OPT_DETECT_WINDOW,
	OPT_DETECT_COOLDOWN,
	OPT_STATS_INTERVAL,
	OPT_CONFIG,
	OPT_LOG_SIZE,
	OPT_LOG_FILES,
	OPT_CAPTURE_GROUP_READ,
	OPT_NATS,
	OPT_STREAM,
	OPT_SUBJECT,
	OPT_STATE,
	OPT_REPLICAS,
	OPT_BATCH,
	OPT_TLS,
	OPT_TLS_CA,
	OPT_TLS_CERT,
	OPT_TLS_KEY,
	OPT_CREDS,
	OPT_SINCE,
	OPT_UNTIL,
	OPT_EVENT,
	OPT_EXE,
	OPT_DESCENDANT_OF,
	OPT_METRICS,
	OPT_EXCEPTIONS,
};

/* " move_pages migrate_pages": every event, for the help */
#define MPT_EVENT_NAME_STR(id, type, name, nr64, nr32) " " #name

static const struct argp_option options[] = {
    {"attach", 'a', "MODE", 0, "auto (default), kprobe, fentry or tracepoint", 0},
    {"format", 'f', "FORMAT", 0,
     "table (default), json, ocsf (OCSF 1.8.0 events), or none (--capture alone)", 0},
    {"output", 'o', "FILE", 0,
     "write events to FILE instead of stdout; up to 4 times for several outputs, - for stdout", 0},
    {"max-events", 'n', "N", 0, "stop after N events", 0},
    {"duration", 'd', "SECONDS", 0, "stop after SECONDS (fractions allowed)", 0},
    {NULL, 0, NULL, 0,
     "Filters, run in the kernel (different filters AND, repeated values of one OR):", 1},
    {"event", OPT_EVENT, "NAME[,NAME]", 0,
     "the syscalls to trace, of" MPT_EVENTS(MPT_EVENT_NAME_STR) " (default: all)", 1},
    {"pid", 'p', "PID", 0, "calls made by process PID (host tgid)", 1},
    {"tid", OPT_TID, "TID", 0, "calls made by thread TID (host tid)", 1},
    {"uid", OPT_UID, "UID", 0, "calls made by user UID (number or name)", 1},
    {"comm", OPT_COMM, "COMM", 0, "calls made by a task named COMM (exact, up to 15 bytes)", 1},
    {"cgroup", OPT_CGROUP, "PATH|ID", 0, "calls from cgroup v2 PATH (or id) or any cgroup below it",
     1},
    {"container", OPT_CONTAINER, "ID|NAME", 0,
     "calls from the container whose id starts with ID (also one started later), or named "
     "NAME by its runtime (verified containers only)",
     1},
    {"target-container", OPT_TARGET_CONTAINER, "ID|NAME", 0,
     "calls naming a process of that container (id prefix, or the runtime's name)", 1},
    {"pod", OPT_POD, "NS/NAME", 0,
     "calls from a container of Kubernetes pod NAME in namespace NS (from the runtime)", 1},
    {"mntns", OPT_MNTNS, "INODE", 0, "calls from mount namespace INODE", 1},
    {"pidns", OPT_PIDNS, "INODE", 0, "calls from pid namespace INODE", 1},
    {"host-only", OPT_HOST_ONLY, NULL, 0, "calls from processes in no container", 1},
    {"containers-only", OPT_CONTAINERS_ONLY, NULL, 0, "calls from processes in a container", 1},
    {"exe", OPT_EXE, "PATH", 0,
     "calls from processes running the executable PATH (its inode and device, not its name)", 1},
    {"descendant-of", OPT_DESCENDANT_OF, "PID", 0,
     "calls from process PID or any process below it (host pid)", 1},
    {"target-other", OPT_TARGET_OTHER, NULL, 0,
     "calls whose pid names another process (the security-relevant case)", 1},
    {NULL, 0, NULL, 0, "Capture and replay:", 2},
    {"capture", OPT_CAPTURE, "FILE", 0, "also write every event to capture FILE", 2},
    {"capture-sync", OPT_CAPTURE_SYNC, NULL, 0, "fdatasync the capture at every flush", 2},
    {"capture-size", OPT_CAPTURE_SIZE, "MB", 0,
     "start a new capture file (FILE.0, FILE.1, ...) every MB megabytes", 2},
    {"capture-files", OPT_CAPTURE_FILES, "N", 0, "with --capture-size: keep a ring of N files", 2},
    {"capture-group-read", OPT_CAPTURE_GROUP_READ, NULL, 0,
     "make captures readable by their group (0640), for an unprivileged mptrace ship", 2},
    {"follow", OPT_FOLLOW, NULL, 0,
     "replay: wait for more records at the end; ship: keep shipping through rotation", 2},
    {NULL, 0, NULL, 0, "Fleet: mptrace ship CAPTURE..., mptrace replay --nats (docs/fleet.md):", 5},
    {"nats", OPT_NATS, "URL[,URL...]", 0,
     "NATS servers (ship: default nats://127.0.0.1:4222; replay: read from the stream)", 5},
    {"stream", OPT_STREAM, "NAME", 0, "JetStream stream (default MPTRACE)", 5},
    {"subject", OPT_SUBJECT, "SUBJECT", 0,
     "ship: default mptrace.HOST.EVENT.CONTAINER (CONTAINER: its id, or host; "
     "mptrace.HOST.meta for the rest); replay: a filter, default mptrace.> (one --event: "
     "its own)",
     5},
    {"state", OPT_STATE, "FILE", 0, "ship: what was acknowledged; a restart resumes from it", 5},
    {"replicas", OPT_REPLICAS, "N", 0, "ship: replicas of a stream it creates (default 1)", 5},
    {"batch", OPT_BATCH, "N", 0,
     "ship: up to N records a message, zstd-compressed (default: one JSON event a message)", 5},
    {"tls", OPT_TLS, NULL, 0, "require TLS", 5},
    {"tls-ca", OPT_TLS_CA, "FILE", 0, "CA certificates to trust", 5},
    {"tls-cert", OPT_TLS_CERT, "FILE", 0, "client certificate (with --tls-key)", 5},
    {"tls-key", OPT_TLS_KEY, "FILE", 0, "client key", 5},
    {"creds", OPT_CREDS, "FILE", 0, "NATS user credentials (JWT and seed)", 5},
    {"since", OPT_SINCE, "TIME", 0,
     "replay, report: events from TIME (seconds since the epoch, or RFC 3339: "
     "2026-12-03T08:00:00Z, ...+01:00)",
     2},
    {"until", OPT_UNTIL, "TIME", 0, "replay, report: events up to TIME", 2},
    {NULL, 0, NULL, 0, "Detections (docs/detections.md), live and in replay:", 3},
    {"detect", OPT_DETECT, NULL, 0, "emit a detection event after each suspicious call", 3},
    {"detect-burst", OPT_DETECT_BURST, "N", 0,
     "MPT-3: EPERM/EACCES/ESRCH results from one process per window (default 5)", 3},
    {"detect-scan", OPT_DETECT_SCAN, "N", 0,
     "MPT-4: pages of other processes one process queries per window (default 16)", 3},
    {"detect-flood", OPT_DETECT_FLOOD, "PAGES", 0,
     "MPT-5: pages asked to move by one process per window (default 100000)", 3},
    {"detect-refused", OPT_DETECT_REFUSED, "N", 0,
     "MPT-9: calls refused by seccomp from one process per window (default 3)", 3},
    {"detect-window", OPT_DETECT_WINDOW, "SECONDS", 0,
     "window of MPT-3, MPT-4, MPT-5 and MPT-9 (default 1)", 3},
    {"exceptions", OPT_EXCEPTIONS, "FILE", 0,
     "findings to keep quiet, by rule, executable, container and user (the events stay; "
     "SIGHUP reloads it)",
     3},
    {"detect-cooldown", OPT_DETECT_COOLDOWN, "SECONDS", 0,
     "a rule fires at most once per process per cooldown (default 10)", 3},
    {NULL, 0, NULL, 0, "Other options:", 4},
    {"log-size", OPT_LOG_SIZE, "MB", 0,
     "rotate the --output file past MB megabytes (FILE.1, FILE.2, ...); SIGHUP reopens it", 4},
    {"log-files", OPT_LOG_FILES, "N", 0, "with --log-size: keep N files in all (default 5)", 4},
    {"config", OPT_CONFIG, "FILE", 0,
     "read settings from FILE first (key = value, keys are these long options)", 4},
    {"stats-interval", OPT_STATS_INTERVAL, "SECONDS", 0,
     "write a stats record every SECONDS (and on SIGUSR1), and a drop record for every loss, "
     "into the output",
     4},
    {"ancestors", OPT_ANCESTORS, "N|all", 0,
     "the caller's ancestors written in each event, nearest first, up to 16 (default: 0 for "
     "JSON and OCSF, which write each ancestor once as a process record; all for the "
     "table); JSON's 0 is its lean form, whose caller is a record too; the capture keeps "
     "them all",
     4},
    {"metrics", OPT_METRICS, "ADDR:PORT", 0,
     "serve Prometheus metrics at http://ADDR:PORT/metrics (trace and ship; such as "
     "127.0.0.1:9867)",
     4},
    {"array-cap", OPT_ARRAY_CAP, "N", 0, "entries captured from each array (1-1024, default 64)",
     0},
    {"ringbuf-mb", OPT_RINGBUF_MB, "MB", 0, "ring buffer size, a power of two (default 8)", 0},
    {"max-inflight", OPT_MAX_INFLIGHT, "N", 0,
     "threads tracked inside a traced syscall at once (default 1024)", 0},
    {"fair-rate", OPT_FAIR_RATE, "N", 0,
     "each process's calls past N a second (after a burst) are summed in the kernel into "
     "flood summaries, so that a flood cannot take the ring buffer from others (default 2000; "
     "0: record every call)",
     0},
    {"fair-burst", OPT_FAIR_BURST, "N", 0,
     "calls a process may make at once before --fair-rate applies (default 10000)", 0},
    {"no-compat", OPT_NO_COMPAT, NULL, 0,
     "leave calls through the 32-bit syscall gates (ia32, x32) untraced; the ready line and "
     "the stats say so",
     0},
    {"verbose", 'v', NULL, 0, "say why each attach mode was chosen or not; twice: libbpf debug", 0},
    {"version", 'V', NULL, 0, "print the version and exit", 0},
    {"help", 'h', NULL, 0, "show this help and exit", 0},
    {0},
};

/* What each command other than tracing takes, for its --help. */
static const struct {
	enum mpt_command cmd;
	const char *usage;
} command_help[] = {
    {MPT_CMD_PROBE, "Usage: mptrace probe\n"
		    "Say which attach modes work on this kernel, and why the others do not.\n"},
    {MPT_CMD_REPLAY,
     "Usage: mptrace replay [OPTION...] CAPTURE...\n"
     "  or:  mptrace replay --nats URL [OPTION...]\n"
     "Print the events of capture files (or of a NATS JetStream stream) exactly as live\n"
     "tracing printed them.\n\n"
     "  -f, --format=FORMAT    table (default), json or ocsf\n"
     "  -o, --output=FILE      write to FILE instead of stdout (never over a capture)\n"
     "      --follow           one file: wait for more records at its end\n"
     "      --detect           the detections, as live (--detect-* tune them)\n"
     "      --ancestors=N|all  the ancestors written in each event (default: JSON, OCSF 0; "
     "table all)\n"
     "      --pid, --comm, --uid, --container, --exe, ... the filters of tracing\n"
     "      --nats=URL[,URL]   read the stream instead (--stream, --subject, --since,\n"
     "                         --until, --tls, --tls-ca, --creds)\n"},
    {MPT_CMD_REPORT,
     "Usage: mptrace report [OPTION...] -o report.html CAPTURE...\n"
     "  or:  mptrace report --nats URL [OPTION...] -o report.html\n"
     "One self-contained HTML page of what the captures (or the stream) hold: who did\n"
     "what, when and to whom, the detections, the losses, and whether the record is\n"
     "whole. A damaged capture is shown as damaged, and the exit status says so.\n\n"
     "  -f, --format=FORMAT    html (default), or json: the same summary as data\n"
     "  -o, --output=FILE      write to FILE instead of stdout (never over a capture)\n"
     "      --since, --until   events from and up to TIME\n"
     "      --pid, --comm, --uid, --container, --exe, ... the filters of tracing\n"
     "      --detect-*         tune the detections (always run for the report)\n"
     "      --nats=URL[,URL]   read the stream instead (--stream, --subject, --tls, ...)\n"},
    {MPT_CMD_VERIFY, "Usage: mptrace verify CAPTURE...\n"
		     "Check every block's checksum and the hash chain across the files of a set;\n"
		     "print the chain head. Exit 0: intact; 1: unreadable; 3: not a capture;\n"
		     "4: a newer format; 5: damaged; 6: edited (the hash chain breaks);\n"
		     "7: a set with a file missing, repeated or swapped. The gravest is told:\n"
		     "an edit before a broken set.\n"},
    {MPT_CMD_CAPTURE_INFO,
     "Usage: mptrace capture-info CAPTURE...\n"
     "Print what a capture file holds: host, kernel, times, events, losses.\n"},
    {MPT_CMD_SHIP,
     "Usage: mptrace ship [OPTION...] CAPTURE...\n"
     "Publish the events of capture files to NATS JetStream, exactly once and in order.\n\n"
     "      --nats=URL[,URL]   servers (default nats://127.0.0.1:4222)\n"
     "      --stream=NAME      stream (default MPTRACE); --subject=SUBJECT\n"
     "      --state=FILE       what was acknowledged: a restart resumes from it\n"
     "      --follow           keep shipping through rotation\n"
     "      --replicas=N       replicas of a stream it creates\n"
     "      --batch=N          up to N records a message, compressed\n"
     "      --metrics=ADDR:PORT  Prometheus metrics: acknowledged, pending, lag\n"
     "      --tls, --tls-ca=FILE, --tls-cert=FILE, --tls-key=FILE, --creds=FILE\n"},
};

/* --help: the command's own usage, or the whole option list for tracing. */
static void print_help(const struct argp_state *state, enum mpt_command cmd)
{
	for (size_t i = 0; i < sizeof(command_help) / sizeof(command_help[0]); i++) {
		if (command_help[i].cmd == cmd) {
			fputs(command_help[i].usage, stdout);
			return;
		}
	}
	/* argp_state_help() prints nothing under ARGP_NO_ERRS; argp_help() does */
	argp_help(state->root_argp, stdout, ARGP_HELP_STD_HELP & ~ARGP_HELP_EXIT_OK,
		  (char *)"mptrace");
}

struct parse_state {
	struct mpt_cli *cli;
	char *err;
	size_t len;
	int done;  /* help or version was printed */
	bool help; /* --help: printed at the end, once the command is known */
	bool format_given;
};

static int parse_u64(const char *arg, const char *what, uint64_t min, uint64_t max, uint64_t *out,
		     struct parse_state *ps)
{
	unsigned long long v;
	char *end;

	errno = 0;
	while (isspace((unsigned char)*arg))
		arg++;
	if (*arg == '-' || *arg == '+' || !*arg) {
		snprintf(ps->err, ps->len, "invalid %s '%s': expected a number from %llu to %llu",
			 what, arg, (unsigned long long)min, (unsigned long long)max);
		return -EINVAL;
	}
	v = strtoull(arg, &end, 10);
	if (errno || *end || v < min || v > max) {
		snprintf(ps->err, ps->len, "invalid %s '%s': expected a number from %llu to %llu",
			 what, arg, (unsigned long long)min, (unsigned long long)max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

/*
 * SECONDS[.FRACTION] to the nanosecond, exactly: through a double, a time
 * given to the millisecond came out up to 192 ns late (1796163492.005), and
 * --since then left out an event of that very millisecond (fleet_unprivileged
 * failed so once, its --since being its first event's millisecond).
 */
static bool parse_decimal_ns(const char *arg, int64_t *ns)
{
	int64_t secs = 0, frac = 0;
	const char *p = arg;
	int digits = 0;

	for (; *p >= '0' && *p <= '9'; p++, digits++)
		if (digits >= 11)
			return false;
		else
			secs = secs * 10 + (*p - '0');
	if (!digits)
		return false;
	if (*p == '.') {
		int f = 0;

		for (p++; *p >= '0' && *p <= '9'; p++, f++)
			if (f < 9)
				frac = frac * 10 + (*p - '0');
		if (!f)
			return false;
		for (; f < 9; f++)
			frac *= 10;
	}
	if (*p || (!secs && !frac))
		return false;
	*ns = secs * 1000000000 + frac;
	return true;
}

/* The digits of a fraction of a second, to the nanosecond; the rest of @p. */
static const char *parse_fraction(const char *p, int64_t *ns)
{
	int f = 0;

	*ns = 0;
	if (*p != '.')
		return p;
	for (p++; *p >= '0' && *p <= '9'; p++, f++)
		if (f < 9)
			*ns = *ns * 10 + (*p - '0');
	if (!f)
		return NULL;
	for (; f < 9; f++)
		*ns *= 10;
	return p;
}

/* RFC 3339: YYYY-MM-DDTHH:MM:SS[.FRACTION](Z|+HH:MM|-HH:MM); 'T' may be 't' or ' '. */
static bool parse_rfc3339(const char *arg, int64_t *ns)
{
	struct tm tm = {0};
	int64_t frac;
	const char *p;
	int oh, om, sign = 1;

	if (strlen(arg) < 20 || (arg[10] != 'T' && arg[10] != 't' && arg[10] != ' '))
		return false;
	p = strptime(arg, "%Y-%m-%d", &tm);
	if (p != arg + 10 || !(p = strptime(p + 1, "%H:%M:%S", &tm)) ||
	    !(p = parse_fraction(p, &frac)))
		return false;
	*ns = (int64_t)timegm(&tm) * 1000000000 + frac;
	if ((*p == 'Z' || *p == 'z') && !p[1])
		return true;
	if (*p != '+' && *p != '-')
		return false;
	if (*p == '-')
		sign = -1;
	if (strlen(p) != 6 || sscanf(p + 1, "%2d:%2d", &oh, &om) != 2 || oh > 23 || om > 59)
		return false;
	/* local time at that offset: UTC is the offset earlier */
	*ns -= sign * ((int64_t)oh * 3600 + om * 60) * 1000000000;
	return true;
}

/* Seconds since the epoch (fractions allowed), or an RFC 3339 time. */
static int parse_time(const char *arg, int64_t *ns, struct parse_state *ps)
{
	if (parse_decimal_ns(arg, ns) || parse_rfc3339(arg, ns))
		return 0;
	snprintf(ps->err, ps->len,
		 "invalid time '%s': seconds since the epoch, or RFC 3339 "
		 "(2026-12-03T08:00:00Z, 2026-12-03T09:00:00.5+01:00)",
		 arg);
	return -1;
}

static int parse_seconds(const char *arg, uint64_t *ms, struct parse_state *ps)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno || end == arg || *end || !isfinite(v) || v <= 0 || v > 1e9) {
		snprintf(ps->err, ps->len, "invalid duration '%s': expected seconds > 0", arg);
		return -EINVAL;
	}
	*ms = (uint64_t)ceil(v * 1000);
	return 0;
}

static bool is_known_option(const char *arg)
{
	const struct argp_option *o;
	size_t len;

	for (o = options; o->name || o->key || o->doc; o++) {
		if (arg[0] == '-' && arg[1] == o->key && !arg[2])
			return true;
		if (strncmp(arg, "--", 2) || !o->name)
			continue;
		len = strcspn(arg + 2, "=");
		if (len == strlen(o->name) && !strncmp(arg + 2, o->name, len))
			return true;
	}
	return false;
}

static void describe_bad_option(const char *arg, struct parse_state *ps)
{
	if (is_known_option(arg))
		snprintf(ps->err, ps->len, "option '%s' requires an argument", arg);
	else
		snprintf(ps->err, ps->len, "unrecognized option '%s' (see mptrace --help)", arg);
}

static error_t filter_add(struct mpt_cli *cli, enum mpt_filter_kind kind, const char *arg,
			  struct parse_state *ps)
{
	return mpt_filter_add(&cli->tracer.filter, kind, arg, ps->err, ps->len) ? EINVAL : 0;
}

/* What report takes: a page or JSON, the whole record (no -n, no --follow). */
static error_t check_report(struct mpt_cli *cli, struct parse_state *ps)
{
	if (cli->command != MPT_CMD_REPORT) {
		if (cli->format_html) {
			snprintf(ps->err, ps->len, "-f html goes with report");
			return EINVAL;
		}
		return 0;
	}
	if (cli->format == MPT_FMT_OCSF ||
	    (cli->format == MPT_FMT_TABLE && ps->format_given && !cli->format_html)) {
		snprintf(ps->err, ps->len, "report writes html or json (-f html, -f json)");
		return EINVAL;
	}
	if (cli->max_events || cli->follow) {
		snprintf(ps->err, ps->len, "report reads the whole record: no -n, no --follow");
		return EINVAL;
	}
	cli->detect.enabled = true;
	return 0;
}

/* Options that make no sense together, or for the command given. */
/* One line and EINVAL. */
static error_t refuse(struct parse_state *ps, const char *why)
{
	snprintf(ps->err, ps->len, "%s", why);
	return EINVAL;
}

/*
 * -f none: tracing into the capture alone, no line made, none written (a
 * daemon that keeps the record and reads it later). So nothing may ask for
 * a line: an output, the findings, the stream's stats.
 */
static error_t check_no_lines(const struct mpt_cli *cli, struct parse_state *ps)
{
	if (cli->format != MPT_FMT_NONE)
		return 0;
	if (cli->command != MPT_CMD_TRACE)
		return refuse(ps, "-f none goes with tracing into a capture alone");
	if (!cli->capture)
		return refuse(ps, "-f none writes no lines: it needs --capture");
	if (cli->n_outputs)
		return refuse(ps, "-f none writes no lines: -o has nothing to write");
	if (cli->detect.enabled)
		return refuse(ps, "-f none writes no lines: --detect's findings would go nowhere");
	if (cli->stats_ms)
		return refuse(ps, "-f none writes no lines: --stats-interval's records would go "
				  "nowhere");
	return 0;
}

/* The stream's options: with ship, or replay and report reading the stream. */
static error_t check_nats(const struct mpt_cli *cli, bool replays, struct parse_state *ps)
{
	bool from_stream = replays && cli->nats.urls;
	bool nats_opts = cli->nats.stream || cli->nats.subject || cli->nats.tls ||
			 cli->nats.tls_ca || cli->nats.tls_cert || cli->nats.creds;

	if (from_stream && cli->n_files)
		return refuse(ps, "replay --nats reads the stream, not files");
	if ((cli->nats.state || cli->nats.replicas || cli->nats.batch) &&
	    cli->command != MPT_CMD_SHIP)
		return refuse(ps, "--state, --replicas and --batch go with ship");
	if ((cli->window.since_ns || cli->window.until_ns) && !replays)
		return refuse(ps, "--since and --until go with replay and report");
	if (nats_opts && cli->command != MPT_CMD_SHIP && !from_stream)
		return refuse(ps, "NATS options go with ship, replay --nats or report --nats");
	if (cli->nats.urls && cli->command != MPT_CMD_SHIP && !replays)
		return refuse(ps, "--nats goes with ship, replay or report");
	if (cli->command == MPT_CMD_SHIP && (cli->n_outputs || cli->detect.enabled))
		return refuse(ps, "ship publishes JSON events: no -o, no --detect");
	return 0;
}

/* The commands that read captures: which files, one output, no capture of their own. */
static error_t check_reading(const struct mpt_cli *cli, struct parse_state *ps)
{
	if (!cli->n_files) {
		snprintf(ps->err, ps->len, "which capture file? (mptrace %s FILE...)",
			 cli->command == MPT_CMD_REPLAY	  ? "replay"
			 : cli->command == MPT_CMD_REPORT ? "report"
			 : cli->command == MPT_CMD_VERIFY ? "verify"
			 : cli->command == MPT_CMD_SHIP	  ? "ship"
							  : "capture-info");
		return EINVAL;
	}
	if (cli->n_outputs > 1) {
		snprintf(ps->err, ps->len, "%s writes one output (-o)",
			 cli->command == MPT_CMD_REPORT ? "report" : "replay");
		return EINVAL;
	}
	if (cli->capture)
		return refuse(ps, "--capture is for tracing, not for reading captures");
	return 0;
}

/* The capture's and the log's sizes and counts need what they size. */
static error_t check_files(const struct mpt_cli *cli, struct parse_state *ps)
{
	if (cli->capture_group_read && !cli->capture)
		return refuse(ps, "--capture-group-read needs --capture FILE");
	if (cli->follow && cli->command != MPT_CMD_SHIP &&
	    (cli->command != MPT_CMD_REPLAY || cli->n_files != 1))
		return refuse(ps, "--follow goes with replay of one file, or ship");
	if ((cli->capture_size || cli->capture_files || cli->capture_sync) && !cli->capture)
		return refuse(ps, "--capture-size, --capture-files and --capture-sync need "
				  "--capture FILE");
	if ((cli->log_size || cli->log_files) && !cli->output)
		return refuse(ps, "--log-size and --log-files need --output FILE");
	if (cli->log_files && !cli->log_size)
		return refuse(ps, "--log-files needs --log-size");
	if (cli->capture_files && !cli->capture_size)
		return refuse(ps, "--capture-files needs --capture-size");
	return 0;
}

static error_t check_combination(struct mpt_cli *cli, struct parse_state *ps)
{
	bool replays = cli->command == MPT_CMD_REPLAY || cli->command == MPT_CMD_REPORT;
	/* replay --nats reads the stream: no capture files */
	bool reading = (replays && !cli->nats.urls) || cli->command == MPT_CMD_VERIFY ||
		       cli->command == MPT_CMD_CAPTURE_INFO || cli->command == MPT_CMD_SHIP;
	const struct mpt_filter *f = &cli->tracer.filter;
	error_t rc;

	if ((rc = check_report(cli, ps)) || (rc = check_nats(cli, replays, ps)) ||
	    (rc = check_no_lines(cli, ps)))
		return rc;
	if (cli->ancestors != MPT_CLI_ANCESTORS_DEFAULT && cli->command != MPT_CMD_TRACE &&
	    cli->command != MPT_CMD_REPLAY)
		return refuse(ps, "--ancestors goes with tracing and replay");
	/* JSON and OCSF write each ancestor once, as a process record; the table has none */
	if (cli->ancestors == MPT_CLI_ANCESTORS_DEFAULT)
		cli->ancestors = cli->format == MPT_FMT_TABLE ? -1 : 0;
	if ((f->n_container || mpt_filter_has_container_names(f)) &&
	    f->scope == MPT_SCOPE_HOST_ONLY)
		return refuse(ps, "--container or --pod and --host-only exclude each other");
	if (reading && (rc = check_reading(cli, ps)))
		return rc;
	return check_files(cli, ps);
}

/*
 * The options that only store a value, as data: what kind of value, where it
 * goes, and its bounds. parse_opt() handles the rest (choices, combinations).
 */
enum opt_kind {
	OK_FLAG,    /* sets a bool */
	OK_STR,	    /* keeps the argument */
	OK_UINT,    /* a whole number in [min, max], stored in a field of its size */
	OK_MB,	    /* megabytes in [min, max], stored as bytes */
	OK_SECONDS, /* seconds (fractions allowed), stored as milliseconds */
	OK_FILTER,  /* one more value of an in-kernel filter */
};

struct opt_rule {
	int key;
	enum opt_kind kind;
	size_t off, size; /* the field in struct mpt_cli */
	uint64_t min, max;
	const char *what; /* for messages; for OK_FILTER the enum mpt_filter_kind */
	enum mpt_filter_kind filter;
};

#define FIELD(f) .off = offsetof(struct mpt_cli, f), .size = sizeof(((struct mpt_cli *)0)->f)
#define FLAG(k, f)                                                                                 \
	{                                                                                          \
		.key = k, .kind = OK_FLAG, FIELD(f)                                                \
	}
#define STR(k, f)                                                                                  \
	{                                                                                          \
		.key = k, .kind = OK_STR, FIELD(f)                                                 \
	}
#define UINT(k, f, lo, hi, w)                                                                      \
	{                                                                                          \
		.key = k, .kind = OK_UINT, FIELD(f), .min = lo, .max = hi, .what = w               \
	}
#define MB(k, f, lo, hi, w)                                                                        \
	{                                                                                          \
		.key = k, .kind = OK_MB, FIELD(f), .min = lo, .max = hi, .what = w                 \
	}
#define SECONDS(k, f)                                                                              \
	{                                                                                          \
		.key = k, .kind = OK_SECONDS, FIELD(f)                                             \
	}
#define FILTER(k, fk)                                                                              \
	{                                                                                          \
		.key = k, .kind = OK_FILTER, .filter = fk                                          \
	}

static const struct opt_rule rules[] = {
    UINT('n', max_events, 1, UINT64_MAX, "event count"),
    SECONDS('d', duration_ms),
    FILTER('p', MPT_FILTER_PID),
    FILTER(OPT_TID, MPT_FILTER_TID),
    FILTER(OPT_UID, MPT_FILTER_UID),
    FILTER(OPT_COMM, MPT_FILTER_COMM),
    FILTER(OPT_CGROUP, MPT_FILTER_CGROUP),
    FILTER(OPT_MNTNS, MPT_FILTER_MNTNS),
    FILTER(OPT_PIDNS, MPT_FILTER_PIDNS),
    FILTER(OPT_EXE, MPT_FILTER_EXE),
    FILTER(OPT_DESCENDANT_OF, MPT_FILTER_ANCESTOR),
    FLAG(OPT_TARGET_OTHER, tracer.filter.target_other),
    FLAG(OPT_CAPTURE_SYNC, capture_sync),
    MB(OPT_CAPTURE_SIZE, capture_size, 1, 1 << 20, "capture size"),
    UINT(OPT_CAPTURE_FILES, capture_files, 1, 100000, "capture file count"),
    FLAG(OPT_FOLLOW, follow),
    FLAG(OPT_CAPTURE_GROUP_READ, capture_group_read),
    STR(OPT_NATS, nats.urls),
    STR(OPT_STREAM, nats.stream),
    STR(OPT_SUBJECT, nats.subject),
    STR(OPT_STATE, nats.state),
    UINT(OPT_REPLICAS, nats.replicas, 1, 5, "replica count"),
    UINT(OPT_BATCH, nats.batch, 1, FLEET_BATCH_MAX, "batch size"),
    FLAG(OPT_TLS, nats.tls),
    STR(OPT_TLS_CA, nats.tls_ca),
    STR(OPT_TLS_CERT, nats.tls_cert),
    STR(OPT_TLS_KEY, nats.tls_key),
    STR(OPT_CREDS, nats.creds),
    STR(OPT_METRICS, metrics),
    STR(OPT_EXCEPTIONS, detect.exceptions),
    FLAG(OPT_DETECT, detect.enabled),
    UINT(OPT_DETECT_BURST, detect.burst_errors, 1, 1000000, "--detect-burst"),
    UINT(OPT_DETECT_SCAN, detect.scan_pages, 1, 1u << 30, "--detect-scan"),
    UINT(OPT_DETECT_FLOOD, detect.flood_pages, 1, UINT64_MAX / 2, "--detect-flood"),
    UINT(OPT_DETECT_REFUSED, detect.refused, 1, 1000000, "--detect-refused"),
    MB(OPT_LOG_SIZE, log_size, 1, 1 << 20, "log size"),
    UINT(OPT_LOG_FILES, log_files, 2, 1000, "log file count"),
    SECONDS(OPT_STATS_INTERVAL, stats_ms),
    UINT(OPT_ARRAY_CAP, tracer.array_cap, 1, MPT_ARRAY_CAP_MAX, "array cap"),
    UINT(OPT_MAX_INFLIGHT, tracer.max_inflight, 1, 1 << 20, "max in-flight calls"),
    UINT(OPT_FAIR_RATE, tracer.fair_rate, 0, 1000000000, "--fair-rate"),
    UINT(OPT_FAIR_BURST, tracer.fair_burst, 1, 100000000, "--fair-burst"),
    FLAG(OPT_NO_COMPAT, tracer.no_compat),
};

static const struct opt_rule *rule_of(int key)
{
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (rules[i].key == key)
			return &rules[i];
	return NULL;
}

/* Store @v in the @size-byte unsigned field at @field. */
static void store_uint(void *field, size_t size, uint64_t v)
{
	if (size == 8) {
		uint64_t x = v;

		memcpy(field, &x, 8);
	} else if (size == 4) {
		uint32_t x = v;

		memcpy(field, &x, 4);
	} else {
		bool x = v;

		memcpy(field, &x, 1);
	}
}

static int apply_rule(const struct opt_rule *r, char *arg, struct parse_state *ps)
{
	char *field = (char *)ps->cli + r->off;
	uint64_t v;

	switch (r->kind) {
	case OK_FLAG:
		store_uint(field, r->size, 1);
		return 0;
	case OK_STR:
		memcpy(field, &arg, sizeof(arg));
		return 0;
	case OK_UINT:
	case OK_MB:
		if (parse_u64(arg, r->what, r->min, r->max, &v, ps))
			return -1;
		store_uint(field, r->size, r->kind == OK_MB ? v << 20 : v);
		return 0;
	case OK_SECONDS:
		if (parse_seconds(arg, &v, ps))
			return -1;
		store_uint(field, r->size, v);
		return 0;
	case OK_FILTER:
		return filter_add(ps->cli, r->filter, arg, ps) ? -1 : 0;
	}
	return -1;
}

/* How and where: the attach mode, the format, outputs, the capture. */
static error_t parse_output_opt(int key, char *arg, struct parse_state *ps)
{
	struct mpt_cli *cli = ps->cli;

	switch (key) {
	case 'a':
		if (mpt_attach_parse(arg, &cli->tracer.attach)) {
			snprintf(ps->err, ps->len,
				 "unknown attach mode '%s': use auto, kprobe, fentry or tracepoint",
				 arg);
			return EINVAL;
		}
		break;
	case 'f':
		ps->format_given = true;
		cli->format_html = !strcmp(arg, "html");
		if (cli->format_html)
			cli->format = MPT_FMT_TABLE;
		else if (mpt_format_parse(arg, &cli->format)) {
			snprintf(ps->err, ps->len,
				 "unknown format '%s': use table, json, ocsf or none", arg);
			return EINVAL;
		}
		break;
	case 'o':
		if (!*arg) {
			snprintf(ps->err, ps->len, "empty output file name");
			return EINVAL;
		}
		if (cli->n_outputs == (int)(sizeof(cli->outputs) / sizeof(cli->outputs[0]))) {
			snprintf(ps->err, ps->len, "at most 4 outputs (-o)");
			return EINVAL;
		}
		cli->outputs[cli->n_outputs++] = arg;
		if (!cli->output)
			cli->output = arg;
		break;
	case OPT_CAPTURE:
		if (!*arg) {
			snprintf(ps->err, ps->len, "empty capture file name");
			return EINVAL;
		}
		cli->capture = arg;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* The filters that are not a rule's plain value. */
static error_t parse_filter_opt(int key, char *arg, struct parse_state *ps)
{
	struct mpt_cli *cli = ps->cli;

	switch (key) {
	case OPT_CONTAINER:
		return mpt_filter_add_container(&cli->tracer.filter, arg, ps->err, ps->len) ? EINVAL
											    : 0;
	case OPT_TARGET_CONTAINER:
		return mpt_filter_add_target_container(&cli->tracer.filter, arg, ps->err, ps->len)
			   ? EINVAL
			   : 0;
	case OPT_POD:
		return mpt_filter_add_pod(&cli->tracer.filter, arg, ps->err, ps->len) ? EINVAL : 0;
	case OPT_HOST_ONLY:
	case OPT_CONTAINERS_ONLY: {
		enum mpt_filter_scope want =
		    key == OPT_HOST_ONLY ? MPT_SCOPE_HOST_ONLY : MPT_SCOPE_CONTAINERS_ONLY;

		if (cli->tracer.filter.scope != MPT_SCOPE_ALL && cli->tracer.filter.scope != want) {
			snprintf(ps->err, ps->len,
				 "--host-only and --containers-only exclude each other");
			return EINVAL;
		}
		cli->tracer.filter.scope = want;
		break;
	}
	case OPT_EVENT:
		return mpt_filter_add_events(&cli->tracer.filter, arg, ps->err, ps->len) ? EINVAL
											 : 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* Values with a parser of their own: times, durations, the ring's size. */
static error_t parse_value_opt(int key, char *arg, struct parse_state *ps)
{
	struct mpt_cli *cli = ps->cli;
	uint64_t v;

	switch (key) {
	case OPT_SINCE:
	case OPT_UNTIL:
		if (parse_time(
			arg, key == OPT_SINCE ? &cli->window.since_ns : &cli->window.until_ns, ps))
			return EINVAL;
		break;
	case OPT_CONFIG:
		/* read by mpt_cli_parse_config() before parsing; nothing to do here */
		break;
	case OPT_DETECT_WINDOW:
	case OPT_DETECT_COOLDOWN: {
		uint64_t ms;

		if (parse_seconds(arg, &ms, ps))
			return EINVAL;
		if (key == OPT_DETECT_WINDOW)
			cli->detect.window_ns = ms * 1000000;
		else
			cli->detect.cooldown_ns = ms * 1000000;
		break;
	}
	case OPT_ANCESTORS:
		if (!strcmp(arg, "all")) {
			cli->ancestors = -1;
			break;
		}
		if (parse_u64(arg, "--ancestors", 0, MPT_ANCESTORS_MAX, &v, ps))
			return EINVAL;
		cli->ancestors = (int32_t)v;
		break;
	case OPT_RINGBUF_MB:
		if (parse_u64(arg, "ring buffer size", 1, 1024, &v, ps))
			return EINVAL;
		if (v & (v - 1)) {
			snprintf(ps->err, ps->len,
				 "invalid ring buffer size '%s': not a power of two", arg);
			return EINVAL;
		}
		cli->tracer.ringbuf_bytes = v << 20;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* A word that is not an option: the command first, then files. */
static error_t parse_arg(char *arg, struct argp_state *state, struct parse_state *ps)
{
	struct mpt_cli *cli = ps->cli;

	if (state->arg_num == 0) {
		static const struct {
			const char *name;
			enum mpt_command cmd;
		} cmds[] = {{"probe", MPT_CMD_PROBE},	{"replay", MPT_CMD_REPLAY},
			    {"verify", MPT_CMD_VERIFY}, {"capture-info", MPT_CMD_CAPTURE_INFO},
			    {"ship", MPT_CMD_SHIP},	{"report", MPT_CMD_REPORT}};

		for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
			if (!strcmp(arg, cmds[i].name)) {
				cli->command = cmds[i].cmd;
				return 0;
			}
		}
	}
	if (cli->command == MPT_CMD_TRACE || cli->command == MPT_CMD_PROBE) {
		snprintf(ps->err, ps->len,
			 "unexpected argument '%s' (commands: probe, replay, report, "
			 "verify, capture-info, ship)",
			 arg);
		return EINVAL;
	}
	if (cli->n_files >= MPT_CLI_FILES_MAX) {
		snprintf(ps->err, ps->len, "too many files (at most %d)", MPT_CLI_FILES_MAX);
		return EINVAL;
	}
	cli->files[cli->n_files++] = arg;
	return 0;
}

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	struct parse_state *ps = state->input;
	struct mpt_cli *cli = ps->cli;
	const struct opt_rule *r = rule_of(key);
	error_t e;

	if (r)
		return apply_rule(r, arg, ps) ? EINVAL : 0;
	if ((e = parse_output_opt(key, arg, ps)) != ARGP_ERR_UNKNOWN ||
	    (e = parse_filter_opt(key, arg, ps)) != ARGP_ERR_UNKNOWN ||
	    (e = parse_value_opt(key, arg, ps)) != ARGP_ERR_UNKNOWN)
		return e;
	switch (key) {
	case 'v':
		cli->verbosity++;
		break;
	case 'V':
		printf("mptrace %s\n", MPTRACE_VERSION);
		ps->done = 1;
		break;
	case 'h':
		ps->help = true;
		break;
	case ARGP_KEY_ERROR:
		/* argp stays silent (ARGP_NO_ERRS) about unknown options: name the culprit */
		if (!ps->err[0] && state->next > 0 && state->next <= state->argc)
			describe_bad_option(state->argv[state->next - 1], ps);
		break;
	case ARGP_KEY_END:
		if (ps->help) {
			print_help(state, cli->command);
			ps->done = 1;
			return 0;
		}
		/* --version says it and ends the run, whatever else the line lacks */
		return ps->done ? 0 : check_combination(cli, ps);
	case ARGP_KEY_ARG:
		return parse_arg(arg, state, ps);
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

int mpt_cli_parse(int argc, char **argv, struct mpt_cli *cli, char *err, size_t len)
{
	const struct argp argp = {.options = options, .parser = parse_opt, .doc = doc};
	struct parse_state ps = {.cli = cli, .err = err, .len = len};
	int rc;

	memset(cli, 0, sizeof(*cli));
	mpt_tracer_opts_default(&cli->tracer);
	mpt_detect_cfg_default(&cli->detect);
	cli->format = MPT_FMT_TABLE;
	cli->ancestors = MPT_CLI_ANCESTORS_DEFAULT;
	err[0] = '\0';

	/* No exit and no printing from argp: main reports errors in one line. */
	rc = argp_parse(&argp, argc, argv, ARGP_NO_EXIT | ARGP_NO_HELP | ARGP_NO_ERRS, NULL, &ps);
	if (rc) {
		if (!err[0])
			snprintf(err, len, "invalid command line (see mptrace --help)");
		return -EINVAL;
	}
	return ps.done ? 1 : 0;
}

/* ---- the configuration file ---------------------------------------------- */

struct config_state {
	char **argv;
	int argc, cap;
	const char *path;
	char *err;
	size_t len;
	bool failed;
};

static int push_arg(struct config_state *cs, char *arg)
{
	if (cs->argc + 1 >= cs->cap) {
		int cap = cs->cap ? cs->cap * 2 : 32;
		char **p = realloc(cs->argv, cap * sizeof(*p));

		if (!p)
			return -1;
		cs->argv = p;
		cs->cap = cap;
	}
	cs->argv[cs->argc++] = arg;
	cs->argv[cs->argc] = NULL;
	return 0;
}

static const struct argp_option *find_long_option(const char *name)
{
	for (const struct argp_option *o = options; o->name || o->key || o->doc; o++)
		if (o->name && !strcmp(o->name, name))
			return o;
	return NULL;
}

/* inih calls this per "key = value"; sections only group keys for the reader. */
static int config_line(void *user, const char *section, const char *key, const char *value)
{
	struct config_state *cs = user;
	const struct argp_option *o = find_long_option(key);
	char *arg;

	(void)section;
	if (!o || !strcmp(key, "config") || !strcmp(key, "help") || !strcmp(key, "version")) {
		snprintf(cs->err, cs->len, "%s: unknown setting '%s'", cs->path, key);
		cs->failed = true;
		return 0;
	}
	if (!o->arg) {
		/* a flag: true or false */
		if (!strcmp(value, "false") || !strcmp(value, "no") || !strcmp(value, "0"))
			return 1;
		if (strcmp(value, "true") && strcmp(value, "yes") && strcmp(value, "1")) {
			snprintf(cs->err, cs->len, "%s: '%s' takes true or false, not '%s'",
				 cs->path, key, value);
			cs->failed = true;
			return 0;
		}
		if (asprintf(&arg, "--%s", key) < 0 || push_arg(cs, arg))
			return 0;
		return 1;
	}
	if (asprintf(&arg, "--%s=%s", key, value) < 0 || push_arg(cs, arg))
		return 0;
	return 1;
}

/* The longest line inih reads whole (its INI_MAX_LINE, 200, holds the NUL too). */
#define MPT_CONFIG_LINE_MAX 199

/*
 * The whole file, checked: a regular file (a directory, FIFO or device would
 * hang, spin or be silently empty), not huge, no line inih would cut, and no
 * indented lines (inih would make one the previous key's value).
 */
static char *read_config(const char *path, char *err, size_t len)
{
	char why[512], *text;
	int fd = mpt_open_regular(path, MPT_CONFIG_MAX, why, sizeof(why)), line = 1;
	ssize_t n, got = 0;
	struct stat st;

	if (fd < 0) {
		snprintf(err, len, "cannot read config file %s", why);
		return NULL;
	}
	if (fstat(fd, &st) || !(text = malloc(st.st_size + 1))) {
		snprintf(err, len, "cannot read config file '%s': %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	while (got < st.st_size && (n = read(fd, text + got, st.st_size - got)) > 0)
		got += n;
	close(fd);
	text[got] = '\0';
	if ((ssize_t)strlen(text) != got) {
		snprintf(err, len, "%s: a NUL byte: not a text file", path);
		free(text);
		return NULL;
	}
	for (const char *p = text, *start = text; *p; p++) {
		if ((p == text || p[-1] == '\n'))
			start = p;
		/* inih reads a longer line in pieces: a comment's tail would become a setting */
		if (*p != '\n' && p - start >= MPT_CONFIG_LINE_MAX) {
			snprintf(err, len, "%s:%d: a line longer than %d bytes", path, line,
				 MPT_CONFIG_LINE_MAX);
			free(text);
			return NULL;
		}
		if ((p == text || p[-1] == '\n') && (*p == ' ' || *p == '\t')) {
			const char *q = p + strspn(p, " \t");

			if (*q && *q != '\n' && *q != '#' && *q != ';') {
				snprintf(err, len,
					 "%s:%d: an indented line: settings start at the beginning "
					 "of a line",
					 path, line);
				free(text);
				return NULL;
			}
		}
		line += *p == '\n';
	}
	return text;
}

static bool is_output_arg(const char *a)
{
	return !strcmp(a, "-o") || !strcmp(a, "--output") || !strncmp(a, "--output=", 9) ||
	       (!strncmp(a, "-o", 2) && a[2]);
}

/* -o on the command line replaces the file's outputs instead of adding to them. */
static void drop_overridden_outputs(struct config_state *cs, int argc, char **argv)
{
	bool cli_has = false;
	int k = 1, from_file = cs->argc - (argc - 1);

	for (int i = 1; i < argc; i++)
		cli_has |= is_output_arg(argv[i]);
	if (!cli_has)
		return;
	for (int i = 1; i < cs->argc; i++) {
		if (i < from_file && !strncmp(cs->argv[i], "--output=", 9)) {
			free(cs->argv[i]);
			continue;
		}
		cs->argv[k++] = cs->argv[i];
	}
	cs->argc = k;
	cs->argv[k] = NULL;
}

int mpt_cli_parse_config(int argc, char **argv, struct mpt_cli *cli, char *err, size_t len,
			 char ***out_argv)
{
	struct config_state cs = {.err = err, .len = len};
	const char *path = NULL;
	char *text = NULL;
	int rc;

	*out_argv = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--config") && i + 1 < argc)
			path = argv[i + 1];
		else if (!strncmp(argv[i], "--config=", 9))
			path = argv[i] + 9;
	}
	if (!path)
		return mpt_cli_parse(argc, argv, cli, err, len);
	cs.path = path;
	push_arg(&cs, argv[0]);
	text = read_config(path, err, len);
	if (!text) {
		rc = -EINVAL;
		goto out;
	}
	rc = ini_parse_string(text, config_line, &cs);
	if (rc || cs.failed) {
		if (!cs.failed && rc < 0)
			snprintf(err, len, "cannot read config file '%s': out of memory", path);
		else if (!cs.failed)
			snprintf(err, len, "%s:%d: not a 'key = value' line", path, rc);
		rc = -EINVAL;
		goto out;
	}
	/* the file first, the command line after it: a flag given there wins */
	for (int i = 1; i < argc; i++)
		push_arg(&cs, argv[i]);
	drop_overridden_outputs(&cs, argc, argv);
	rc = mpt_cli_parse(cs.argc, cs.argv, cli, err, len);
out:
	free(text);
	*out_argv = cs.argv;
	return rc;
}
