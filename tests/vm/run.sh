#!/usr/bin/env bash
# Boot a stock Debian kernel under qemu (TCG) and run mptrace's tests inside it.
#
#   tests/vm/run.sh KERNEL_META_PACKAGE BUILD_DIR [KERNEL_ARGS]
#
# The meta-package (e.g. linux-image-cloud-amd64) is resolved to the current
# versioned kernel package, fetched with apt-get download and cached under
# BUILD_DIR/vm-cache. The guest runs the same binaries the host tests ran,
# with their shared libraries, from a busybox initramfs; it has two NUMA nodes
# so that a migration really happens. Every boot is bounded by a timeout.
# KERNEL_ARGS are added to the kernel's command line (preempt=full: BPF
# programs are preempted mid-run, and the kernel skips hooks that recurse).
set -euo pipefail

meta=${1:?usage: run.sh KERNEL_META_PACKAGE BUILD_DIR}
build=$(cd "${2:?usage: run.sh KERNEL_META_PACKAGE BUILD_DIR}" && pwd)
kernel_args=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
boot_timeout=${MPTRACE_VM_TIMEOUT:-1500}
modes=(kprobe fentry tracepoint)
checks=(test_trace migration compat toctou kview kview-thp held slots migrate cli churn account)

fail() {
	echo "vm: $*" >&2
	exit 1
}

for tool in qemu-system-x86_64 busybox cpio apt-get dpkg-deb flock; do
	command -v "$tool" >/dev/null || fail "$tool is missing (scripts/deps.sh test installs it)"
done
busybox_bin=$(command -v busybox)
file -L "$busybox_bin" 2>/dev/null | grep -q "dynamically linked" &&
	fail "$busybox_bin is not static (install busybox-static)"

# -- the kernel ------------------------------------------------------------
resolve() {
	apt-cache depends "$meta" 2>/dev/null | awk '/Depends: linux-image-/ { print $2; exit }'
}
# The guests run side by side: one at a time through apt (its lists and downloads).
mkdir -p "$build/vm-cache"
exec 9>"$build/vm-cache/.apt.lock"
flock 9
pkg=$(resolve)
if [ -z "$pkg" ]; then
	apt-get update -qq >/dev/null
	pkg=$(resolve)
fi
[ -n "$pkg" ] || fail "cannot resolve $meta to a kernel package"
ver=$(apt-cache policy "$pkg" | awk '/Candidate:/ { print $2 }')
cache=$build/vm-cache/${pkg}_${ver}
if [ ! -s "$cache/vmlinuz" ]; then
	dl=$(mktemp -d)
	trap 'rm -rf "$dl"' EXIT
	(cd "$dl" && apt-get -q -o APT::Sandbox::User=root download "$pkg=$ver" >/dev/null) ||
		fail "apt-get download $pkg=$ver failed"
	deb=$(ls "$dl"/*.deb)
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dl" --wildcards './boot/vmlinuz-*'
	mkdir -p "$cache"
	mv "$dl"/boot/vmlinuz-* "$cache/vmlinuz"
	rm -rf "$dl"
	trap - EXIT
fi
flock -u 9
exec 9>&-
echo "vm: $meta -> $pkg $ver"

# -- the initramfs ---------------------------------------------------------
work=$build/vm-work/$pkg
rm -rf "$work"
mkdir -p "$work/root"/{bin,dev,proc,sys,tmp}
root=$work/root
cp "$busybox_bin" "$root/bin/busybox"
install -m 0755 "$here/init.sh" "$root/init"

# A binary with the loader and every library ldd names, at the same paths.
add_binary() {
	cp "$1" "$root/bin/"
	ldd "$1" | grep -o '/[^ ]*' | while read -r lib; do
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
}
add_binary "$build/mptrace"
add_binary "$build/tests/test_trace"
add_binary "$build/tests/test_verifier"
add_binary "$build/tests/test_context"
add_binary "$build/tests/mp_workload"
add_binary "$build/tests/mp_mempolicy"
add_binary "$build/tests/mp_lineage"
add_binary "$build/tests/test_churn"
add_binary "$build/bench/mp_bench"
(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1 >"$work/initrd.gz"

# -- the boot --------------------------------------------------------------
# A stock kernel under TCG on a busy 2-vCPU host now and then oopses while
# patching its own text at boot (6.12: "Oops: int3" in early scheduling),
# before /init runs. That says nothing about mptrace: boot once more, and say
# so. A failure once /init has started is never retried.
log=$work/serial.log
# The kernel's own console is the second port: its messages (a soft lockup, a task
# hung, an RCU stall, an oops) are kept whole in kernel.log, apart from the result
# lines /init writes to the first, at every level (ignore_loglevel), so that a
# lockup comes with its stacks. A soft lockup panics the guest (softlockup_panic),
# and so ends the boot at once: a hung guest no longer holds the run until the
# timeout, and is said below as a guest that died.
klog=$work/kernel.log
boot() {
	timeout --kill-after=10 "$boot_timeout" qemu-system-x86_64 \
		-accel tcg -cpu max -smp 2 -m 1024 \
		-object memory-backend-ram,id=m0,size=512M -object memory-backend-ram,id=m1,size=512M \
		-numa node,nodeid=0,cpus=0,memdev=m0 -numa node,nodeid=1,cpus=1,memdev=m1 \
		-kernel "$cache/vmlinuz" -initrd "$work/initrd.gz" \
		-append "console=ttyS1 panic=-1 oops=panic softlockup_panic=1 mitigations=off quiet ignore_loglevel $kernel_args" \
		-display none -monitor none -serial "file:$log" -serial "file:$klog" -nic none \
		-no-reboot
}
#
# The same kernel under TCG has also died mid-run, in a check that passed on
# every other boot (kernel.log says how): a guest that stops
# before MPT-DONE with no check reported FAIL boots once more, and says so.
# A check that FAILs is never retried, and a crash mptrace caused would
# come back on the second boot.
# What the kernel said last, for a guest that died or hung.
kernel_tail() {
	echo "vm: the kernel's console ($1), its last lines:" >&2
	tr -d '\r' <"$1" | tail -n 60 >&2
}

start=$(date +%s)
set +e
midrun_retried=0
for attempt in 1 2 3 4; do
	boot
	qemu_rc=$?
	if ! grep -q '^MPT-KERNEL' "$log"; then
		echo "vm: boot $attempt of $pkg died before /init (qemu exit $qemu_rc); its console:" >&2
		tr -d '\r' <"$klog" | grep -E 'Oops|panic|RIP:' | head -5 >&2
		continue
	fi
	if [ $midrun_retried -eq 0 ] && [ $qemu_rc -ne 124 ] && [ $qemu_rc -ne 137 ] &&
		! grep -q '^MPT-DONE' "$log" && ! grep -q '^MPT-RESULT .* FAIL' "$log"; then
		midrun_retried=1
		echo "vm: the $pkg guest died mid-run with no check failed (qemu exit $qemu_rc)," \
			"after: $(tr -d '\r' <"$log" | grep '^MPT-RESULT' | tail -1); booting once more" >&2
		cp "$log" "$work/serial-died.log"
		cp "$klog" "$work/kernel-died.log"
		kernel_tail "$work/kernel-died.log"
		continue
	fi
	break
done
set -e
elapsed=$(($(date +%s) - start))

# -- the verdict -----------------------------------------------------------
out=$work/serial.txt
tr -d '\r' <"$log" >"$out"
sed -n '/^MPT-PROBE-BEGIN/,/^MPT-PROBE-END/{/^MPT-PROBE/!p}' "$out"
grep '^MPT-KSYM' "$out" || true
kernel=$(awk '/^MPT-KERNEL/ { k = $2 } END { print k }' "$out")
nodes=$(awk '/^MPT-NODES/ { n = $2 } END { print n }' "$out")
echo "vm: kernel ${kernel:-?} nodes ${nodes:-?}, ${elapsed}s, qemu exit $qemu_rc"

# One line per kernel, check and mode, also kept in summary.txt for scripts/test.sh.
failed=0
summary=$work/summary.txt
: >"$summary"
# A check run in one mode (any: the mode the guest chose).
report() {
	local check=$1 mode=$2 r
	r=$(awk -v c="$check" -v m="$mode" '$1 == "MPT-RESULT" && $2 == c && ($3 == m || m == "any") { r = $4 } END { print r }' "$out")
	echo "vm: ${kernel:-$pkg} $check $mode ${r:-MISSING}" | tee -a "$summary"
	[ "$r" = PASS ] || failed=1
}
report tracefs-automount tracepoint
for mode in "${modes[@]}"; do
	for check in "${checks[@]}"; do
		report "$check" "$mode"
	done
done
case $pkg in
linux-image-6.1.*) for mode in "${modes[@]}"; do report held-exec "$mode"; done ;;
esac
report context any
report test_verifier all

if [ $qemu_rc -eq 124 ] || [ $qemu_rc -eq 137 ]; then
	echo "vm: the guest did not finish within ${boot_timeout}s" >&2
	failed=1
fi
if ! grep -q '^MPT-DONE' "$out"; then
	failed=1
fi
if [ $failed -ne 0 ]; then
	echo "vm: FAIL; the serial log's tail ($out):" >&2
	tail -n 80 "$out" >&2
	kernel_tail "$klog"
	exit 1
fi
echo "vm: PASS ($pkg $ver)"
