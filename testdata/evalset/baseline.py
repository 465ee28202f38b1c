#!/usr/bin/python3
"""baseline.py: the scikit-learn batch separation and the oracle on sepd's evaluation set.

    /usr/bin/python3 testdata/evalset/baseline.py [--work WORK]   (make.sh runs it)

For every scenario of manifest.json, on its test mixture (committed) and, when
WORK holds them, its validation mixture: the STFT sepd's engine computes
(periodic Hann, the scenario's fft_size and hop, streaming alignment;
testdata/gen/sepdref.py), then

  mixture   the mixture itself as both estimates
  sklearn   non_negative_factorization(X=V.T, H=<both sources' components_>,
            init='custom', update_H=False, solver='mu', beta_loss='kullback-leibler',
            max_iter=MAX_ITER, tol=TOL): the converged offline solve; masks
            (W_s h_s)^2 / sum_j (W_j h_j)^2 on the mixture's STFT, inverse STFT
  oracle    masks |S_s|^2 / sum_j |S_j|^2 from the true sources (the ceiling of
            masking on this STFT)

scored by mir_eval.separation.bss_eval_sources (no permutation). Writes
baseline.json (SDR/SIR/SAR per scenario, split, method and source, to 4
decimals) and prints the table.
"""

import argparse
import json
import os
import sys
import warnings

import mir_eval
import numpy as np
import scipy.io.wavfile
from sklearn.decomposition import non_negative_factorization
from sklearn.exceptions import ConvergenceWarning

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "gen"))
import sepdref  # noqa: E402

MAX_ITER = 2000
TOL = 1e-6
MASK_POWER = 2.0


def read(path, rate):
    r, x = scipy.io.wavfile.read(path)
    if r != rate or x.dtype != np.int16:
        raise SystemExit(f"baseline: {path}: want {rate} Hz PCM16, got {r} Hz {x.dtype}")
    return x.astype(np.float64) / 32768.0


def score(refs, ests):
    sdr, sir, sar, _ = mir_eval.separation.bss_eval_sources(
        np.array(refs), np.array(ests), compute_permutation=False)
    return [{"sdr": round(float(sdr[i]), 4), "sir": round(float(sir[i]), 4), "sar": round(float(sar[i]), 4)}
            for i in range(len(refs))]


def evaluate(sc, folder):
    rate, n, hop = sc["rate"], sc["fft_size"], sc["hop"]
    names = [s["name"] for s in sc["sources"]]
    x = read(os.path.join(folder, "mix.wav"), rate)
    refs = [read(os.path.join(folder, s + ".wav"), rate) for s in names]
    L = len(x)
    comps = [np.load(os.path.join(HERE, sc["name"], "bases", s + ".npy")) for s in names]
    ks = [c.shape[0] for c in comps]
    start = np.concatenate([[0], np.cumsum(ks)])
    W = np.concatenate(comps, axis=0).astype(np.float64).T
    X = sepdref.stft(x, n, hop)
    V = np.abs(X)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        Hsk, _, iters = non_negative_factorization(
            X=V.T, H=W.T.copy(), n_components=W.shape[1], init="custom", update_H=False,
            solver="mu", beta_loss="kullback-leibler", max_iter=MAX_ITER, tol=TOL)
    H = Hsk.T
    parts = [W[:, start[s]:start[s + 1]] @ H[start[s]:start[s + 1]] for s in range(len(names))]
    sk = [sepdref.istft(m * X, L, n, hop) for m in sepdref.masks_from_parts(parts, MASK_POWER)]
    S = [np.abs(sepdref.stft(r, n, hop)) for r in refs]
    oracle = [sepdref.istft(m * X, L, n, hop) for m in sepdref.masks_from_parts(S, 2.0)]
    out = {"sklearn_iterations": int(iters)}
    for method, ests in [("mixture", [x] * len(refs)), ("sklearn", sk), ("oracle", oracle)]:
        out[method] = dict(zip(names, score(refs, ests)))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "sepd-evalset"))
    args = ap.parse_args()
    with open(os.path.join(HERE, "manifest.json")) as f:
        manifest = json.load(f)
    res = {"script": "testdata/evalset/baseline.py",
           "params": {"sklearn": f"non_negative_factorization mu KL, update_H=False, init='custom', "
                                 f"max_iter={MAX_ITER}, tol={TOL}; masks p={MASK_POWER}",
                      "oracle": "|S_s|^2 / sum_j |S_j|^2",
                      "sdr": "mir_eval " + mir_eval.__version__ + " bss_eval_sources, compute_permutation=False"},
           "scenarios": {}}
    print(f"{'scenario':15s} {'split':5s} {'source':6s} {'mixture':>8s} {'sklearn':>8s} {'oracle':>8s}  (SDR dB)")
    for sc in manifest["scenarios"]:
        res["scenarios"][sc["name"]] = {}
        for split, folder in [("test", os.path.join(HERE, sc["name"], "test")),
                              ("val", os.path.join(args.work, sc["name"], "val"))]:
            if not os.path.exists(os.path.join(folder, "mix.wav")):
                print(f"{sc['name']} {split}: {folder} is missing; run make.sh", file=sys.stderr)
                continue
            r = evaluate(sc, folder)
            res["scenarios"][sc["name"]][split] = r
            for s in r["mixture"]:
                print(f"{sc['name']:15s} {split:5s} {s:6s} {r['mixture'][s]['sdr']:8.2f} "
                      f"{r['sklearn'][s]['sdr']:8.2f} {r['oracle'][s]['sdr']:8.2f}", flush=True)
    with open(os.path.join(HERE, "baseline.json"), "w") as f:
        json.dump(res, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
