#!/usr/bin/python3
"""Every relative link in README.md and docs/ resolves inside the repository.

A link is a Markdown `[text](target)` or `![alt](target)`; targets with a scheme
(https:, mailto:) and pure #anchors are skipped. A relative target must name a file or
directory that exists, and must not leave the repository (README.md once linked
../shared/DESIGN.md, which a clone does not have). An #anchor on a Markdown file must match
one of its headings, as GitHub makes them.
"""

import os
import re
import sys
import unittest

RUNFILES = os.path.join(os.environ["TEST_SRCDIR"], os.environ["TEST_WORKSPACE"])
# The runfiles are symlinks into the source tree: follow one back to the repository.
ROOT = os.path.dirname(os.path.realpath(os.path.join(RUNFILES, "README.md")))

LINK = re.compile(r"!?\[[^\]]*\]\(\s*(?:<([^>]+)>|([^)\s]+))(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^\s*(```|~~~)")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def documents():
    yield os.path.join(ROOT, "README.md")
    for directory, _, files in os.walk(os.path.join(ROOT, "docs")):
        for name in sorted(files):
            if name.endswith(".md"):
                yield os.path.join(directory, name)


def links_of(text):
    """(line number, target) of every link outside code blocks and code spans."""
    in_fence = False
    for number, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        for match in LINK.finditer(re.sub(r"`[^`]*`", "", line)):
            yield number, match.group(1) or match.group(2)


def links(path):
    with open(path, encoding="utf-8") as f:
        yield from links_of(f.read())


def anchors(path):
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    found = set()
    in_fence = False
    with open(path, encoding="utf-8") as f:
        for line in f:
            if FENCE.match(line):
                in_fence = not in_fence
            elif not in_fence and line.startswith("#"):
                title = line.lstrip("#").strip().lower()
                found.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return found


class DocLinksTest(unittest.TestCase):

    def test_relative_links_resolve_inside_the_repository(self):
        checked = 0
        problems = []
        for document in documents():
            where = os.path.relpath(document, ROOT)
            for number, target in links(document):
                if SCHEME.match(target) or target.startswith("#"):
                    continue
                checked += 1
                path, _, anchor = target.partition("#")
                resolved = os.path.realpath(os.path.join(os.path.dirname(document), path))
                if os.path.commonpath([resolved, ROOT]) != ROOT:
                    problems.append(f"{where}:{number}: {target} leaves the repository")
                elif not os.path.exists(resolved):
                    problems.append(f"{where}:{number}: {target} does not exist")
                elif anchor and resolved.endswith(".md") and anchor not in anchors(resolved):
                    problems.append(f"{where}:{number}: {target}: no heading #{anchor}")
        self.assertEqual(problems, [], "\n".join(problems))
        self.assertGreater(checked, 0, "no relative links found: is the parser broken?")

    def test_the_parser_sees_links_and_skips_code(self):
        self.assertEqual(
            [target for _, target in links_of('[a](b.md) ![c](d/e.png "t") [f](<g h>) `[i](j)`')],
            ["b.md", "d/e.png", "g h"])


if __name__ == "__main__":
    sys.exit(unittest.main())
