#!/usr/bin/python3
"""Golden BSS Eval scores for eval's tests, from mir_eval itself.

Run from anywhere with Debian's python3 (python3-mir-eval 0.7, numpy 1.24,
scipy):

    /usr/bin/python3 eval/testdata/bsseval_golden.py

It writes, next to itself, one <name>.f32 per fixture (raw little-endian
float32, the references then the estimates, each sources x samples, row by
row; a fixture may reuse another's file) and bsseval_golden.json with mir_eval.separation.bss_eval_sources's
SDR, SIR, SAR and permutation for each, with compute_permutation True
("permute") and False ("fixed"). mir_eval scores the float32 values exactly as
stored (read back as float64), so the Go test sees the same inputs and
storage adds no error. A fixture's "order" says which stored estimate is
its estimate 0, 1, ... (estimates[order] in numpy terms). Infinite scores are written as the strings "inf" and
"-inf" (JSON has no infinity). Everything is seeded: a rerun writes the same
files.
"""

import json
import os
import sys

import numpy as np
import scipy.signal
import mir_eval

RATE = 8000          # Hz: short fixtures keep the committed files small
SECONDS = 1.0
N = int(RATE * SECONDS)
HERE = os.path.dirname(os.path.abspath(__file__))


def db_gain(db):
    return 10.0 ** (db / 20.0)


def rms(x):
    return np.sqrt(np.mean(x ** 2))


def at_level(x, ref, db):
    """x scaled to db relative to ref's RMS."""
    return x * (rms(ref) * db_gain(db) / rms(x))


def floor(rng, x, db=-50.0):
    """x plus a white noise floor db below it, as any recording has."""
    return x + at_level(rng.standard_normal(x.size), x, db)


def voice(rng):
    """Harmonic source with vibrato and syllable-like bursts."""
    t = np.arange(N) / RATE
    f0 = 180.0 * (1 + 0.03 * np.sin(2 * np.pi * 5.0 * t))
    phase = 2 * np.pi * np.cumsum(f0) / RATE
    x = sum(np.sin(k * phase + rng.uniform(0, 2 * np.pi)) / k for k in range(1, 13))
    env = 0.5 - 0.5 * np.cos(2 * np.pi * 3.0 * t)
    return floor(rng, 0.3 * env * x)


def noise(rng):
    """Band-pass noise with a slow swell."""
    t = np.arange(N) / RATE
    b, a = scipy.signal.butter(2, [300 / (RATE / 2), 2500 / (RATE / 2)], btype="band")
    x = scipy.signal.lfilter(b, a, rng.standard_normal(N))
    return floor(rng, 0.2 * (0.6 + 0.4 * np.sin(2 * np.pi * 1.3 * t)) * x)


def tones(rng):
    """Three decaying notes, piano-like."""
    t = np.arange(N) / RATE
    x = np.zeros(N)
    for start, f in [(0.0, 262.0), (0.33, 330.0), (0.66, 392.0)]:
        on = t >= start
        tt = t[on] - start
        note = sum(np.sin(2 * np.pi * k * f * tt) * 0.6 ** k for k in range(1, 6))
        x[on] += note * np.exp(-tt * 6.0)
    return floor(rng, 0.25 * x)


def white(rng, ref, db):
    return at_level(rng.standard_normal(N), ref, db)


def mix_estimates(rng, refs, leak_db, noise_db):
    """Each estimate: its source, every other source leak_db below it, and
    white noise noise_db below it."""
    ests = []
    for j, s in enumerate(refs):
        e = s.copy()
        for i, o in enumerate(refs):
            if i != j:
                e += at_level(o, s, leak_db)
        ests.append(e + white(rng, s, noise_db))
    return ests


def fixtures():
    rng = np.random.default_rng(20240611)
    v, n, p = voice(rng), noise(rng), tones(rng)
    out = []

    good = mix_estimates(rng, [v, n], -26.0, -40.0)
    out.append(("good", [v, n], good))
    out.append(("poor", [v, n], mix_estimates(rng, [v, n], -3.0, -10.0)))
    out.append(("swapped", "good", [1, 0]))

    # A reference 80 dB below the other, but not silent; its estimate is
    # mostly leakage of the loud one.
    quiet = n * 1e-4
    out.append(("silentish", [v, quiet], [
        v + at_level(quiet, v, -60.0) + white(rng, v, -40.0),
        quiet + at_level(v, quiet, -6.0) + white(rng, quiet, -20.0),
    ]))

    three = mix_estimates(rng, [v, n, p], -20.0, -35.0)
    out.append(("three", [v, n, p], three, [2, 0, 1]))

    # Estimates filtered by short FIRs (a delay and a colouring), which BSS
    # Eval's 512-tap filter absorbs: high SDR despite the filtering.
    firs = [np.r_[np.zeros(5), 0.9, 0.4, -0.2, 0.1],
            np.r_[0.7, -0.3, 0.25, np.zeros(20), 0.1]]
    filt = []
    for j, s in enumerate([v, n]):
        o = [v, n][1 - j]
        e = scipy.signal.lfilter(firs[j], [1.0], s)
        filt.append(e + at_level(o, s, -30.0) + white(rng, s, -45.0))
    out.append(("filtered", [v, n], filt))

    # Nearly perfect: the scores (about 85 to 95 dB) are far above what the
    # closed forms through the Gram matrix resolve, so the Go code must
    # recompute those energies from the spectra.
    out.append(("nearperfect", [v, n], mix_estimates(rng, [v, n], -85.0, -95.0)))

    # One source: no interference at all, SIR is +inf.
    e = scipy.signal.lfilter([0.8, 0.3], [1.0], v) + white(rng, v, -25.0)
    out.append(("single", [v], [e]))
    return out


def enc(x):
    x = float(x)
    if np.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def main():
    meta = {
        "generator": "eval/testdata/bsseval_golden.py",
        "mir_eval": mir_eval.__version__,
        "numpy": np.__version__,
        "rate_hz": RATE,
        "fixtures": [],
    }
    stored = {}
    for fx in fixtures():
        if isinstance(fx[1], str):  # (name, fixture whose file to reuse, order)
            name, fname, order = fx[0], fx[1] + ".f32", fx[2]
            refs32, ests32 = stored[fname]
        else:  # (name, refs, ests[, order])
            name, refs, ests = fx[:3]
            order = fx[3] if len(fx) > 3 else list(range(len(ests)))
            refs32 = np.asarray(refs, dtype="<f4")
            ests32 = np.asarray(ests, dtype="<f4")
            fname = name + ".f32"
            with open(os.path.join(HERE, fname), "wb") as f:
                f.write(refs32.tobytes())
                f.write(ests32.tobytes())
            stored[fname] = (refs32, ests32)
        r, e = refs32.astype(np.float64), ests32[order].astype(np.float64)
        res = {}
        for mode, permute in [("permute", True), ("fixed", False)]:
            sdr, sir, sar, perm = mir_eval.separation.bss_eval_sources(r, e, compute_permutation=permute)
            res[mode] = {
                "sdr": [enc(x) for x in sdr],
                "sir": [enc(x) for x in sir],
                "sar": [enc(x) for x in sar],
                "perm": [int(x) for x in perm],
            }
            print(f"{name:12s} {mode:8s} sdr={np.round(sdr, 3)} sir={np.round(sir, 3)} "
                  f"sar={np.round(sar, 3)} perm={list(perm)}", file=sys.stderr)
        meta["fixtures"].append({
            "name": name,
            "file": fname,
            "sources": int(r.shape[0]),
            "samples": int(r.shape[1]),
            "order": [int(i) for i in order],
            "results": res,
        })
    with open(os.path.join(HERE, "bsseval_golden.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
