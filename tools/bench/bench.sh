#!/usr/bin/env bash
# Entry point of `./bazelw run //tools/bench -- --out=results/`: builds the optimized
# binaries with a nested ./bazelw (bazel run has released the Bazel server lock by the time
# this runs, and --config=opt here means the numbers never come from a fastbuild binary,
# whatever flags `bazel run` itself was given), then hands over to the Python driver.
# Arguments go to the driver (`--help` lists them).
set -euo pipefail

workspace="${BUILD_WORKSPACE_DIRECTORY:?run me with ./bazelw run //tools/bench}"
runfiles="${RUNFILES_DIR:-$0.runfiles}/ringside"

cd "$workspace"
./bazelw build --config=opt //:server //queue:mpsc_queue_benchmark >&2
bin="$(./bazelw info --config=opt bazel-bin 2>/dev/null)"

# Relative --out paths are relative to where the user typed the command.
cd "${BUILD_WORKING_DIRECTORY:-$workspace}"
# Debian's python3 is the one apt's python3-grpcio belongs to; a pyenv one may come first.
exec /usr/bin/python3 "$runfiles/tools/bench/main.py" \
  --server="$bin/services/server" \
  --queue_benchmark="$bin/queue/mpsc_queue_benchmark" \
  --admin_proto="$runfiles/services/admin/admin.proto" \
  "$@"
