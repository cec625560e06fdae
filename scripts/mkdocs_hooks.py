"""mkdocs hook (mkdocs.yml `hooks:`): every page in docs/families/ appears in the nav.

Pages listed under "Model families" keep their place; the others are appended in name
order, titled by their first heading, so a new family page needs no edit of mkdocs.yml.
"""

from __future__ import annotations

import re
from pathlib import Path

SECTION = "Model families"
FOLDER = "families"


def _listed(items: list) -> set[str]:
    out = set()
    for item in items:
        if isinstance(item, str):
            out.add(item)
        elif isinstance(item, dict):
            out.update(v for v in item.values() if isinstance(v, str))
    return out


def on_config(config, **kwargs):
    pages = sorted(p.name for p in (Path(config["docs_dir"]) / FOLDER).glob("*.md"))
    for entry in config["nav"] or []:
        if isinstance(entry, dict) and SECTION in entry:
            items = entry[SECTION]
            listed = _listed(items)
            items.extend(f"{FOLDER}/{n}" for n in pages if f"{FOLDER}/{n}" not in listed)
            return config
    raise ValueError(f"mkdocs.yml: the nav has no {SECTION!r} section for docs/{FOLDER}/")


# Sphinx cross-reference roles in docstrings (``:func:`convert```) have no meaning in
# Markdown: drop the role and keep the code.
_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|attr|data|mod|exc|obj|const):(?=<code)")


def on_page_content(html, **kwargs):
    return _ROLE.sub("", html)
