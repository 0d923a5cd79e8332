#!/usr/bin/env bash
# run_fuzzers.sh [SECONDS] [TARGET...]: builds the libFuzzer targets under --config=fuzz
# and runs each for SECONDS (default 60), one after the other (each fuzzer uses one core).
#
# Without TARGETs it runs every target tagged fuzz_target (see fuzz.bzl). Each run starts
# from the committed corpus, which it only reads: new inputs, crash reproducers and the log
# go to a work directory (FUZZ_WORK_DIR, default a new temporary one) so that they can be
# merged into the corpus by hand (`FUZZER -merge=1 NEW_CORPUS OLD_CORPUS WORK/x/new`).
# Exits non-zero, naming the reproducer, if a target crashes, leaks, times out or runs out
# of memory.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-60}"
shift || true
targets=("$@")
if ((${#targets[@]} == 0)); then
  mapfile -t targets < <(./bazelw query --noshow_progress 'attr(tags, fuzz_target, //...)' 2>/dev/null)
fi
work="${FUZZ_WORK_DIR:-$(mktemp -d)}"
mkdir -p "$work"
# The log only on failure: gold warns about each local symbol of clang's ASan runtime.
if ! ./bazelw build --config=fuzz "${targets[@]}" >"$work/build.log" 2>&1; then
  grep -v 'ld.gold: warning' "$work/build.log" | tail -40 >&2
  exit 1
fi
bin="$(./bazelw info --config=fuzz bazel-bin 2>/dev/null)"

status=0
for target in "${targets[@]}"; do
  pkg="${target#//}"
  pkg="${pkg%%:*}"
  name="${target##*:}"
  base="${name%_fuzzer}"
  out="$work/$name"
  mkdir -p "$out/new"
  flags=(-max_total_time="$seconds" -timeout=10 -print_final_stats=1 -artifact_prefix="$out/")
  if [[ -f "$pkg/$base.dict" ]]; then flags+=(-dict="$pkg/$base.dict"); fi
  if "$bin/$pkg/$name" "${flags[@]}" "$out/new" "$pkg/${base}_corpus" >"$out/log" 2>&1; then
    echo "fuzz $name: ok: $(grep -E '^#[0-9]+[[:space:]]+DONE' "$out/log" | tail -1)"
    grep -E '^stat::(number_of_executed_units|peak_rss_mb)' "$out/log" | sed 's/^/  /'
  else
    status=1
    echo "fuzz $name: FAILED; reproducer and log in $out" >&2
    grep -v -E '^#[0-9]+[[:space:]]' "$out/log" | tail -40 >&2
  fi
done
exit "$status"
