// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "kernel/attach.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mptrace_event.h"

#if !defined(__x86_64__)
#error "mptrace: only x86_64 is supported so far"
#endif

const char *mpt_syscall_fn(const char *event, bool ia32, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", ia32 ? "__ia32_sys_" : "__x64_sys_", event);
	return buf;
}

static const struct {
	const char *name;
	const char *hooks;
} modes[MPT_ATTACH_NR] = {
#define MPT_ATTACH_DESC(id, name, hooks) [MPT_ATTACH_##id] = {name, hooks},
    MPT_ATTACH_MODES(MPT_ATTACH_DESC)
#undef MPT_ATTACH_DESC
};

const char *mpt_attach_name(enum mpt_attach_mode mode)
{
	if (mode == MPT_ATTACH_AUTO)
		return "auto";
	return mode < MPT_ATTACH_NR ? modes[mode].name : "?";
}

const char *mpt_attach_hooks(enum mpt_attach_mode mode)
{
	return mode < MPT_ATTACH_NR ? modes[mode].hooks : "?";
}

int mpt_attach_parse(const char *name, enum mpt_attach_mode *mode)
{
	int i;

	if (!strcmp(name, "auto")) {
		*mode = MPT_ATTACH_AUTO;
		return 0;
	}
	for (i = 0; i < MPT_ATTACH_NR; i++) {
		if (!strcmp(name, modes[i].name)) {
			*mode = i;
			return 0;
		}
	}
	return -EINVAL;
}

int mpt_attach_walk(enum mpt_attach_mode request, const struct mpt_attach_ops *ops, void *ctx,
		    struct mpt_attach_report *rep)
{
	int first = request == MPT_ATTACH_AUTO ? 0 : (int)request;
	int last = request == MPT_ATTACH_AUTO ? MPT_ATTACH_NR - 1 : (int)request;
	int mode;

	memset(rep, 0, sizeof(*rep));
	if (request > MPT_ATTACH_AUTO)
		return -1;
	for (mode = first; mode <= last; mode++) {
		rep->tried[mode] = true;
		if (!ops->precheck(mode, rep->why[mode], MPT_REASON_LEN))
			continue;
		if (ops->try_mode(mode, ctx, rep->why[mode], MPT_REASON_LEN))
			continue;
		rep->ok[mode] = true;
		rep->why[mode][0] = '\0';
		return mode;
	}
	return -1;
}

static bool path_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* libbpf 1.1 looks for tracefs under debugfs first, then at /sys/kernel/tracing. */
const char *mpt_tracefs_root(void)
{
	if (path_exists("/sys/kernel/debug/tracing/events"))
		return "/sys/kernel/debug/tracing";
	if (path_exists("/sys/kernel/tracing/events"))
		return "/sys/kernel/tracing";
	return NULL;
}

int mpt_ensure_tracefs(char *why, size_t len)
{
	if (mpt_tracefs_root())
		return 0;
	if (mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL)) {
		int err = -errno;

		snprintf(why, len,
			 "tracefs is not mounted and mounting it at /sys/kernel/tracing failed: %s",
			 strerror(-err));
		return err;
	}
	return 0;
}

static bool kprobe_precheck(char *why, size_t len)
{
	const char *root;
	char path[128];

	/* perf's kprobe PMU (4.17+), or the legacy kprobe_events file in tracefs */
	if (path_exists("/sys/bus/event_source/devices/kprobe/type"))
		return true;
	root = mpt_tracefs_root();
	if (root) {
		snprintf(path, sizeof(path), "%s/kprobe_events", root);
		if (path_exists(path))
			return true;
	}
	snprintf(why, len,
		 "the kernel has no kprobes (no kprobe PMU in /sys/bus/event_source/devices, "
		 "no kprobe_events in tracefs): CONFIG_KPROBES is not set");
	return false;
}

static bool fentry_precheck(char *why, size_t len)
{
	/* BTF is necessary but not sufficient: the load itself is the real test. */
	if (path_exists("/sys/kernel/btf/vmlinux"))
		return true;
	snprintf(why, len,
		 "the kernel has no BTF (/sys/kernel/btf/vmlinux): "
		 "CONFIG_DEBUG_INFO_BTF is not set");
	return false;
}

static bool tracepoint_precheck(char *why, size_t len)
{
	const char *root;
	char path[160];

	if (mpt_ensure_tracefs(why, len))
		return false;
	root = mpt_tracefs_root();
	if (!root) {
		snprintf(why, len, "tracefs is mounted but has no events directory");
		return false;
	}
	/* any syscall's tracepoint tells whether the kernel has them (CONFIG_FTRACE_SYSCALLS) */
	snprintf(path, sizeof(path), "%s/events/syscalls/sys_enter_move_pages", root);
	if (path_exists(path))
		return true;
	snprintf(why, len,
		 "no syscalls:sys_enter_move_pages tracepoint in %s/events: "
		 "CONFIG_FTRACE_SYSCALLS is not set",
		 root);
	return false;
}

bool mpt_attach_precheck(enum mpt_attach_mode mode, char *why, size_t len)
{
	switch (mode) {
	case MPT_ATTACH_KPROBE:
		return kprobe_precheck(why, len);
	case MPT_ATTACH_FENTRY:
		return fentry_precheck(why, len);
	case MPT_ATTACH_TRACEPOINT:
		return tracepoint_precheck(why, len);
	default:
		snprintf(why, len, "unknown attach mode");
		return false;
	}
}

/* Is @sym a function in /proc/kallsyms? */
static bool kernel_has_function(const char *sym)
{
	char line[256], name[200];
	bool found = false;
	FILE *f = fopen("/proc/kallsyms", "re");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "%*s %*s %199s", name) == 1 && !strcmp(name, sym);
	fclose(f);
	return found;
}

/* Is this process under a seccomp filter (which could fake a closed gate)? */
static bool seccomp_filtered(void)
{
	char line[128];
	int mode = -1;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return true;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Seccomp: %d", &mode) == 1)
			break;
	fclose(f);
	return mode != 0;
}

long mpt_ia32_call(long nr)
{
	long ret;

	asm volatile("int $0x80"
		     : "=a"(ret)
		     : "a"(nr), "b"(0), "c"(0), "d"(0), "S"(0), "D"(0)
		     : "memory", "r8", "r9", "r10", "r11");
	return ret;
}

/* int 0x80 faults (SIGSEGV) when the kernel runs with ia32 emulation off. */
static bool ia32_gate_probe(void)
{
	pid_t child = fork();
	int st;

	if (child < 0)
		return true;
	if (child == 0) {
		signal(SIGSEGV, SIG_DFL);
		_exit(mpt_ia32_call(20 /* getpid */) > 0 ? 0 : 1);
	}
	if (waitpid(child, &st, 0) != child)
		return true;
	return !(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV);
}

bool mpt_ia32_gate_open(void)
{
	static int open = -1;

	if (open < 0)
		open = ia32_gate_probe();
	return open;
}

/* x32 syscalls fail with ENOSYS when the kernel has no x32 ABI (or it is off). */
static bool x32_gate_open(void)
{
	return !(syscall(MPT_X32_SYSCALL_BIT | 39 /* getpid */) == -1 && errno == ENOSYS);
}

/*
 * Can any process here make a 32-bit syscall? A gate closed at boot
 * (ia32_emulation=0, no x32) cannot be opened without a reboot, so there is
 * nothing to watch, and tracepoint mode need not put raw hooks on every
 * syscall. Under seccomp our own probe proves nothing: then assume open.
 */
static bool compat_gates_open(char *why, size_t len)
{
	static int open = -1;

	if (open < 0)
		open = seccomp_filtered() || mpt_ia32_gate_open() || x32_gate_open();
	if (!open)
		snprintf(
		    why, len,
		    "none can be made: this kernel's 32-bit gates are closed (int 0x80 faults: "
		    "ia32 emulation is off; x32 syscalls return ENOSYS)");
	return open;
}

bool mpt_kernel_view_available(char *why, size_t len)
{
	char path[160];

	if (mpt_ensure_tracefs(why, len) || !mpt_tracefs_root())
		return false;
	snprintf(path, sizeof(path), "%s/events/migrate/remove_migration_pte", mpt_tracefs_root());
	if (path_exists(path))
		return true;
	snprintf(why, len, "no migrate:remove_migration_pte tracepoint (Linux 6.0+)");
	return false;
}

bool mpt_kernel_view_pmd_available(void)
{
	char path[160];

	if (!mpt_tracefs_root())
		return false;
	snprintf(path, sizeof(path), "%s/events/thp/remove_migration_pmd", mpt_tracefs_root());
	return path_exists(path);
}

bool mpt_compat_precheck(enum mpt_attach_mode mode, char *why, size_t len)
{
	return compat_gates_open(why, len) && mpt_compat_hookable(mode, why, len);
}

bool mpt_compat_hookable(enum mpt_attach_mode mode, char *why, size_t len)
{
	char fn[64];

	if (mode == MPT_ATTACH_TRACEPOINT)
		return true;
	/* every ia32 entry function comes with CONFIG_IA32_EMULATION: one stands for all */
	if (kernel_has_function(mpt_syscall_fn("move_pages", true, fn, sizeof(fn))))
		return true;
	snprintf(why, len,
		 "the kernel has no %s: no 32-bit syscall gate to watch (CONFIG_IA32_EMULATION "
		 "is not set)",
		 fn);
	return false;
}
