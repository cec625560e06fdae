#!/usr/bin/env python3
"""Fail CI on unexpected test skips (issue 8, item 17).

A test may skip only when a tool is genuinely missing on the machine (a cross compiler,
QEMU, clang's libFuzzer, the unix MicroPython, ...). Anything else that skips (a module
that does not compile, a test dependency that does not import, a family that is not
registered) hides a failure, so it fails CI here.

Usage (after pytest wrote a JUnit XML report; .ci/run does this):

    .venv/bin/python -m pytest -q -rs --junitxml=report.xml
    .venv/bin/python scripts/check_skips.py report.xml

Exit status 0 when every skip reason matches ALLOWED, 1 otherwise (the unexpected reasons
are listed), 2 when the report is missing or unreadable.
"""

from __future__ import annotations

import collections
import re
import sys
import xml.etree.ElementTree as ET

#: skip reasons that mean "a tool is missing on this machine" (regular expressions)
ALLOWED = (
    r"^tool missing: ",                      # tests/support/mp_unix.py and friends
    r"\bnot installed\b",                    # qemu-system-arm, clang, a cross compiler ...
    r"\bnot found on PATH\b",                # ToolNotFoundError of the native-module builds
    r"^\S+ not available$",                  # "gcc not available"
    r"^libFuzzer runtime missing",           # clang without its fuzzer runtime
    r"^no sanitizer runtime",                # compiler without ASan/UBSan runtimes
    r"^instruction counting unavailable",    # the QEMU icount plugin cannot be built
    r"^target '[^']+' is unavailable: ",     # microlearn.targets.unavailable_reason
    r"^MicroPython sources unavailable",     # offline: the MicroPython sdist cannot be fetched
    r"^cannot build for \w+: ",              # tests/test_micropython_build.py: tool missing
    r"^the unix MicroPython is not installed",
)


def skip_reasons(report: str) -> list[tuple[str, str]]:
    """(test id, reason) of every skipped test in a pytest JUnit XML report."""
    root = ET.parse(report).getroot()
    out = []
    for case in root.iter("testcase"):
        for sk in case.findall("skipped"):
            reason = (sk.get("message") or sk.text or "").strip()
            reason = re.sub(r"^Skipped: ", "", reason)
            out.append((f"{case.get('classname')}::{case.get('name')}", reason))
    return out


def unexpected(reasons: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The skips whose reason matches no ALLOWED pattern."""
    return [(t, r) for t, r in reasons if not any(re.search(p, r) for p in ALLOWED)]


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        reasons = skip_reasons(argv[1])
    except (OSError, ET.ParseError) as e:
        print(f"check_skips: cannot read the pytest report {argv[1]!r}: {e}", file=sys.stderr)
        return 2
    counts = collections.Counter(r for _, r in reasons)
    for reason, n in counts.most_common():
        print(f"check_skips: {n:4d} skipped: {reason[:200]}")
    bad = unexpected(reasons)
    if bad:
        print(f"check_skips: FAIL: {len(bad)} skip(s) with reasons that are not a missing "
              "tool (fix the cause, or if a tool is genuinely missing, add its reason to "
              "ALLOWED in scripts/check_skips.py):", file=sys.stderr)
        for test, reason in bad:
            print(f"  {test}: {reason[:300]}", file=sys.stderr)
        return 1
    print(f"check_skips: OK ({len(reasons)} skip(s), all for missing tools)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
