# examples/anomaly/mp_app.py - the anomaly detector of anomaly.py as a MicroPython
# application (runs as is in the unix port; on a board, copy it with the files below).
#
# Files next to it (written by anomaly.py):
#   microlearn_mp.mpy, microlearn_dsp.mpy  native modules (the same C as the firmware)
#   anomaly.json   {"series", "window", "hop", "min_duration", "min_gap",
#                   "detectors": [[name, model file, low, high], ...]}
#   NAME.mlb       one model file per detector: window features -> StandardScaler -> model
#   the series     float32 samples, little endian (a recording; on a device: the sensor)
#
# Per window of `window` samples (a new one every `hop`): anomaly score = -score_samples,
# hysteresis (on at >= high, off at <= low), event detection; prints
#   event NAME ONSET OFFSET      ([onset, offset) in window indices)
#   windows N
# and writes every score (float32, window-major) to mp_scores.f32.
import array
import json

import microlearn_dsp as dsp
import microlearn_mp as ml

BLOCK = 64

cfg = json.load(open("anomaly.json"))
frame = array.array("f", bytes(4 * cfg["window"]))
frames = dsp.Frames(frame, cfg["hop"])
detectors = []
for name, path, low, high in cfg["detectors"]:
    detectors.append([name, ml.load(path), dsp.Hysteresis(low, high),
                      dsp.Events(cfg["min_duration"], cfg["min_gap"]), False, -1])
out = array.array("f", [0.0])
scores = array.array("f")
n_windows = 0
f = open(cfg["series"], "rb")
while True:
    data = f.read(4 * BLOCK)
    if not data:
        break
    block = array.array("f", data)
    pos = 0
    while pos < len(block):
        pos = frames.push(block, pos)
        if frames.ready():
            for d in detectors:
                d[1].score_samples(frame, out)
                score = -out[0]
                scores.append(score)
                active = d[2].update(score)
                if active:
                    d[5] = n_windows
                ev = d[3].update(active)
                if ev == 1:
                    d[4] = True
                elif ev == 2:
                    d[4] = False
                    print("event", d[0], d[3].onset(), d[3].offset())
            n_windows += 1
f.close()
for d in detectors:
    if d[4]:
        print("event", d[0], d[3].onset(), d[5] + 1)
print("windows", n_windows)
with open("mp_scores.f32", "wb") as g:
    g.write(scores)
