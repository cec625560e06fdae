"""benchmarks/RESULTS.md is written by several scripts, each owning one section."""

from __future__ import annotations

from pathlib import Path


def replace_section(path: Path, heading: str, text: str) -> None:
    """Replace (or append) the section of the markdown file ``path`` that starts with the
    line ``heading`` (a '## ' heading): from that line to the next '## ' heading (the
    section's own subheadings are '### ') or the end of the file, by ``text``; the rest of
    the file is kept as it is."""
    old = path.read_text() if path.exists() else ""
    lines = old.splitlines(keepends=True)
    starts = [i for i, ln in enumerate(lines) if ln.rstrip("\n") == heading]
    if not starts:
        path.write_text(old.rstrip("\n") + "\n\n" + text.rstrip("\n") + "\n")
        return
    i = starts[0]
    j = next((k for k in range(i + 1, len(lines)) if lines[k].startswith("## ")), len(lines))
    tail = "".join(lines[j:])
    path.write_text("".join(lines[:i]) + text.rstrip("\n") + "\n"
                    + ("\n" + tail if tail else ""))
