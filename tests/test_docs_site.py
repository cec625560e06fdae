"""The documentation site: `mkdocs build --strict` (warnings are errors: broken links and
anchors, pages missing from the nav, missing snippet files, docstring problems), then every
built page opened in headless Chromium: it renders (title, one h1, the theme's stylesheet
applied, images loaded, not a 404) and every internal link resolves to a built file and,
when it has a fragment, to an element with that id on the target page.

The browser is driven through chromedriver's WebDriver HTTP interface with the standard
library (one browser session for all pages); the site is served over HTTP on 127.0.0.1.
Debian packages: chromium, chromium-driver (scripts/setup.sh).
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    r = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                        str(out)], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stdout[-5000:] + r.stderr[-5000:]
    return out


@pytest.fixture(scope="module")
def server(site):
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # no request log in the test output
        pass


class WebDriver:
    """The few WebDriver commands the test needs, over chromedriver's HTTP interface."""

    def __init__(self, chromium: str, chromedriver: str):
        self.port = _free_port()
        self.proc = subprocess.Popen([chromedriver, f"--port={self.port}"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                if self._call("GET", "/status")["ready"]:
                    break
            except (OSError, urllib.error.URLError):
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.proc.kill()
                raise RuntimeError("chromedriver did not start")
            time.sleep(0.1)
        caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1280,900"]}}}}
        try:
            self.session = self._call("POST", "/session", caps)["sessionId"]
        except Exception:
            self.proc.kill()
            raise

    def _call(self, method: str, path: str, body: dict | None = None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return json.loads(resp.read())["value"]
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"WebDriver {method} {path}: {e.read()[:2000]!r}") from None

    def get(self, url: str) -> None:
        self._call("POST", f"/session/{self.session}/url", {"url": url})

    def run(self, script: str):
        return self._call("POST", f"/session/{self.session}/execute/sync",
                          {"script": script, "args": []})

    def close(self) -> None:
        try:
            self._call("DELETE", f"/session/{self.session}")
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture(scope="module")
def browser():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    chromedriver = shutil.which("chromedriver")
    if chromium is None or chromedriver is None:
        pytest.skip("chromium / chromium-driver not installed (Debian: chromium chromium-driver)")
    wd = WebDriver(chromium, chromedriver)
    yield wd
    wd.close()


# What a page reports once loaded: the document's state, title, headings, ids, links,
# images, and whether the theme's stylesheet is applied (Material's header is fixed or
# sticky only with its CSS).
_INSPECT = """
const header = document.querySelector('header.md-header');
return {
  ready: document.readyState,
  title: document.title,
  h1: Array.from(document.querySelectorAll('article h1')).map(h => h.textContent.trim()),
  ids: Array.from(document.querySelectorAll('[id]')).map(e => e.id),
  links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
  broken_images: Array.from(document.images)
      .filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src),
  header_position: header ? getComputedStyle(header).position : null,
  nav: Array.from(document.querySelectorAll('nav.md-nav--primary a[href]')).map(a => a.href),
};
"""


def _pages(site: Path) -> list[str]:
    """Site-relative paths of the built pages (not the theme's 404 page)."""
    return sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html")
                  if p.name != "404.html")


def _target_file(site: Path, path: str) -> Path:
    p = site / unquote(path).lstrip("/")
    return p / "index.html" if path.endswith("/") or p.is_dir() else p


def test_every_page_renders_and_links_resolve(site, server, browser):
    pages = _pages(site)
    assert "index.html" in pages and len(pages) >= 20, pages
    seen: dict[str, dict] = {}
    for rel in pages:
        browser.get(server + rel)
        info = browser.run(_INSPECT)
        assert info["ready"] == "complete", rel
        assert info["title"] and "404" not in info["title"], (rel, info["title"])
        assert len(info["h1"]) == 1 and info["h1"][0], (rel, info["h1"])
        assert info["title"].endswith("microlearn"), (rel, info["title"])   # the theme's
        assert info["header_position"] in ("fixed", "sticky"), (rel, "theme CSS not applied")
        assert not info["broken_images"], (rel, info["broken_images"])
        seen[rel] = info
    problems = []
    checked = anchors = 0
    for rel, info in seen.items():
        for href in info["links"]:
            if not href.startswith(server):
                continue                        # other sites: not checked (no network)
            url, frag = urldefrag(href)
            path = urlsplit(url).path
            target = _target_file(site, path)
            checked += 1
            anchors += bool(frag)
            if not target.is_file():
                problems.append(f"{rel}: {href} -> no file {target.relative_to(site)}")
                continue
            if frag:
                key = target.relative_to(site).as_posix()
                if key not in seen:
                    problems.append(f"{rel}: {href} -> anchor on a page that is not HTML")
                elif unquote(frag) not in seen[key]["ids"]:
                    problems.append(f"{rel}: {href} -> no element with id {frag!r}")
    assert not problems, "\n".join(problems)
    assert checked > 20 * len(seen) and anchors > 5 * len(seen), (checked, anchors)
    # every page of docs/ is reachable from the navigation of the home page
    nav = {_target_file(site, urlsplit(h).path).relative_to(site).as_posix()
           for h in seen["index.html"]["nav"] if h.startswith(server)}
    for md in DOCS.rglob("*.md"):
        rel = md.relative_to(DOCS).with_suffix("")
        built = "index.html" if rel.as_posix() == "index" else (
            f"{rel.parent.as_posix()}/index.html" if rel.name == "index"
            else f"{rel.as_posix()}/index.html").lstrip("./")
        assert built in nav, f"docs/{md.relative_to(DOCS)} is not in the site's navigation"


def test_family_pages_and_benchmarks_are_in_the_site(site):
    """New pages in docs/families/ appear without editing mkdocs.yml (scripts/mkdocs_hooks.py),
    and every benchmarks/RESULTS*.md is included (a snippet, not a copy)."""
    for md in (DOCS / "families").glob("*.md"):
        assert (site / "families" / md.stem / "index.html").is_file(), md.name
    includes = "".join(p.read_text() for p in (DOCS / "benchmarks").glob("*.md"))
    for res in sorted((ROOT / "benchmarks").glob("RESULTS*.md")):
        assert f'--8<-- "benchmarks/{res.name}"' in includes, f"{res.name} is not in the site"
        first = next(line for line in res.read_text().splitlines() if line.strip())
        html = "".join(p.read_text() for p in (site / "benchmarks").rglob("index.html"))
        assert first.lstrip("# ").split("`")[0].strip()[:30] in html, res.name


def test_micropython_board_table_covers_every_native_arch():
    from microlearn.targets import CORES

    text = (DOCS / "getting_started" / "micropython.md").read_text()
    for arch in {c.natmod_arch for c in CORES.values() if c.natmod_arch}:
        assert f"`{arch}`" in text, arch
