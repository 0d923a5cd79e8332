#!/usr/bin/env bash
# The bootstrap test: the README's bootstrap, tested with stand-ins. bazelw runs with a PATH
# that holds only stand-ins for dpkg-query, apt-get, sudo, id and bazel, plus the few real
# tools it needs, so the test sees exactly which commands a new machine would run: the
# apt-get command lines as root (no sudo: Debian's minimal images have none) and as a user
# with sudo, a clear refusal for a user without sudo, nothing installed when nothing is
# missing, and the arguments reaching bazel unchanged.
set -euo pipefail

bazelw="$(readlink -f "${TEST_SRCDIR:?}/${TEST_WORKSPACE:?}/bazelw")"
tmp="$(mktemp -d "${TEST_TMPDIR:-/tmp}/bazelw_test.XXXXXX")"
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# A copy of bazelw in a directory of its own: it cd's to its own directory before it runs
# bazel, and the bazel stand-in records where that is.
mkdir -p "$tmp/repo" "$tmp/stubs" "$tmp/bin"
cp "$bazelw" "$tmp/repo/bazelw"
log="$tmp/log"

# The real tools bazelw may use besides the stand-ins (and bash for the stand-ins).
for tool in bash env sort dirname cat printf mkdir rm; do
  if real="$(command -v "$tool")" && [[ "$real" == /* ]]; then ln -s "$real" "$tmp/bin/$tool"; fi
done

# dpkg-query -W -f=FORMAT PACKAGE...: every package is installed except those named in
# STUB_MISSING. For an installed one it prints FORMAT with ${Package} and
# ${db:Status-Abbrev} ("ii ") filled in; for a missing one, like the real command for a
# package it has never heard of, it prints an error and exits 1.
cat >"$tmp/stubs/dpkg-query" <<'STUB'
#!/usr/bin/env bash
format='${Package}\n'
packages=()
for arg in "$@"; do
  case "$arg" in
    -W|--show) ;;
    -f=*|--showformat=*) format="${arg#*=}" ;;
    -*) echo "dpkg-query stand-in: unexpected option $arg" >&2; exit 2 ;;
    *) packages+=("$arg") ;;
  esac
done
status=0
for p in "${packages[@]}"; do
  if [[ " ${STUB_MISSING:-} " == *" $p "* ]]; then
    echo "dpkg-query: no packages found matching $p" >&2
    status=1
    continue
  fi
  line="${format//'${Package}'/$p}"
  line="${line//'${db:Status-Abbrev}'/ii }"
  printf '%b' "$line"
done
exit "$status"
STUB

# id -u prints STUB_UID; with sudo (STUB_AS_ROOT) it prints 0.
cat >"$tmp/stubs/id" <<'STUB'
#!/usr/bin/env bash
[[ "$1" == "-u" ]] || { echo "id stand-in: unexpected arguments $*" >&2; exit 2; }
if [[ -n "${STUB_AS_ROOT:-}" ]]; then echo 0; else echo "${STUB_UID:?}"; fi
STUB

# sudo CMD...: records itself and runs CMD as "root".
cat >"$tmp/stubs/sudo" <<'STUB'
#!/usr/bin/env bash
echo "sudo $*" >>"${STUB_LOG:?}"
STUB_AS_ROOT=1 exec "$@"
STUB

# apt-get: records its arguments and DEBIAN_FRONTEND; refuses, as the real one does, to
# install unless it runs as root.
cat >"$tmp/stubs/apt-get" <<'STUB'
#!/usr/bin/env bash
uid="$(id -u)"
echo "apt-get $* [uid=$uid DEBIAN_FRONTEND=${DEBIAN_FRONTEND:-}]" >>"${STUB_LOG:?}"
if [[ "$uid" != 0 ]]; then
  echo "E: Could not open lock file /var/lib/dpkg/lock-frontend - open (13: Permission denied)" >&2
  exit 100
fi
STUB

# bazel: records its working directory and each argument on a line of its own.
cat >"$tmp/stubs/bazel" <<'STUB'
#!/usr/bin/env bash
{
  echo "bazel in $PWD"
  for arg in "$@"; do echo "arg <$arg>"; done
} >>"${STUB_LOG:?}"
STUB
chmod +x "$tmp"/stubs/*

# run_bazelw NAME UID MISSING [with-sudo|no-sudo] ARGS...: runs the copy of bazelw, keeps
# its exit status in $NAME.rc, its stderr in $NAME.err and the stand-ins' log in $NAME.log.
run_bazelw() {
  local name="$1" uid="$2" missing="$3" sudo="$4"
  shift 4
  rm -f "$log" "$tmp/bin/sudo"
  if [[ "$sudo" == with-sudo ]]; then ln -s "$tmp/stubs/sudo" "$tmp/bin/sudo"; fi
  # The stand-ins other than sudo come first; sudo is only there when $tmp/bin has it.
  mkdir -p "$tmp/path"
  for stub in dpkg-query id apt-get bazel; do ln -sf "$tmp/stubs/$stub" "$tmp/path/$stub"; done
  local rc=0
  env -i PATH="$tmp/path:$tmp/bin" HOME="$tmp" STUB_LOG="$log" STUB_UID="$uid" \
    STUB_MISSING="$missing" "$tmp/bin/bash" "$tmp/repo/bazelw" "$@" \
    >"$tmp/$name.out" 2>"$tmp/$name.err" || rc=$?
  echo "$rc" >"$tmp/$name.rc"
  touch "$log"
  cp "$log" "$tmp/$name.log"
}

expect_log() {  # expect_log NAME EXPECTED: the stand-ins' log is exactly EXPECTED
  local name="$1" expected="$2" actual
  actual="$(cat "$tmp/$name.log")"
  if [[ "$actual" != "$expected" ]]; then
    fail "$name: the commands run were
--- expected
$expected
--- actual
$actual
--- bazelw's stderr
$(cat "$tmp/$name.err")"
  fi
}
expect_rc() {  # expect_rc NAME RC
  local actual
  actual="$(cat "$tmp/$1.rc")"
  [[ "$actual" == "$2" ]] || fail "$1: exit status $actual, expected $2; stderr: $(cat "$tmp/$1.err")"
}
expect_err() {  # expect_err NAME TEXT: bazelw's stderr contains TEXT
  grep -qF -- "$2" "$tmp/$1.err" || fail "$1: stderr lacks '$2'; it was: $(cat "$tmp/$1.err")"
}

# The $HOME must reach bazel as written, not expanded.
# shellcheck disable=SC2016
args=(test //... "--test_arg=two words" '--define=x=$HOME' "")
bazel_lines="bazel in $tmp/repo
arg <test>
arg <//...>
arg <--test_arg=two words>
arg <--define=x=\$HOME>
arg <>"

# As root, without sudo on the machine: apt-get runs directly.
run_bazelw root 0 "wrk" no-sudo "${args[@]}"
expect_rc root 0
expect_err root "bazelw: installing wrk"
expect_log root "apt-get update -qq [uid=0 DEBIAN_FRONTEND=noninteractive]
apt-get install -y -qq --no-install-recommends wrk [uid=0 DEBIAN_FRONTEND=noninteractive]
$bazel_lines"

# As a user with sudo: apt-get runs through sudo.
run_bazelw user 1000 "wrk" with-sudo "${args[@]}"
expect_rc user 0
expect_err user "bazelw: installing wrk"
expect_log user "sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
apt-get update -qq [uid=0 DEBIAN_FRONTEND=noninteractive]
sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk
apt-get install -y -qq --no-install-recommends wrk [uid=0 DEBIAN_FRONTEND=noninteractive]
$bazel_lines"

# Two missing packages: one install of both, in a stable order.
run_bazelw two 0 "wrk g++" no-sudo build //:server
expect_rc two 0
expect_err two "bazelw: installing g++ wrk"
expect_log two "apt-get update -qq [uid=0 DEBIAN_FRONTEND=noninteractive]
apt-get install -y -qq --no-install-recommends g++ wrk [uid=0 DEBIAN_FRONTEND=noninteractive]
bazel in $tmp/repo
arg <build>
arg <//:server>"

# A user without sudo: a clear refusal naming the packages, nothing run.
run_bazelw nosudo 1000 "wrk" no-sudo "${args[@]}"
expect_rc nosudo 1
expect_err nosudo "wrk"
expect_err nosudo "sudo"
expect_log nosudo ""

# Nothing missing: nothing installed, nothing said, bazel runs.
for uid in 0 1000; do
  run_bazelw "complete$uid" "$uid" "" with-sudo "${args[@]}"
  expect_rc "complete$uid" 0
  expect_log "complete$uid" "$bazel_lines"
  [[ ! -s "$tmp/complete$uid.err" ]] || fail "complete$uid: bazelw printed: $(cat "$tmp/complete$uid.err")"
done

# bazel's exit status is bazelw's.
cat >"$tmp/stubs/bazel" <<'STUB'
#!/usr/bin/env bash
exit 3
STUB
run_bazelw status 0 "" no-sudo test //...
expect_rc status 3

if ((failures)); then
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "bazelw bootstrap: all checks passed"
