# examples/sed/mp_app.py - the keyword spotter of sed.py as a MicroPython application
# (runs as is in the unix port; on a board, copy it with the files below and fill the
# blocks from the microphone instead of the file).
#
# Files next to it (written by sed.py):
#   microlearn_mp.mpy, microlearn_dsp.mpy  native modules (the same C as the firmware)
#   sed.json     {"models", "stream", "window", "hop", "noise", "high", "low",
#                 "min_duration", "min_gap"}
#   the model file(s) of "models": ["kws.mlb"] (MFCC frames -> random forest, raw samples
#                in) or ["mel.mlb", "cnn.mlb"] (log-mel frames, then the int8 CNN)
#   stream.f32   float32 samples at 8 kHz, little endian (a recording)
#
# Per window of `window` samples (a new one every `hop`): class probabilities, event
# score 1 - P(noise), hysteresis (on at >= high, off at <= low), event detection; the
# event's digit is the argmax of the digit probabilities summed over its active windows.
# Prints
#   event ONSET OFFSET DIGIT     ([onset, offset) in window indices)
#   windows N
# and writes every window's probabilities (float32) to mp_proba.f32.
import array
import json

import microlearn_dsp as dsp
import microlearn_mp as ml

BLOCK = 256

cfg = json.load(open("sed.json"))
front = ml.load(cfg["models"][0]) if len(cfg["models"]) == 2 else None
model = ml.load(cfg["models"][-1])
n_out = model.n_outputs()
features = array.array("f", bytes(4 * front.n_outputs())) if front else None
noise = cfg["noise"]
frame = array.array("f", bytes(4 * cfg["window"]))
frames = dsp.Frames(frame, cfg["hop"])
hyst = dsp.Hysteresis(cfg["low"], cfg["high"])
events = dsp.Events(cfg["min_duration"], cfg["min_gap"])
proba = array.array("f", bytes(4 * n_out))
total = array.array("f", bytes(4 * noise))   # float32 sums, as in the C
block = array.array("f", bytes(4 * BLOCK))
out = open("mp_proba.f32", "wb")


def clear():
    for c in range(noise):
        total[c] = 0.0


def report(onset, offset):
    best = 0
    for c in range(1, noise):
        if total[c] > total[best]:
            best = c
    print("event", onset, offset, best)


is_open = False
last_active = -1
n_windows = 0
f = open(cfg["stream"], "rb")
while True:
    got = f.readinto(block)
    if not got:
        break
    n = got // 4
    pos = 0
    while pos < n:
        pos = frames.push(block if n == BLOCK else block[:n], pos)
        if frames.ready():
            if front:
                front.transform(frame, features)
                model.predict_proba(features, proba)
            else:
                model.predict_proba(frame, proba)
            out.write(proba)
            active = hyst.update(1.0 - proba[noise])
            if active:
                last_active = n_windows
                for c in range(noise):
                    total[c] += proba[c]
            ev = events.update(active)
            if ev == 1:
                is_open = True
            elif ev == 2:
                is_open = False
                report(events.onset(), events.offset())
                clear()
            if not active and not is_open:
                clear()
            n_windows += 1
f.close()
out.close()
if is_open:
    report(events.onset(), last_active + 1)
print("windows", n_windows)
