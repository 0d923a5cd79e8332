#!/usr/bin/env bash
# Builds and runs the consumer workspace (tests/consumer) the way a user of the libraries
# would: plain `bazel` in a workspace of its own, with an output base outside the
# repository. Then checks that a target using only the GID allocator depends on no system
# library but abseil (nothing else is probed). `.ci/run` runs it; alone, from anywhere:
#   tests/consumer/run.sh   [RINGSIDE_CONSUMER_OUTPUT_BASE=/some/dir]
set -euo pipefail
cd "$(dirname "$0")"
output_base="${RINGSIDE_CONSUMER_OUTPUT_BASE:-${TMPDIR:-/tmp}/ringside_consumer_output_base}"
# The examples' reactors register buffer rings, whose pages count against RLIMIT_MEMLOCK.
ulimit -l unlimited 2>/dev/null || ulimit -l "$(ulimit -H -l)" 2>/dev/null || true
bazel() { command bazel --output_base="$output_base" "$@"; }

# --symlink_prefix=/: no bazel-* links in the source tree (a stale one into another output
# base would be walked by //...).
bazel test --symlink_prefix=/ //...
bazel build --symlink_prefix=/ //:server

repositories="$(bazel query 'deps(//:gid_allocator_test)' 2>/dev/null |
  grep -o '^@ringside_[a-z_]*' | sort -u | tr '\n' ' ')"
if [[ "$repositories" != "@ringside_absl_status @ringside_absl_strings " ]]; then
  echo "run.sh: //:gid_allocator_test should need only abseil, needs: $repositories" >&2
  exit 1
fi
echo "run.sh: the GID allocator needs only $repositories"
