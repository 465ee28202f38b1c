#!/usr/bin/python3
"""Golden values for package stft, from numpy.fft.rfft and scipy.signal.

Run from the stft folder with the system Python (numpy 1.24, scipy 1.10):

    /usr/bin/python3 testdata/rfft_golden.py > testdata/rfft_golden.json

The tests read the JSON and never run Python. Refresh it on purpose only,
and commit the script and its output together.

windows: scipy.signal.get_window(kind, n) (periodic, fftbins=True by
default) for n in 16 and 17; sqrt-hann is the square root of periodic hann.

streams: a small known input pushed through the streaming analysis that
stft.Analyzer implements: the history starts as n_fft zeros, every frame
appends hop new samples, and the frame's spectrum is
numpy.fft.rfft(window * newest n_fft samples). Cases cover even and odd
n_fft, a hop that divides n_fft and hops that do not, and hop == n_fft.
Complex values are written as [re, im]. Python's json writes the shortest
repr of each float64, so the values round-trip exactly.
"""

import json
import sys

import numpy as np
import scipy
import scipy.signal


def window(kind, n):
    if kind == "sqrt-hann":
        return np.sqrt(scipy.signal.get_window("hann", n))
    return scipy.signal.get_window(kind, n)


def stream_frames(x, n_fft, hop, kind):
    w = window(kind, n_fft)
    hist = np.zeros(n_fft)
    frames = []
    for k in range(len(x) // hop):
        hist = np.concatenate([hist[hop:], x[k * hop:(k + 1) * hop]])
        spec = np.fft.rfft(w * hist)
        frames.append([[float(c.real), float(c.imag)] for c in spec])
    return frames


def main():
    out = {
        "generator": "stft/testdata/rfft_golden.py",
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "windows": [],
        "streams": [],
    }
    for kind in ["hann", "sqrt-hann", "hamming", "blackman"]:
        for n in [16, 17]:
            out["windows"].append({
                "kind": kind,
                "n": n,
                "values": [float(v) for v in window(kind, n)],
            })

    # A known input: a ramp, a 3-cycles-per-16 cosine and a few impulses,
    # so every frame has structure in both magnitude and phase.
    n = 48
    t = np.arange(n, dtype=np.float64)
    x = 0.25 * (t / n) + np.cos(2 * np.pi * 3 * t / 16 + 0.3)
    x[[5, 20, 33]] += [1.0, -2.0, 0.5]

    for n_fft, hop, kind in [
        (16, 4, "hann"),
        (16, 16, "hamming"),
        (17, 5, "blackman"),
        (20, 7, "sqrt-hann"),
        (16, 6, "hann"),
    ]:
        out["streams"].append({
            "fft_size": n_fft,
            "hop": hop,
            "window": kind,
            "input": [float(v) for v in x],
            "frames": stream_frames(x, n_fft, hop, kind),
        })
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
