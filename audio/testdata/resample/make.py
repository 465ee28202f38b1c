#!/usr/bin/python3
"""audio/testdata/resample/make.py: the reference outputs of audio.Resampler.

For each pair of rates, the filter audio.Resampler designs (its doc comment:
a Kaiser-windowed sinc from scipy.signal.firwin, cutoff 0.95 of the lower
rate's Nyquist frequency, 100 dB, N - 1 a multiple of lcm(2, L, M)) applied
with scipy.signal.upfirdn to 0.05 s of seeded white noise:

    FROM_TO.npy   float64, shape (2, n): row 0 the input, row 1 upfirdn's first
                  n outputs (padded with NaN where the input is longer)
    taps.json     {"FROM_TO": N}

Run with Debian's python3-scipy (scipy 1.10.1, numpy 1.24.2):
    /usr/bin/python3 audio/testdata/resample/make.py
"""
import json
import math
import os

import numpy as np
import scipy.signal

PAIRS = [(48000, 16000), (16000, 48000), (44100, 16000), (16000, 44100), (22050, 48000)]
A = 100.0
PASS, STOP = 0.90, 1.00

os.chdir(os.path.dirname(os.path.abspath(__file__)))
taps = {}
for fr, to in PAIRS:
    g = math.gcd(fr, to)
    l, m = to // g, fr // g
    width = math.pi * (STOP - PASS) / max(l, m)
    step = math.lcm(2, l, m)
    n = int(math.ceil((A - 7.95) / (2.285 * width) / step)) * step + 1
    beta = 0.1102 * (A - 8.7)
    h = scipy.signal.firwin(n, 0.5 * (PASS + STOP) / max(l, m), window=("kaiser", beta)) * l
    rng = np.random.default_rng(fr * 7 + to)
    x = rng.uniform(-1, 1, fr // 20)
    y = scipy.signal.upfirdn(h, x, l, m)
    k = -(-len(x) * l // m)  # outputs of len(x) inputs: ceil(len(x) L / M)
    out = np.full((2, max(len(x), k)), np.nan)
    out[0, : len(x)] = x
    out[1, :k] = y[:k]
    np.save(f"{fr}_{to}.npy", out)
    taps[f"{fr}_{to}"] = n
with open("taps.json", "w") as f:
    json.dump(taps, f, indent=1, sort_keys=True)
    f.write("\n")
