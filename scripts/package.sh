#!/usr/bin/env bash
# Build the .deb: build/mptrace_VERSION_ARCH.deb (the install rules of cmake/install.cmake).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh build
scripts/build.sh
build_dir=${MPTRACE_BUILD_DIR:-build}
# the units and the config name /usr/sbin and /etc: a package installs there
cmake -S . -B "$build_dir" -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
cmake --build "$build_dir" -j"$(nproc)"
cd "$build_dir"
rm -f mptrace_*.deb
cpack -G DEB >/dev/null
ls "$PWD"/mptrace_*.deb
