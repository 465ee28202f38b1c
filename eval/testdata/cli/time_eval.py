#!/usr/bin/python3
"""Times mir_eval 0.7 on what `sepd eval` is timed on: 60 s stereo 44.1 kHz
files, two sources (README figure; nothing here is a test).

    /usr/bin/python3 eval/testdata/cli/time_eval.py DIR

writes DIR/ref_voice.wav, ref_noise.wav, est_voice.wav, est_noise.wav
(float32, 2 channels, 44100 Hz, 60 s; seeded), then scores them as `sepd eval`
does (each channel with mir_eval.separation.bss_eval_sources, then the mean
over channels), without and with compute_permutation, and prints the time
of each, reading the files included, and the scores. Time sepd on the same
files with

    time sepd eval -q --ref voice=DIR/ref_voice.wav --ref noise=DIR/ref_noise.wav \\
        --est voice=DIR/est_voice.wav --est noise=DIR/est_noise.wav [--permute]
"""

import os
import sys
import time

import numpy as np
import scipy.io.wavfile
import scipy.signal
import mir_eval

RATE = 44100
N = 60 * RATE


def rms(x):
    return np.sqrt(np.mean(x ** 2))


def at_level(x, ref, db):
    return x * (rms(ref) * 10.0 ** (db / 20.0) / rms(x))


def voice(rng, f0):
    t = np.arange(N) / RATE
    f = f0 * (1 + 0.03 * np.sin(2 * np.pi * 5.0 * t))
    phase = 2 * np.pi * np.cumsum(f) / RATE
    x = sum(np.sin(k * phase + rng.uniform(0, 2 * np.pi)) / k for k in range(1, 13))
    env = 0.5 - 0.5 * np.cos(2 * np.pi * 1.5 * t)
    return 0.3 * env * x + at_level(rng.standard_normal(N), x, -50.0)


def noise(rng):
    b, a = scipy.signal.butter(2, [300 / (RATE / 2), 6000 / (RATE / 2)], btype="band")
    return 0.2 * scipy.signal.lfilter(b, a, rng.standard_normal(N))


def write(path, x):
    scipy.io.wavfile.write(path, RATE, np.ascontiguousarray(np.asarray(x, dtype=np.float32).T))


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(60)
    refs = [np.stack([voice(rng, 180.0), voice(rng, 140.0)]), np.stack([noise(rng), noise(rng)])]
    names = ["voice", "noise"]
    for j, name in enumerate(names):
        write(os.path.join(out, f"ref_{name}.wav"), refs[j])
        e = refs[j] + np.stack([at_level(refs[1 - j][c], refs[j][c], -15.0) +
                                at_level(rng.standard_normal(N), refs[j][c], -30.0) for c in range(2)])
        write(os.path.join(out, f"est_{name}.wav"), e)

    for permute in (False, True):
        t0 = time.perf_counter()
        r = [scipy.io.wavfile.read(os.path.join(out, f"ref_{n}.wav"))[1].T.astype(np.float64) for n in names]
        e = [scipy.io.wavfile.read(os.path.join(out, f"est_{n}.wav"))[1].T.astype(np.float64) for n in names]
        scores = []
        for c in range(2):
            scores.append(mir_eval.separation.bss_eval_sources(
                np.stack([x[c] for x in r]), np.stack([x[c] for x in e]), compute_permutation=permute)[:3])
        el = time.perf_counter() - t0
        mean = np.mean(np.array(scores), axis=0)  # (sdr, sir, sar) x sources
        print(f"mir_eval {mir_eval.__version__} bss_eval_sources per channel, compute_permutation={permute}: "
              f"{el:.1f} s; mean SDR {np.round(mean[0], 2)}, SIR {np.round(mean[1], 2)}, SAR {np.round(mean[2], 2)}")


if __name__ == "__main__":
    main()
