#!/usr/bin/python3
"""Times mir_eval.separation.bss_eval_sources on the sizes of eval's
BenchmarkBSSEvalSources, so that the README can compare the two.

    /usr/bin/python3 eval/testdata/time_mireval.py                 # 2 sources x 10 s, 44.1 kHz
    /usr/bin/python3 eval/testdata/time_mireval.py --seconds 60
    /usr/bin/python3 eval/testdata/time_mireval.py --seconds 60 --sources 2 --repeat 3

Go's side:

    go test -run '^$' -bench 'BSSEvalSources/2x10s' -benchtime=2x ./eval/

Prints, for compute_permutation False and True, the best of --repeat wall
clock times in seconds, the seconds per second of audio (s/audio-s, Go's
metric of the same name) and its inverse (x-realtime). Not run by the Go
tests. The signals are like the benchmark's (harmonic tones over a noise
floor, each estimate leaking the other source 15 dB down and white noise
25 dB down); bss_eval's cost depends on the sizes, not on the values.
"""

import argparse
import time
import warnings

import numpy as np
import mir_eval


def signals(nsrc, n, rate, seed=5):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / rate
    refs = []
    for i in range(nsrc):
        f0 = 150.0 + 70.0 * i
        ph = 2 * np.pi * f0 * t
        env = 0.6 + 0.4 * np.sin(2 * np.pi * t / 0.375)
        refs.append(env * (np.sin(ph) + 0.5 * np.sin(2 * ph + 1) + 0.25 * np.sin(3 * ph + 2))
                    + 0.01 * rng.standard_normal(n))
    refs = np.array(refs)
    rms = np.sqrt(np.mean(refs ** 2, axis=1))
    ests = refs.copy()
    for j in range(nsrc):
        for i in range(nsrc):
            if i != j:
                ests[j] += 10 ** (-15 / 20) * rms[j] / rms[i] * refs[i]
        ests[j] += 10 ** (-25 / 20) * rms[j] * rng.standard_normal(n)
    return refs, ests


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--sources", type=int, default=2)
    ap.add_argument("--rate", type=int, default=44100)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    n = int(args.seconds * args.rate)
    refs, ests = signals(args.sources, n, args.rate)
    print(f"mir_eval {mir_eval.__version__}, numpy {np.__version__}: "
          f"{args.sources} sources x {args.seconds:g} s at {args.rate} Hz")
    for permute in (False, True):
        best = float("inf")
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                mir_eval.separation.bss_eval_sources(refs, ests, compute_permutation=permute)
            best = min(best, time.perf_counter() - t0)
        per = best / args.seconds
        print(f"compute_permutation={permute!s:5}  {best:8.2f} s  "
              f"{per:.4f} s/audio-s  {1 / per:.2f} x-realtime")


if __name__ == "__main__":
    main()
