#!/bin/sh
# Every C source and header of the project in the kernel style of .clang-format
# (clang-format 14, Debian 12's). Lists the files that are not, and fails.
#   scripts/check-format.sh [SOURCE_DIR]
set -eu
cd "${1:-$(dirname "$0")/..}"
command -v clang-format >/dev/null || { echo "check-format: clang-format is not installed (scripts/deps.sh test installs it)"; exit 1; }
files=$(find user bpf include events tests bench -name '*.[ch]' ! -name vmlinux.h | sort)
# one run for all; file by file only to name the ones that fail
if clang-format --dry-run --Werror $files >/dev/null 2>&1; then
	echo "check-format: $(echo "$files" | wc -l) files formatted"
	exit 0
fi
echo "check-format: not formatted (clang-format -i them):"
for f in $files; do
	clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || echo "$f"
done
exit 1
