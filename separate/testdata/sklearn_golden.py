#!/usr/bin/python3
"""Golden fixtures for package separate, computed with scikit-learn.

Run from anywhere with the Debian interpreter (python3-sklearn 1.2.1,
numpy 1.24, scipy 1.10) and espeak-ng 1.51 on PATH:

    /usr/bin/python3 separate/testdata/sklearn_golden.py

It is deterministic (espeak-ng output is reproducible, every random draw is
seeded) and rewrites these files next to itself:

    mix_V_f32.npy       V, F x T = 257 x 200, float32, C order: magnitude STFT
                        (periodic Hann 512, hop 128, 16 kHz) of espeak-ng
                        speech plus seeded synthetic "fan" noise, strictly
                        positive so that beta = 0 is legal for sklearn.
    W.npy               W, F x K = 257 x 16, float64, C order (our layout):
                        12 voice bases then 4 noise bases, each learned by
                        sklearn NMF (KL) on *other* recordings than the mix.
    W_f32_fortran.npy   the same W as float32 in Fortran order.
    components.npy      W.T, K x F float64: sklearn's components_ layout.
    bases.npz           savez_compressed(voice=<12 x F components_>,
                                         noise=<F x 4, our layout>).
    golden_H_*.npy      K x T_GOLDEN float64: the activations that
                        non_negative_factorization(V.T, H=W.T, init='custom',
                        update_H=False, solver='mu', beta_loss=beta,
                        max_iter=N_ITER, tol=0) returns (transposed back to
                        our layout), on the first T_GOLDEN frames of V, for
                        beta in 2, 1, 0.5, 0, and with an L1 penalty for
                        beta 2 and 0.5. golden_H_beta1_l1.npy is the
                        exception: see the comment on sklearn's beta = 1 L1
                        in main().
    golden.json         the parameters and sklearn's beta divergences.

The computations use V as float64 (the float32 values widened exactly), so
the Go test that reads mix_V_f32.npy sees the same numbers.
"""

import json
import os
import subprocess
import tempfile

import numpy as np
import scipy
import scipy.io.wavfile
import scipy.signal
import sklearn
from sklearn.decomposition import NMF, non_negative_factorization
from sklearn.decomposition._nmf import _beta_divergence

HERE = os.path.dirname(os.path.abspath(__file__))
RATE = 16000
FFT = 512
HOP = 128
F = FFT // 2 + 1
K_VOICE, K_NOISE = 12, 4
T = 200
T_GOLDEN = 100
N_ITER = 50
BETAS = [2.0, 1.0, 0.5, 0.0]

TRAIN_TEXT = ("A large rose bush stood near the entrance of the garden. "
              "The roses growing on it were white, but there were three "
              "gardeners at it, busily painting them red.")
TEST_TEXT = ("The quick brown fox jumps over the lazy dog while seven "
             "bright sailors sing about the cold northern sea.")


def speak(text, voice):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "s.wav")
        subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", path, text],
                       check=True)
        rate, x = scipy.io.wavfile.read(path)
    assert rate == 22050, rate
    x = x.astype(np.float64) / 32768.0
    return scipy.signal.resample_poly(x, 160, 441)  # 22050 -> 16000 Hz


def fan_noise(rng, n):
    """Pink-ish noise, low-passed, plus a 120 Hz hum with harmonics."""
    white = rng.standard_normal(n)
    b, a = scipy.signal.butter(2, 2500, fs=RATE)
    x = scipy.signal.lfilter(b, a, white)
    t = np.arange(n) / RATE
    for h, amp in ((1, 1.0), (2, 0.5), (3, 0.35), (5, 0.2)):
        x += amp * 0.3 * np.sin(2 * np.pi * 120 * h * t + rng.uniform(0, 2 * np.pi))
    return 0.05 * x / np.std(x)


def magnitude(x):
    win = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(FFT) / FFT)  # periodic Hann
    n = 1 + (len(x) - FFT) // HOP
    frames = np.stack([x[i * HOP:i * HOP + FFT] * win for i in range(n)], axis=1)
    return np.abs(np.fft.rfft(frames, axis=0))  # F x T


def learn(V, k):
    model = NMF(n_components=k, beta_loss="kullback-leibler", solver="mu",
                init="nndsvda", max_iter=400, tol=0, random_state=0)
    model.fit(V.T)  # sklearn wants frames as rows
    return model.components_.T  # F x k, our layout


def main():
    rng = np.random.default_rng(20240229)

    voice_train = speak(TRAIN_TEXT, "en-us")
    noise_train = fan_noise(rng, len(voice_train))
    W_voice = learn(magnitude(voice_train) + 1e-9, K_VOICE)
    W_noise = learn(magnitude(noise_train) + 1e-9, K_NOISE)
    W = np.hstack([W_voice, W_noise])
    W /= W.max()  # scale is arbitrary for NMF; keep values readable
    assert W.shape == (F, K_VOICE + K_NOISE)
    assert (W >= 0).all() and (W.sum(axis=0) > 0).all()

    voice = speak(TEST_TEXT, "en-gb")
    mix = voice + fan_noise(rng, len(voice))
    V = magnitude(mix)[:, 20:20 + T].astype(np.float32)
    assert V.shape == (F, T) and V.min() > 0, V.min()
    Vd = V.astype(np.float64)

    np.save(os.path.join(HERE, "mix_V_f32.npy"), V)
    np.save(os.path.join(HERE, "W.npy"), np.ascontiguousarray(W))
    Wf = np.asfortranarray(W.astype(np.float32))
    assert Wf.flags.f_contiguous and not Wf.flags.c_contiguous
    np.save(os.path.join(HERE, "W_f32_fortran.npy"), Wf)
    np.save(os.path.join(HERE, "components.npy"), np.ascontiguousarray(W.T))
    np.savez_compressed(os.path.join(HERE, "bases.npz"),
                        voice=np.ascontiguousarray(W[:, :K_VOICE].T),
                        noise=np.ascontiguousarray(W[:, K_VOICE:]))

    X = np.ascontiguousarray(Vd[:, :T_GOLDEN].T)  # sklearn layout, T x F
    K = W.shape[1]
    init = np.sqrt(X.mean() / K)
    meta = {
        "generator": "separate/testdata/sklearn_golden.py",
        "sklearn": sklearn.__version__, "numpy": np.__version__,
        "scipy": scipy.__version__,
        "F": F, "K": K, "K_voice": K_VOICE, "T": T, "T_golden": T_GOLDEN,
        "fft_size": FFT, "hop": HOP, "sample_rate_hz": RATE,
        "n_iter": N_ITER, "init": float(init), "cases": [],
    }

    def sk(beta, lam):
        # L1 on the activations: sklearn 1.2 multiplies alpha_W by
        # n_features (= F) before adding it to the MU denominator, so our
        # lambda = F * alpha_W * l1_ratio.
        Wsk, _, n_iter = non_negative_factorization(
            X, H=W.T.copy(), n_components=K, init="custom", update_H=False,
            solver="mu", beta_loss=beta, max_iter=N_ITER, tol=0,
            alpha_W=lam / F, l1_ratio=1.0)
        assert n_iter == N_ITER and np.isfinite(Wsk).all()
        return Wsk

    def save(name, beta, lam, Wsk, source):
        np.save(os.path.join(HERE, "golden_H_%s.npy" % name),
                np.ascontiguousarray(Wsk.T))
        meta["cases"].append({
            "name": name, "beta": beta, "sparsity": lam,
            "alpha_W": lam / F, "l1_ratio": 1.0, "source": source,
            "file": "golden_H_%s.npy" % name,
            # sklearn's _beta_divergence(X, W, H, beta), square_root=False
            "divergence": float(_beta_divergence(X, Wsk, W.T, beta)),
        })

    for beta in BETAS:
        save("beta%g" % beta, beta, 0.0, sk(beta, 0.0), "sklearn")

    # Sparsity, with lambda a tenth of the mean MU denominator at the start.
    H0 = np.full((T_GOLDEN, K), init)
    lam2 = 0.1 * float((H0 @ (W.T @ W)).mean())
    save("beta2_l1", 2.0, lam2, sk(2.0, lam2), "sklearn")
    WH = H0 @ W.T
    lam05 = 0.1 * float((WH ** -0.5 @ W).mean())
    save("beta0.5_l1", 0.5, lam05, sk(0.5, lam05), "sklearn")

    # For beta = 1 with L1 and update_H=False, sklearn 1.2.1 does not solve
    # the penalised problem: _multiplicative_update_w caches
    # H_sum = np.sum(H, axis=1), takes denominator = H_sum[np.newaxis, :]
    # (a view) and then does denominator += l1_reg_W in place, so the cached
    # H_sum grows by l1_reg_W every iteration (iteration n divides by
    # colsum + n * lambda). Our reference is the same update with a constant
    # lambda, written out here; the json records how far sklearn is from it.
    lam1 = 0.1 * float(W.sum(axis=0).mean())
    Hs = H0.copy()
    colsum = W.T.sum(axis=1)
    for _ in range(N_ITER):
        WH = Hs @ W.T
        WH[WH == 0] = np.finfo(np.float32).eps
        Hs = Hs * (((X / WH) @ W) / (colsum + lam1))
    save("beta1_l1", 1.0, lam1, Hs, "numpy, constant lambda")
    skl = sk(1.0, lam1)
    meta["sklearn_beta1_l1_max_rel_diff"] = float(np.abs(skl - Hs).max() / Hs.max())
    acc = H0.copy()
    for n in range(1, N_ITER + 1):
        WH = acc @ W.T
        WH[WH == 0] = np.finfo(np.float32).eps
        acc = acc * (((X / WH) @ W) / (colsum + n * lam1))
    meta["sklearn_beta1_l1_vs_accumulating_max_rel_diff"] = float(
        np.abs(skl - acc).max() / acc.max())

    with open(os.path.join(HERE, "golden.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
