"""Issue 8 item 11: fuzz the MicroPython module (native x64 .mpy and the pure-Python
fallback) in the unix port with a small heap.

Real model files are mutated (bit flips, interesting values over header fields and tables,
truncation, splices), the size and CRC-32 fields fixed up (so most mutations reach the
structural checks), and each file is loaded from ``bytes`` (read in place) and from a
``bytearray`` that is then overwritten after the load. Every file must give a clean
ValueError / MemoryError or results, never a crash or a hang; a file the native module and
the fallback both accept must give the same answers.

Bounded for CI (300 files per module, well under a minute); ``MICROLEARN_FUZZ_LONG=1``
runs 5,000 (``MICROLEARN_FUZZ_FILES=<n>`` any number).
"""

from __future__ import annotations

import os
import struct
import zlib

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.ensemble import ExtraTreesRegressor, RandomForestClassifier
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from support import mp_unix

import microlearn
from microlearn import blob

LONG = os.environ.get("MICROLEARN_FUZZ_LONG") == "1"
N_FILES = int(os.environ.get("MICROLEARN_FUZZ_FILES", 5000 if LONG else 300))
HEAP = 64 * 1024

SCRIPT = """
import array, gc, random, microlearn_mp as ml
random.seed(7)
PROBES = (0.0, 1e30, -1e30, float("nan"), 0.5)


def run(m):
    nf, no = m.n_features(), m.n_outputs()
    if nf > 4096 or no > 4096:
        return "big"
    out = array.array("f", bytes(4 * no))
    res = []
    for v in PROBES:
        x = array.array("f", [v] * nf)
        if m.is_classifier():
            res.append(str(m.predict(x)))
            m.predict_proba(x, out)
        else:
            m.regress(x, out)
        res.append(",".join(str(o) for o in out))
    return ";".join(res)


def attempt(fn):
    try:
        return fn()
    except ValueError:
        return "ValueError"
    except MemoryError:
        return "MemoryError"
    except TypeError:
        return "TypeError"


manifest = open("manifest.txt")
while True:
    name = manifest.readline().strip()
    if not name:
        break
    print("START", name)
    gc.collect()
    f = open(name, "rb"); data = f.read(); f.close()
    r1 = attempt(lambda: run(ml.load(data)))             # bytes: read in place
    buf = bytearray(data)
    r2 = r3 = "-"
    try:
        m = ml.load(buf)
    except (ValueError, MemoryError) as e:
        r2 = type(e).__name__
        m = None
    if m is not None:
        r2 = attempt(lambda: run(m))
        for i in range(len(buf)):                         # overwritten after the load
            buf[i] = random.getrandbits(8) if i % 3 else 0xFF
        r3 = attempt(lambda: run(m))
    m = None
    print("RESULT", name, r1 == r2 and (r3 == "-" or r3 == r2), r1[:300])
manifest.close()
print("FINISHED")
"""


def _seeds() -> list[bytes]:
    Xi, yi = load_iris(return_X_y=True)
    Xb, yb = load_breast_cancer(return_X_y=True)
    Xd, yd = load_diabetes(return_X_y=True)
    Xn = Xi.copy()
    Xn[::4, 2] = np.nan
    ests = [
        RandomForestClassifier(n_estimators=4, max_depth=4, random_state=0).fit(Xi, yi),
        DecisionTreeClassifier(max_depth=5, random_state=0).fit(Xb, yb),
        DecisionTreeClassifier(max_depth=4, random_state=0).fit(Xn, yi),
        ExtraTreesRegressor(n_estimators=3, max_depth=4, random_state=0).fit(Xd, yd),
        DecisionTreeRegressor(max_depth=3, random_state=0).fit(Xd, np.c_[yd, -yd]),
    ]
    out = []
    for est in ests:
        m = microlearn.convert(est)
        out += [m.to_blob(compact=True), m.to_blob(compact=False)]
    return out


def _fix(b: bytearray) -> bytes:
    if len(b) >= 16:
        struct.pack_into("<I", b, 8, len(b))
        struct.pack_into("<I", b, 12, zlib.crc32(bytes(b[16:])) & 0xFFFFFFFF)
    return bytes(b)


INTERESTING = (0, 1, 2, 3, 4, 7, 8, 0x7F, 0x80, 0xFF, 0xFFFF, 0x7FFFFFFF, 0x80000000,
               0xFFFFFFFF, 0xFFFFFFFE, 0x10000, 255, 256)


def mutate(rng: np.random.Generator, seed: bytes) -> bytes:
    b = bytearray(seed)
    sec = blob.read(seed)[0]["offset"]
    for _ in range(int(rng.integers(1, 5))):
        op = int(rng.integers(0, 6))
        if op == 0:  # bit flip anywhere
            i = int(rng.integers(0, len(b)))
            b[i] ^= 1 << int(rng.integers(0, 8))
        elif op == 1:  # an interesting u32 over a header field (container or section)
            i = int(rng.choice([4 * int(rng.integers(0, 8)), sec + 4 * int(rng.integers(0, 24))]))
            i = min(i, len(b) - 4)
            struct.pack_into("<I", b, i, int(rng.choice(INTERESTING)))
        elif op == 2:  # an interesting byte anywhere
            b[int(rng.integers(0, len(b)))] = int(rng.choice([0, 1, 0x7F, 0x80, 0xFE, 0xFF]))
        elif op == 3:  # truncate
            del b[int(rng.integers(16, len(b))):]
        elif op == 4:  # splice: copy a chunk over another place
            n = int(rng.integers(1, 64))
            i, j = (int(v) for v in rng.integers(0, max(1, len(b) - n), 2))
            b[j:j + n] = b[i:i + n]
        elif len(b) > sec + 98:  # a random u16 in the tables
            i = int(rng.integers(sec + 96, len(b) - 2))
            struct.pack_into("<H", b, i, int(rng.integers(0, 0x10000)))
        if len(b) < 17:
            break
    return _fix(b) if rng.random() < 0.9 else bytes(b)  # 10%: checksum left as mutated


@pytest.fixture(scope="module")
def corpus():
    rng = np.random.default_rng(12345)
    seeds = _seeds()
    files = {f"seed{i}.mlb": s for i, s in enumerate(seeds)}
    while len(files) < N_FILES:
        seed = seeds[int(rng.integers(0, len(seeds)))]
        files[f"f{len(files)}.mlb"] = mutate(rng, seed)
    return files


def _run(variant: str, files: dict[str, bytes], tmp) -> dict[str, tuple[bool, str]]:
    manifest = "\n".join(files)
    r = mp_unix.run(variant, SCRIPT, {**files, "manifest.txt": manifest.encode()}, tmp,
                    heap_size=HEAP, timeout=600 if LONG else 120)
    started = [line.split()[1] for line in r.stdout.splitlines() if line.startswith("START")]
    last = started[-1] if started else None
    assert r.returncode == 0 and "FINISHED" in r.stdout, (
        f"{variant}: exit {r.returncode} at {last}: {r.stdout[-1500:]} {r.stderr[-1500:]}")
    out = {}
    for line in r.stdout.splitlines():
        if line.startswith("RESULT"):
            _, name, same, res = line.split(" ", 3)
            out[name] = (same == "True", res)
    assert len(out) == len(files)
    return out


def test_fuzz_micropython_modules(corpus, tmp_path):
    results = {v: _run(v, corpus, tmp_path / v) for v in ("native", "fallback")}
    for variant, res in results.items():
        # a bytearray loaded then overwritten gives what the bytes did: nothing reads it
        changed = [n for n, (same, _) in res.items() if not same]
        assert not changed, (variant, changed[:10])
        ran = [n for n, (_, r) in res.items() if r not in ("ValueError", "MemoryError")]
        assert len(ran) >= 0.05 * len(corpus), (variant, len(ran))  # the fuzzer goes deep
        assert all(results[variant][f"seed{i}.mlb"][1] not in ("ValueError", "MemoryError")
                   for i in range(10))
    # where both accept a file (trees only), the answers are the same
    nat, fb = results["native"], results["fallback"]
    both = [n for n in corpus if nat[n][1] not in ("ValueError", "MemoryError")
            and fb[n][1] not in ("ValueError", "MemoryError")]
    assert both
    differ = [n for n in both if nat[n][1] != fb[n][1]]
    assert not differ, [(n, nat[n][1][:120], fb[n][1][:120]) for n in differ[:5]]
    # and they accept the same files (the fallback reads single-trees-section files only)
    single_trees = [n for n in corpus if _is_single_trees(corpus[n])]
    # (MemoryError aside: the fallback copies the tables into arrays, so it needs more heap)
    disagree = [n for n in single_trees if "MemoryError" not in (nat[n][1], fb[n][1])
                and (nat[n][1] == "ValueError") != (fb[n][1] == "ValueError")]
    assert not disagree, [(n, nat[n][1][:80], fb[n][1][:80]) for n in disagree[:5]]


def _is_single_trees(b: bytes) -> bool:
    try:
        secs = blob.read(b)
    except ValueError:
        return True  # a corrupt container: both must reject it
    return len(secs) == 1 and secs[0]["family_id"] == 1
