#!/usr/bin/python3
"""make_golden.py: the scikit-learn reference figures for `sepd learn` (separate.Learn).

Run from the repository root with Debian's Python (python3-sklearn 1.2.1, numpy 1.24):

    /usr/bin/python3 testdata/learn/make_golden.py            # about 20 s

It writes, in testdata/learn/:
  fixture.wav   2.00 s, 16 kHz, mono PCM16: 0.5-2.5 s of testdata/demo/train/voice.wav
                plus 0-2 s of testdata/demo/train/noise.wav, each halved (no clipping)
  golden.json   per case: the spectrogram's shape and sum (so the Go test checks its STFT
                first), sklearn's initial and final divergence and n_iter_, and the
                sums of its components_' rows (the scale of every basis)
  numpy_9x3.npy, numpy_513x2.npy
                numpy.save of small float32 arrays (values (3i + j + 1) / 10, and
                (i + 1) / 1000 in column 0, zeros in column 1), for separate.WriteNPY's
                byte-for-byte test

Cases:
  fixture-beta{2,1,0.5}: NMF(n_components=8, init='nndsvda', solver='mu', beta_loss=beta,
      max_iter=200, tol=0) on |STFT| of fixture.wav, fft 512, hop 128, periodic Hann;
  demo-voice, demo-noise: the demo's own bases (testdata/gen/make_demo.py: K 32 and 16,
      beta 1, max_iter 400, fft 1024, hop 256; sklearn's default tol=1e-4 there, as
      make_demo.py ran it) on testdata/demo/train/{voice,noise}.wav, for a longer Go test.

The spectrogram is sepdref.stft: the streaming engine's framing (history starts as zeros,
frames until the last sample has been seen by fft/hop frames).

If testdata/learn/model/ exists (written by
`go run ./cmd/sepd learn --source a=testdata/learn/fixture.wav --components 8
 --fft-size 512 --hop 128 --beta 1 -o testdata/learn/model`),
the script also checks that numpy.load reads every .npy there as an F x K float array that
is finite, non-negative, with no all-zero column, and records what it read in golden.json
under "numpy_load" (shape, dtype and column sums).
"""

import glob
import json
import os
import sys
import time
import warnings

import numpy as np
import scipy.io.wavfile
from sklearn.decomposition import NMF
from sklearn.decomposition._nmf import _beta_divergence, _initialize_nmf
from sklearn.exceptions import ConvergenceWarning

sys.dont_write_bytecode = True
here = os.path.dirname(os.path.abspath(__file__))
root = os.path.normpath(os.path.join(here, "..", ".."))
sys.path.insert(0, os.path.join(root, "testdata", "gen"))
import sepdref  # noqa: E402

RATE = 16000


def read(path):
    return sepdref.read_wav(os.path.join(root, path))[0]


def make_fixture():
    voice, noise = read("testdata/demo/train/voice.wav"), read("testdata/demo/train/noise.wav")
    v = voice[RATE // 2:RATE // 2 + 2 * RATE].astype(np.int32)
    n = noise[:2 * RATE].astype(np.int32)
    mix = (v + n) // 2
    assert np.abs(mix).max() <= 32767
    x = mix.astype(np.int16)
    scipy.io.wavfile.write(os.path.join(here, "fixture.wav"), RATE, x)
    return x.astype(np.float64) / 32768.0


def case(name, x, fft, hop, k, beta, max_iter, tol):
    V = np.abs(sepdref.stft(x, fft, hop))
    X = V.T  # sklearn's orientation: frames x bins
    t0 = time.time()
    W0, H0 = _initialize_nmf(X, k, init="nndsvda", random_state=0)
    model = NMF(n_components=k, init="nndsvda", solver="mu", beta_loss=beta,
                max_iter=max_iter, tol=tol, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        W = model.fit_transform(X)
    H = model.components_
    el = time.time() - t0
    out = {
        "fft_size": fft, "hop": hop, "components": k, "beta": beta,
        "max_iter": max_iter, "tol": tol,
        "bins": V.shape[0], "frames": V.shape[1], "v_sum": float(V.sum()),
        "v_first": [float(V[i, 0]) for i in range(4)],
        "initial_divergence": float(_beta_divergence(X, W0, H0, beta)),
        "divergence": float(_beta_divergence(X, W, H, beta)),
        "n_iter": int(model.n_iter_),
        "w_column_sums": [float(v) for v in H.sum(axis=1)],
    }
    print(f"{name}: V {V.shape}, K={k}, beta={beta}: init {out['initial_divergence']:.6g}, "
          f"final {out['divergence']:.6g} after {out['n_iter']} iterations ({el:.1f} s)")
    return out


def check_model():
    files = sorted(glob.glob(os.path.join(here, "model", "*.npy")))
    got = {}
    for p in files:
        a = np.load(p)
        assert a.ndim == 2 and a.dtype in (np.float32, np.float64), (p, a.shape, a.dtype)
        assert np.all(np.isfinite(a)) and a.min() >= 0, p
        sums = a.astype(np.float64).sum(axis=0)
        assert sums.min() > 0, (p, sums)
        got[os.path.basename(p)] = {"shape": list(a.shape), "dtype": str(a.dtype),
                                    "column_sums": [float(v) for v in sums]}
        print(f"numpy.load {os.path.relpath(p, root)}: {a.dtype} {a.shape}, column sums "
              f"{sums.min():.6g} to {sums.max():.6g}")
    return got


def write_npy_references():
    a = ((3 * np.arange(9)[:, None] + np.arange(3)[None, :] + 1) / 10).astype(np.float32)
    np.save(os.path.join(here, "numpy_9x3.npy"), a)
    b = np.zeros((513, 2), np.float32)
    b[:, 0] = (np.arange(513) + 1) / 1000
    np.save(os.path.join(here, "numpy_513x2.npy"), b)


def main():
    write_npy_references()
    x = make_fixture()
    cases = {}
    for beta in (2.0, 1.0, 0.5):
        cases[f"fixture-beta{beta:g}"] = case(f"fixture beta {beta:g}", x, 512, 128, 8, beta, 200, 0)
    for src, k in (("voice", 32), ("noise", 16)):
        y = read(f"testdata/demo/train/{src}.wav").astype(np.float64) / 32768.0
        cases[f"demo-{src}"] = case(f"demo {src}", y, 1024, 256, k, 1.0, 400, 1e-4)
    golden = {"script": "testdata/learn/make_golden.py", "sklearn": __import__("sklearn").__version__,
              "fixture": "testdata/learn/fixture.wav", "cases": cases}
    if os.path.isdir(os.path.join(here, "model")):
        golden["numpy_load"] = check_model()
    with open(os.path.join(here, "golden.json"), "w") as f:
        json.dump(golden, f, indent=2, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
