"""The wheel: built from a clean copy of the sources, its file list, and the installed package
working from outside the repository (a fresh venv, no network for the install itself).

The wheel is built with ``python -m build --wheel`` (an isolated build environment, as a user's
``pip install`` does: pip takes setuptools from its cache or the package index). The install
uses ``--no-deps --no-index``; the fresh venv sees this venv's site-packages (numpy,
scikit-learn) through a ``.pth`` line, which adds the directory but runs none of its ``.pth``
files, so the repository's editable install is not visible there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "microlearn"

def _shipped_sources() -> set[str]:
    """Paths (relative to the repository) that the wheel must hold: every Python module of
    the package and every file of the C runtime (headers, host/, micropython/, target/)."""
    out = set()
    for p in PKG.rglob("*"):
        if not p.is_file() or "__pycache__" in p.parts or p.suffix in (".pyc", ".so", ".o"):
            continue
        rel = p.relative_to(ROOT).as_posix()
        if p.suffix == ".py" or rel.startswith("microlearn/runtime/"):
            out.add(rel)
    return out


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Build the wheel from a copy of what the wheel is made of, so a stale ``build/`` or
    ``*.egg-info`` in the working tree cannot leak into it, and nothing is written there."""
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(PKG, src / "microlearn",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.so", "*.o"))
    out = tmp_path_factory.mktemp("dist")
    r = subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(src)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    wheels = list(out.glob("microlearn-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_wheel_file_list(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    files = {n for n in names if ".dist-info/" not in n}
    # the runtime headers, in the folders the package reads them from
    for sub in ("", "host/", "micropython/", "target/"):
        assert any(n.startswith(f"microlearn/runtime/{sub}") for n in files), sub
    for header in ("ml_common.h", "ml_model.h", "ml_blob.h", "ml_trees.h"):
        assert f"microlearn/runtime/{header}" in files
    missing = _shipped_sources() - files
    assert not missing, f"not in the wheel: {sorted(missing)}"
    # nothing test-only or generated
    for n in files:
        assert n.startswith("microlearn/"), n
        parts = n.split("/")
        assert not ({"tests", "benchmarks", "examples", "__pycache__", "docs"} & set(parts)), n
        assert not parts[-1].startswith(("test_", "conftest")), n
        assert not n.endswith((".pyc", ".so", ".o")), n
    meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(wheel).read(meta).decode()
    for extra in ("micropython", "xgboost", "lightgbm", "keras", "docs"):
        assert f"Provides-Extra: {extra}" in text, extra
    assert any(n.endswith(".dist-info/entry_points.txt") for n in names)


def test_twine_check(wheel):
    r = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", str(wheel)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


_SMOKE = textwrap.dedent("""
    import os, subprocess, sys
    from pathlib import Path
    import numpy as np
    from sklearn.datasets import load_iris
    from sklearn.tree import DecisionTreeClassifier
    import microlearn
    from microlearn import host_build

    prefix = Path(sys.prefix).resolve()
    pkg = Path(microlearn.__file__).resolve().parent
    assert prefix in pkg.parents, (prefix, pkg)            # the installed copy, not the repo
    assert host_build.RUNTIME_DIR.resolve() == pkg / "runtime", host_build.RUNTIME_DIR
    X, y = load_iris(return_X_y=True)
    est = DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y)
    m = microlearn.convert(est)
    assert (m.predict(X) == est.predict(X)).all()          # compiled from the installed headers
    h = m.save("model.h", name="iris")
    blob = m.save_blob("model.mlb")
    # firmware-style use of the installed runtime: ml_model.h from the package's runtime/
    Path("main.c").write_text('''
    #include <stdio.h>
    #include "model.h"
    #include "ml_model.h"
    int main(void) {
        static unsigned char buf[8192];
        FILE *f = fopen("model.mlb", "rb");
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        ml_model_t mm;
        if (ml_model_load(&mm, buf, n) != ML_OK) return 3;
        float x[4] = {6.0f, 2.9f, 4.5f, 1.5f}, scratch[64];
        printf("%d %d\\\\n", (int)iris_predict(x, iris_N_FEATURES),
               (int)ml_model_predict(&mm, x, scratch));
        return 0;
    }
    ''')
    cc = os.environ.get("CC", "cc").split()
    subprocess.run([*cc, "-std=c99", "-I.", f"-I{pkg / 'runtime'}", "main.c", "-o", "main",
                    "-lm"], check=True)
    out = subprocess.run(["./main"], check=True, capture_output=True, text=True).stdout.split()
    want = int(np.flatnonzero(est.classes_ == est.predict([[6.0, 2.9, 4.5, 1.5]])[0])[0])
    assert out == [str(want)] * 2, out
    print("ok", pkg)
""")


def test_installed_wheel_works_outside_the_repo(wheel, tmp_path):
    cc = os.environ.get("CC", "cc").split()[0]
    if shutil.which(cc) is None:
        pytest.skip(f"{cc} not available")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    py = env_dir / "bin" / "python"
    # numpy / scikit-learn from this venv, as a plain path (its .pth files are not run)
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "outer_site.pth").write_text(sysconfig.get_path("purelib") + "\n")
    r = subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q",
                        "--no-deps", "--no-index", str(wheel)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["MICROLEARN_CACHE_DIR"] = str(tmp_path / "cache")  # compile afresh from the wheel
    r = subprocess.run([str(py), "-c", _SMOKE], cwd=work, env=env, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith("ok"), r.stdout
    # the console script is installed and runs
    r = subprocess.run([str(env_dir / "bin" / "microlearn"), "--help"], cwd=work, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "convert" in r.stdout, r.stdout + r.stderr
