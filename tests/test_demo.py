"""The browser demo (docs/demo/, scripts/build_demo.py) in headless Chromium: the page's
predictions, computed by the generated C compiled to WebAssembly, equal the host's
(``Model.predict`` / ``predict_proba``, bit for bit) on held-out rows and adversarial ones
uploaded as a CSV through the file input; a digit drawn with the pointer is downsampled
to 8x8 counts like scikit-learn's digits and classified as the host classifies those
features; the footprint table is the model's footprint; bad CSV cells are reported.

The page is the body of docs/demo/index.md rendered by Markdown (the site's theme around
it is checked by tests/test_docs_site.py), served with the files build_demo.py writes.
The footprints the build measures are cached, so the site build reuses them.
"""

from __future__ import annotations

import functools
import http.server
import json
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from test_docs_site import _QuietHandler, browser  # noqa: F401  (the browser fixture)

import microlearn

# the held-out rows are arrays; the iris model was fitted on a DataFrame
pytestmark = pytest.mark.filterwarnings("ignore:X does not have valid feature names")
ROOT = Path(__file__).resolve().parent.parent
W3C_ELEMENT = "element-6066-11e4-a52e-4f735466cecf"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import build_demo
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    out = tmp_path_factory.mktemp("demo")
    models = build_demo.train_models()
    manifest = build_demo.build(out, models=models, log=lambda *a: None)
    import markdown

    body = markdown.markdown((ROOT / "docs" / "demo" / "index.md").read_text(),
                             extensions=["attr_list", "tables"])
    (out / "index.html").write_text("<!doctype html><html><head><meta charset='utf-8'>"
                                    f"<title>demo</title></head><body>{body}</body></html>")
    handler = functools.partial(_QuietHandler, directory=str(out))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield {"dir": out, "url": f"http://127.0.0.1:{httpd.server_address[1]}/index.html",
           "manifest": manifest, "models": {m.id: m for m in models}}
    httpd.shutdown()
    httpd.server_close()


def _wait(browser, script: str, timeout: float = 30.0):  # noqa: F811
    deadline = time.monotonic() + timeout
    while True:
        value = browser.run(script)
        if value:
            return value
        if time.monotonic() > deadline:
            status = browser.run("return document.getElementById('demo-status').textContent")
            raise AssertionError(f"timed out waiting for {script!r}; page status: {status!r}")
        time.sleep(0.05)


def _element(browser, css: str) -> dict:  # noqa: F811
    el = browser._call("POST", f"/session/{browser.session}/element",
                       {"using": "css selector", "value": css})
    assert isinstance(el, dict) and W3C_ELEMENT in el, (css, el)
    return el


def _select(browser, demo, model_id: str) -> None:  # noqa: F811
    # the page has loaded models.json and its first model
    _wait(browser, "return document.getElementById('demo-model').options.length > 0 && "
                   "(document.body.dataset.demoReady || '0') !== '0'")
    browser.run(f"const s = document.getElementById('demo-model'); s.value = '{model_id}';"
                "s.dispatchEvent(new Event('change'));")
    _wait(browser, f"return document.body.dataset.demoReady === '{model_id}'")


def _upload(browser, path: Path) -> None:  # noqa: F811
    el = _element(browser, "#demo-csv")
    browser.run("delete document.getElementById('demo-results').dataset.done;"
                "document.getElementById('demo-status').textContent = '';")
    browser._call("POST", f"/session/{browser.session}/element/{el[W3C_ELEMENT]}/value",
                  {"text": str(path)})


def _rows_for(model_id: str, X_test: np.ndarray, n_features: int) -> np.ndarray:
    """Held-out rows, then adversarial ones: zeros, extremes, out-of-range and
    non-integer values, huge magnitudes, NaN and infinities (float32)."""
    rng = np.random.default_rng(0)
    real = np.asarray(X_test[:60], dtype=np.float32)
    hi = float(np.max(X_test))
    adversarial = [np.zeros(n_features), np.full(n_features, hi),
                   rng.uniform(-hi, 2 * hi, n_features), rng.normal(0, 1e4, n_features),
                   np.full(n_features, -1e30), np.full(n_features, 3e38),
                   rng.uniform(0, hi, n_features)]
    nan_row = rng.uniform(0, hi, n_features)
    nan_row[::3] = np.nan
    inf_row = rng.uniform(0, hi, n_features)
    inf_row[::2] = np.inf
    inf_row[1::4] = -np.inf
    if model_id.startswith(("digits_forest", "iris_forest")):   # trees route NaN/inf
        adversarial += [nan_row, inf_row]
    # values just around the real rows (thresholds lie between data values)
    near = real[:10] + np.float32(0.5) * rng.choice([-1, 1], size=real[:10].shape)
    return np.vstack([real, np.asarray(adversarial, dtype=np.float32), near]).astype(np.float32)


def _csv(rows: np.ndarray, header: list[str] | None) -> str:
    def cell(v: np.float32) -> str:
        return "nan" if np.isnan(v) else repr(float(v))      # exact float32 round trip
    lines = [",".join(header)] if header else []
    lines += [",".join(cell(v) for v in row) for row in rows]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("model_id", ["digits_forest", "digits_logistic", "digits_mlp",
                                      "iris_forest"])
def test_csv_predictions_equal_the_host(browser, demo, model_id, tmp_path):  # noqa: F811
    browser.get(demo["url"])
    _select(browser, demo, model_id)
    dm = demo["models"][model_id]
    model = microlearn.convert(dm.estimator)
    rows = _rows_for(model_id, dm.X_test, model.n_features)
    names = list(model.signature.feature_names or [])
    path = tmp_path / f"{model_id}.csv"
    path.write_text(_csv(rows, names or None))
    _upload(browser, path)
    n = int(_wait(browser, "return document.getElementById('demo-results').dataset.done"))
    assert n == len(rows)
    got = browser.run("return Array.from(document.querySelectorAll('#demo-results tbody tr'))"
                      ".map(tr => [tr.dataset.label, tr.dataset.proba])")
    host_labels = [str(v) for v in model.predict(rows)]
    assert [g[0] for g in got] == host_labels
    n_real = min(60, len(dm.X_test))
    if model.exact_predict:             # and the host build is the Python model's
        assert host_labels[:n_real] == [str(v) for v in dm.estimator.predict(rows[:n_real])]
    proba = np.array([[np.nan if v is None else v for v in json.loads(g[1])] for g in got],
                     dtype=np.float64).astype(np.float32)
    host = model.predict_proba(rows)
    assert proba.shape == host.shape
    np.testing.assert_array_equal(proba, host)          # bit for bit (NaN where NaN)


def test_drawn_digit_is_downsampled_and_classified_as_on_the_host(browser, demo):  # noqa: F811
    browser.get(demo["url"])
    _select(browser, demo, "digits_forest")
    model = microlearn.convert(demo["models"]["digits_forest"].estimator)
    pad = _element(browser, "#demo-pad")
    origin = {W3C_ELEMENT: pad[W3C_ELEMENT]}
    strokes = {
        "vertical": [(0, -80), (0, -40), (0, 0), (0, 40), (0, 80)],
        "ring": [(int(60 * np.sin(a)), int(-80 * np.cos(a)))
                 for a in np.linspace(0, 2 * np.pi, 25)],
    }
    for name, points in strokes.items():
        browser.run("document.getElementById('demo-clear').click()")
        moves = [{"type": "pointerMove", "duration": 0, "origin": origin, "x": points[0][0],
                  "y": points[0][1]}, {"type": "pointerDown", "button": 0}]
        moves += [{"type": "pointerMove", "duration": 10, "origin": origin, "x": x, "y": y}
                  for x, y in points[1:]]
        moves.append({"type": "pointerUp", "button": 0})
        browser._call("POST", f"/session/{browser.session}/actions", {"actions": [
            {"type": "pointer", "id": "pen", "parameters": {"pointerType": "mouse"},
             "actions": moves}]})
        shown = _wait(browser, "const r = document.getElementById('demo-draw-result');"
                               "return r.dataset.label && r.dataset.features ? "
                               "[r.dataset.label, r.dataset.features, r.dataset.proba] : null")
        features = np.array(json.loads(shown[1]), dtype=np.float32)
        grid = features.reshape(8, 8)
        assert features.shape == (64,) and np.all((grid >= 0) & (grid <= 16))
        assert np.all(grid == np.round(grid)) and grid.sum() > 16, grid
        if name == "vertical":      # a centred bar over the full height, as in the data set
            assert np.all(grid.sum(axis=1) > 0), grid
            assert grid[:, :2].sum() == 0 and grid[:, 6:].sum() == 0, grid
        else:                       # a ring: ink on the left and right, none in the middle
            assert grid[:, :3].sum() > 0 and grid[:, 5:].sum() > 0, grid
            assert grid[3:5, 3:5].sum() < grid.sum() / 8, grid
        assert shown[0] == str(model.predict(features[None])[0])
        np.testing.assert_array_equal(np.array(json.loads(shown[2]), dtype=np.float32),
                                      model.predict_proba(features[None])[0])


def test_footprint_table_and_csv_errors(browser, demo, tmp_path):  # noqa: F811
    browser.get(demo["url"])
    entry = next(m for m in demo["manifest"]["models"] if m["id"] == "iris_forest")
    _select(browser, demo, "iris_forest")
    table = browser.run("return Array.from(document.querySelectorAll('#demo-footprint tbody "
                        "tr')).map(tr => Array.from(tr.cells).map(c => c.textContent))")
    assert [r[0] for r in table] == [f["target"] for f in entry["footprint"]]
    dm = demo["models"]["iris_forest"]
    model = microlearn.convert(dm.estimator)
    X = np.asarray(dm.X_test[:100], dtype=np.float32)
    for row, f in zip(table, entry["footprint"], strict=True):
        if f["fails"]:
            assert row[1] == "-" and row[5] == "does not fit / build"
            continue
        assert row[1] == f"{f['flash_bytes']:,}" and row[4] == f"{round(f['instructions']):,}"
    t = "cortex-m4f"
    ref = model.footprint(t, X)
    f = next(f for f in entry["footprint"] if f["target"] == t)
    assert (f["flash_bytes"], f["instructions"], f["estimated"]) == (
        ref.flash_bytes, ref.instructions, ref.estimated)
    # a bad cell: an error naming it, no rows
    bad = tmp_path / "bad.csv"
    bad.write_text("5.1,3.5,1.4,0.2\n4.9,3.0,abc,0.2\n")
    _upload(browser, bad)
    status = _wait(browser, "const s = document.getElementById('demo-status');"
                            "return s.dataset.error === '1' ? s.textContent : null")
    assert 'line 2, column 3: "abc" is not a number' in status
    assert browser.run("return document.querySelectorAll('#demo-results tbody tr').length") == 0
    short = tmp_path / "short.csv"
    short.write_text("5.1,3.5,1.4\n")
    _upload(browser, short)
    status = _wait(browser, "const s = document.getElementById('demo-status');"
                            "return s.dataset.error === '1' && s.textContent.includes('short')"
                            " ? s.textContent : null")
    assert "3 values, the model takes 4 features" in status
