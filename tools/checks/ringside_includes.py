#!/usr/bin/python3
"""Every ringside header is included as "ringside/<package>/<file>.h".

A consumer workspace has packages of its own; an unprefixed `#include "queue/mpsc_queue.h"`
inside ringside would pick up the consumer's queue/ instead. So every cc_library with
headers carries `include_prefix = "ringside/<its package>"` and every include of a ringside header names
that prefix. (Bazel 4.2.3 makes a header <package>/x.h reachable as <include_prefix>/x.h,
so the prefix of a library in package p is "ringside/p".)

  tools/checks/ringside_includes.py          rewrite the tree in place (idempotent)
  tools/checks/ringside_includes.py --check  list what the rewrite would change; exit 1 if any

The rewrite touches C/C++ sources and headers, Markdown (code examples) and BUILD files
(gives every cc_library that has `hdrs` the include_prefix of its package). A ringside package is a top-level directory holding a BUILD file;
paths in .bazelignore (other workspaces, such as tests/consumer) are skipped.
"""

import argparse
import os
import re
import sys

PREFIX = "ringside"
SOURCE_SUFFIXES = (".h", ".cc", ".cpp", ".inc", ".md")
BUILD_NAMES = ("BUILD", "BUILD.bazel")
SKIP_DIRS = {".git", "__pycache__"}


def ignored_paths(root):
    """Directories (relative to root) that are not part of this workspace."""
    try:
        with open(os.path.join(root, ".bazelignore"), encoding="utf-8") as f:
            return {line.strip().rstrip("/") for line in f if line.strip() and not line.startswith("#")}
    except FileNotFoundError:
        return set()


def walk(root):
    """Relative paths of the workspace's files, without bazel-* links and ignored trees."""
    ignored = ignored_paths(root)
    for directory, dirs, files in os.walk(root):
        relative_dir = os.path.relpath(directory, root)
        dirs[:] = sorted(
            d for d in dirs
            if d not in SKIP_DIRS and not d.startswith("bazel-")
            and os.path.normpath(os.path.join(relative_dir, d)) not in ignored)
        for name in sorted(files):
            yield os.path.normpath(os.path.join(relative_dir, name))


def packages(root):
    """Top-level directories that hold a BUILD file somewhere below them."""
    found = set()
    for path in walk(root):
        parts = path.split(os.sep)
        if len(parts) > 1 and parts[-1] in BUILD_NAMES:
            found.add(parts[0])
    return found


def include_pattern(package_names):
    names = "|".join(sorted(re.escape(p) for p in package_names))
    return re.compile(r'(#\s*include\s+")((?:%s)/[^"]+)(")' % names)


def is_ringside_header(root, path):
    """A file of the tree, or a header generated from one of its .proto files."""
    if os.path.isfile(os.path.join(root, path)):
        return True
    for generated in (".grpc.pb.h", ".pb.h"):
        if path.endswith(generated):
            return os.path.isfile(os.path.join(root, path[:-len(generated)] + ".proto"))
    return False


def rewrite_source(text, pattern, root):
    """Prefixes includes of ringside headers; others (tools/cpp/runfiles/...) stay."""

    def fix(match):
        if not is_ringside_header(root, match.group(2)):
            return match.group(0)
        return match.group(1) + PREFIX + "/" + match.group(2) + match.group(3)

    return pattern.sub(fix, text)


CC_LIBRARY = re.compile(r"^(?P<indent>[ \t]*)cc_library\(\n(?P<body>.*?)^(?P=indent)\)", re.M | re.S)


def rewrite_build(text, package):
    """Gives every cc_library with hdrs the include_prefix of its package."""
    wanted = 'include_prefix = "%s/%s",' % (PREFIX, package)

    def fix(match):
        indent, body = match.group("indent"), match.group("body")
        if not re.search(r"^\s*hdrs\s*=", body, re.M):
            return match.group(0)
        existing = re.search(r"^(?P<indent>\s*)include_prefix\s*=.*,$", body, re.M)
        if existing:
            body = body[:existing.start()] + existing.group("indent") + wanted + body[existing.end():]
        else:
            name = re.search(r"^(?P<indent>\s*)name\s*=.*\n", body, re.M)
            if not name:
                return match.group(0)
            body = body[:name.end()] + name.group("indent") + wanted + "\n" + body[name.end():]
        return "%scc_library(\n%s%s)" % (indent, body, indent)

    return CC_LIBRARY.sub(fix, text)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a file would change")
    parser.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.realpath(__file__)))), help="repository root (default: this script's)")
    args = parser.parse_args()

    pattern = include_pattern(packages(args.root))
    changed = []
    for path in walk(args.root):
        name = os.path.basename(path)
        if name in BUILD_NAMES:
            package = os.path.dirname(path)
            rewrite = lambda text: rewrite_build(text, package)
        elif name.endswith(SOURCE_SUFFIXES):
            rewrite = lambda text: rewrite_source(text, pattern, args.root)
        else:
            continue
        full = os.path.join(args.root, path)
        with open(full, encoding="utf-8") as f:
            text = f.read()
        new_text = rewrite(text)
        if new_text == text:
            continue
        changed.append(path)
        if not args.check:
            with open(full, "w", encoding="utf-8") as f:
                f.write(new_text)

    if args.check:
        for path in changed:
            print("%s: a ringside include without the %s/ prefix, or a cc_library with hdrs "
                  "and no include_prefix" % (path, PREFIX))
        if changed:
            print("fix: tools/checks/ringside_includes.py", file=sys.stderr)
        return 1 if changed else 0
    print("rewrote %d files" % len(changed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
