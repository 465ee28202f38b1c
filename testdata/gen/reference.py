#!/usr/bin/python3
"""reference.py: sepd's separation pipeline in numpy/scipy/scikit-learn, run on the
embedded demo, and the numbers that sepd's tests compare against.

    /usr/bin/python3 testdata/gen/reference.py        (from the repository root)

Reads cmd/sepd/demo/{mix,voice,noise}.wav and bases.npz; writes
testdata/demo/reference.json and prints a table. Three separations, all with
the same STFT (periodic Hann 1024, hop 256, streaming alignment, see sepdref.py)
and masks M_s = (W_s h_s)^2 / sum_j (W_j h_j)^2 applied to the mixture's STFT:

  batch     sklearn non_negative_factorization(X=V.T, H=components, init='custom',
            update_H=False, solver='mu', beta_loss='kullback-leibler',
            max_iter=200, tol=1e-4): the offline optimum sepd's solver must match.
  streaming what sepd runs: per frame 10 KL multiplicative updates, warm-started
            from the previous frame with a floor of 0.03 * max(h), cold start
            sqrt(mean(v)/K) on the first frame and after a silent frame.
  oracle    the ideal Wiener mask |S_s|^2 / sum_j |S_j|^2 from the true sources:
            the ceiling of any masking method on this STFT.

Each output is scored against the clean source with mir_eval's
bss_eval_sources (SDR/SIR/SAR, no permutation) and with the plain
SDR = 10 log10(sum s^2 / sum (s - s_hat)^2); so is the mixture itself.
It exits non-zero if the streaming prototype improves any source's SDR by less
than MIN_GAIN_DB on either measure.
"""

import hashlib
import json
import os
import sys
import warnings

import mir_eval
import numpy as np
from sklearn.decomposition import non_negative_factorization
from sklearn.exceptions import ConvergenceWarning

sys.dont_write_bytecode = True  # no __pycache__ in testdata/gen
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sepdref  # noqa: E402

MASK_POWER = 2.0
STREAM_ITERATIONS = 10
STREAM_FLOOR = 0.03
BATCH_MAX_ITER = 200
BATCH_TOL = 1e-4
MIN_GAIN_DB = 6.0     # what sepd's tests require
TARGET_GAIN_DB = 8.0  # the margin this fixture is built for


def plain_sdr(s, est):
    return float(10 * np.log10(np.sum(s * s) / np.sum((s - est) ** 2)))


def score(refs, ests):
    """Per source: bss_eval SDR/SIR/SAR and plain SDR, in dB."""
    sdr, sir, sar, _ = mir_eval.separation.bss_eval_sources(
        np.array(refs), np.array(ests), compute_permutation=False)
    return [{"sdr": float(sdr[i]), "sir": float(sir[i]), "sar": float(sar[i]),
             "sdr_plain": plain_sdr(refs[i], ests[i])} for i in range(len(refs))]


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    root = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    if len(sys.argv) == 3 and sys.argv[1] == "--root":  # for trying fixture variants elsewhere
        root = sys.argv[2]
    demo = os.path.join(root, "cmd", "sepd", "demo")
    rel = lambda p: os.path.relpath(p, root)  # noqa: E731

    names = ["voice", "noise"]
    paths = {n: os.path.join(demo, n + ".wav") for n in names + ["mix"]}
    pcm = {n: sepdref.read_wav(p)[0] for n, p in paths.items()}
    if not np.array_equal(pcm["mix"].astype(np.int32),
                          pcm["voice"].astype(np.int32) + pcm["noise"].astype(np.int32)):
        raise SystemExit("reference: mix.wav is not voice.wav + noise.wav")
    x = pcm["mix"] / 32768.0
    refs = [pcm[n] / 32768.0 for n in names]
    L = len(x)

    npz = np.load(os.path.join(demo, "bases.npz"))
    comps = [npz[n] for n in names]                      # sklearn components_, K_s x F
    ks = [c.shape[0] for c in comps]
    start = np.concatenate([[0], np.cumsum(ks)])
    W = np.concatenate(comps, axis=0).astype(np.float64).T  # F x K, sources side by side

    X = sepdref.stft(x)
    V = np.abs(X)
    F, T = V.shape
    assert W.shape[0] == F

    def separate(H):
        parts = [W[:, start[s]:start[s + 1]] @ H[start[s]:start[s + 1]] for s in range(len(names))]
        return [sepdref.istft(m * X, L) for m in sepdref.masks_from_parts(parts, MASK_POWER)]

    # (a) sklearn batch.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        Wsk, _, batch_iter = non_negative_factorization(
            X=V.T, H=W.T.copy(), n_components=W.shape[1], init="custom", update_H=False,
            solver="mu", beta_loss="kullback-leibler", max_iter=BATCH_MAX_ITER, tol=BATCH_TOL)
    batch = separate(Wsk.T)

    # (b) the streaming prototype.
    stream = separate(sepdref.stream_kl(V, W, STREAM_ITERATIONS, STREAM_FLOOR))

    # (c) the oracle Wiener mask.
    S = [np.abs(sepdref.stft(r)) for r in refs]
    oracle = [sepdref.istft(m * X, L) for m in sepdref.masks_from_parts(S, 2.0)]

    results = {
        "mixture": score(refs, [x, x]),
        "batch": score(refs, batch),
        "streaming": score(refs, stream),
        "oracle": score(refs, oracle),
    }

    def per_source(method):
        return {n: results[method][i] for i, n in enumerate(names)}

    out = {
        "script": "testdata/gen/reference.py",
        "fixture": {
            "files": {n: {"path": rel(p), "sha256": sha256(p)} for n, p in paths.items()},
            "bases": {"path": rel(os.path.join(demo, "bases.npz")),
                      "sha256": sha256(os.path.join(demo, "bases.npz")),
                      "k": dict(zip(names, ks)), "orientation": "sklearn components_ (K x F)"},
            "sample_rate_hz": sepdref.RATE_HZ, "samples": L, "frames": T,
            "snr_db": 10 * np.log10(np.sum(refs[0] ** 2) / np.sum(refs[1] ** 2)),
        },
        "params": {
            "fft_size": sepdref.FFT_SIZE, "hop": sepdref.HOP, "window": "hann (periodic)",
            "alignment": "frame t holds input samples [t*hop-(fft_size-hop), t*hop+hop); "
                         "outputs shifted back by fft_size-hop and trimmed to the input length",
            "mask_power": MASK_POWER, "beta": 1.0,
            "batch": {"solver": "sklearn non_negative_factorization mu, update_H=False, init=custom",
                      "max_iter": BATCH_MAX_ITER, "tol": BATCH_TOL, "iterations_run": int(batch_iter)},
            "streaming": {"iterations": STREAM_ITERATIONS, "floor": STREAM_FLOOR,
                          "warm_start": "h = max(h_prev, floor * max(h_prev))",
                          "cold_start": "sqrt(mean(v) / K) on the first frame and after a silent frame"},
            "oracle": "|S_s|^2 / sum_j |S_j|^2 from the clean sources",
            "sdr": "bss_eval: mir_eval.separation.bss_eval_sources (mir_eval "
                   + mir_eval.__version__ + ", compute_permutation=False); "
                   "sdr_plain: 10 log10(sum s^2 / sum (s - s_hat)^2)",
        },
        "results": {m: per_source(m) for m in results},
        "improvement_db": {
            m: {n: {"sdr": results[m][i]["sdr"] - results["mixture"][i]["sdr"],
                    "sdr_plain": results[m][i]["sdr_plain"] - results["mixture"][i]["sdr_plain"]}
                for i, n in enumerate(names)}
            for m in ("batch", "streaming", "oracle")},
        "requirement": {"method": "streaming", "min_improvement_db": MIN_GAIN_DB,
                        "measures": ["sdr", "sdr_plain"]},
    }

    def rnd(o):
        if isinstance(o, dict):
            return {k: rnd(v) for k, v in o.items()}
        if isinstance(o, (float, np.floating)):
            return round(float(o), 4)
        return o

    with open(os.path.join(root, "testdata", "demo", "reference.json"), "w") as f:
        json.dump(rnd(out), f, indent=2)
        f.write("\n")

    print(f"demo: {L / sepdref.RATE_HZ:.2f} s, {T} frames, K = {dict(zip(names, ks))}, "
          f"SNR {out['fixture']['snr_db']:.2f} dB; batch ran {batch_iter} iterations")
    print(f"{'':10s} {'source':6s} {'SDR':>7s} {'SIR':>7s} {'SAR':>7s} {'plain':>7s} {'+SDR':>6s} {'+plain':>6s}")
    for m in results:
        for i, n in enumerate(names):
            r, mx = results[m][i], results["mixture"][i]
            gain = "" if m == "mixture" else f"{r['sdr'] - mx['sdr']:6.2f} {r['sdr_plain'] - mx['sdr_plain']:6.2f}"
            print(f"{m:10s} {n:6s} {r['sdr']:7.2f} {r['sir']:7.2f} {r['sar']:7.2f} {r['sdr_plain']:7.2f} {gain}")

    worst = min(min(g.values()) for g in out["improvement_db"]["streaming"].values())
    print(f"streaming: smallest improvement {worst:.2f} dB "
          f"(required {MIN_GAIN_DB}, aimed at {TARGET_GAIN_DB})")
    if worst < MIN_GAIN_DB:
        raise SystemExit("reference: the streaming prototype misses the required improvement")


if __name__ == "__main__":
    main()
