#!/usr/bin/env bash
# The shellcheck test: shellcheck over every shell script of the repository — every file git
# tracks that ends in .sh or starts with a sh/bash shebang — so a script nobody listed is
# checked too. Findings fail the test; a deliberate exception is a `# shellcheck
# disable=SCxxxx` comment with its reason beside the line.
set -euo pipefail

# The runfiles are symlinks into the source tree: follow one back to the repository.
root="$(dirname "$(readlink -f "${TEST_SRCDIR:?}/${TEST_WORKSPACE:?}/bazelw")")"
cd "$root"
command -v shellcheck >/dev/null || { echo "shellcheck is not installed (./bazelw installs it)" >&2; exit 1; }

scripts=()
while IFS= read -r -d '' file; do
  [[ -f "$file" ]] || continue
  if [[ "$file" == *.sh ]] || head -n1 "$file" | grep -qE '^#!.*[/ ](ba)?sh([[:space:]]|$)'; then
    scripts+=("$file")
  fi
done < <(git -C "$root" ls-files -z --cached --others --exclude-standard 2>/dev/null || find . -path ./.git -prune -o -path './bazel-*' -prune -o -type f -print0)

((${#scripts[@]} >= 5)) || { echo "found only ${#scripts[@]} scripts in $root: ${scripts[*]}" >&2; exit 1; }
echo "shellcheck over ${#scripts[@]} scripts: ${scripts[*]}"
shellcheck --external-sources "${scripts[@]}"
