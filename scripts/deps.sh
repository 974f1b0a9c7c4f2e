#!/usr/bin/env bash
# Install the Debian 12 packages mptrace needs, only those that are missing.
#   scripts/deps.sh build   what building and running mptrace needs
#   scripts/deps.sh test    that, plus what the test suite needs (its benchmark smoke run too)
#   scripts/deps.sh bench   what building and running the benchmarks needs
set -euo pipefail

build_pkgs=(clang libbpf-dev bpftool libelf-dev zlib1g-dev libjansson-dev libssl-dev libinih-dev
	libsystemd-dev libcap-dev libnats-dev libmicrohttpd-dev libzstd-dev cmake make gcc pkg-config help2man dpkg-dev)
test_pkgs=(libcmocka-dev libclang-rt-14-dev clang-format python3 python3-jsonschema
	qemu-system-x86 busybox-static cpio systemd nats-server openssl chromium python3-pil
	podman runc containerd prometheus bash-completion)

bench_pkgs=(bpftrace python3 util-linux)

case "${1:-build}" in
build) pkgs=("${build_pkgs[@]}") ;;
bench) pkgs=("${build_pkgs[@]}" "${bench_pkgs[@]}") ;;
test) pkgs=("${build_pkgs[@]}" "${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
*)
	echo "usage: $0 build|test|bench" >&2
	exit 2
	;;
esac

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "mptrace: installing ${missing[*]} needs root" >&2
	exit 1
fi
echo "mptrace: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
