#!/usr/bin/python3
"""make_demo.py: turns the raw renders of make_demo.sh into sepd's demo fixture.

Run it through make_demo.sh (which renders --work); it writes
  cmd/sepd/demo/voice.wav, noise.wav, mix.wav   8 s, 16 kHz mono PCM16, mix == voice + noise
                                                sample for sample (int16), no clipping
  cmd/sepd/demo/bases.npz                       "voice" (K_VOICE x 513) and "noise"
                                                (K_NOISE x 513), float32 sklearn components_
  testdata/demo/train/voice.wav, noise.wav      the training material the bases come from

The bases are learned on the training material only (other sentences, another
noise segment), never on the demo's clean sources.
"""

import argparse
import os
import sys
import warnings

import numpy as np
from sklearn.decomposition import NMF
from sklearn.exceptions import ConvergenceWarning

sys.dont_write_bytecode = True  # no __pycache__ in testdata/gen
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sepdref  # noqa: E402

RATE = sepdref.RATE_HZ
DEMO_SAMPLES = 8 * RATE          # 8 s
LEAD_SAMPLES = RATE * 45 // 100  # the voice starts after 0.45 s of noise alone
TRAIN_NOISE = (0 * RATE, 28 * RATE)   # segments of the 60 s noise render; they never overlap
DEMO_NOISE = (40 * RATE, 48 * RATE)
HUM_GAIN_DB = -9.0     # the mains buzz relative to the fan, in RMS
SNR_DB = 0.0           # voice over noise in the demo mixture, over the whole 8 s
PEAK_DBFS = -3.0       # the mixture's peak
K_VOICE = 32
K_NOISE = 16
NMF_MAX_ITER = 400


def rms(x):
    return np.sqrt(np.mean(x * x))


def trim_silence(x, rel=1e-3):
    """Cuts leading and trailing samples below rel * peak (espeak-ng pads both ends)."""
    on = np.flatnonzero(np.abs(x) > rel * np.abs(x).max())
    return x[on[0]:on[-1] + 1]


def quantise(x):
    q = np.round(x * 32768.0)
    if q.max() > 32767 or q.min() < -32768:
        raise SystemExit("make_demo: would clip")
    return q.astype(np.int16)


def learn(x, k):
    """sklearn NMF (KL, multiplicative updates) on |STFT| of x; returns components_ (k x F) float32."""
    V = sepdref.magnitude_frames(x)
    model = NMF(n_components=k, init="nndsvda", solver="mu", beta_loss="kullback-leibler",
                max_iter=NMF_MAX_ITER, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(V.T)
    print(f"  NMF K={k} on {V.shape[1]} frames: {model.n_iter_} iterations, "
          f"KL reconstruction error {model.reconstruction_err_:.2f}")
    return model.components_.astype(np.float32)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", required=True, help="folder of make_demo.sh's raw renders")
    ap.add_argument("--root", required=True, help="repository root")
    ap.add_argument("--k-voice", type=int, default=K_VOICE)
    ap.add_argument("--k-noise", type=int, default=K_NOISE)
    args = ap.parse_args()

    def raw(name):
        return sepdref.read_float_wav(os.path.join(args.work, name + ".wav"))

    fan, hum = raw("fan"), raw("hum")
    noise = fan / rms(fan) + hum / rms(hum) * 10 ** (HUM_GAIN_DB / 20)

    speech = trim_silence(raw("voice_demo"))
    if LEAD_SAMPLES + len(speech) > DEMO_SAMPLES - RATE // 4:
        raise SystemExit(f"make_demo: demo speech is {len(speech) / RATE:.2f} s, too long for 8 s")
    voice = np.zeros(DEMO_SAMPLES)
    voice[LEAD_SAMPLES:LEAD_SAMPLES + len(speech)] = speech
    nd = noise[DEMO_NOISE[0]:DEMO_NOISE[1]].copy()

    # Noise at SNR_DB below the voice, then both scaled so that the mixture peaks at PEAK_DBFS.
    nd *= rms(voice) / rms(nd) * 10 ** (-SNR_DB / 20)
    g = 10 ** (PEAK_DBFS / 20) / np.abs(voice + nd).max()
    v16, n16 = quantise(voice * g), quantise(nd * g)
    mix = v16.astype(np.int32) + n16.astype(np.int32)
    if np.abs(mix).max() > 32767:
        raise SystemExit("make_demo: mixture would clip")
    m16 = mix.astype(np.int16)

    # Training material: the training speech at the demo voice's level, the
    # training noise segment at the demo noise's level.
    tv = trim_silence(raw("voice_train"))
    tv = np.concatenate([np.zeros(RATE // 4), tv, np.zeros(RATE // 4)])
    tv *= g * np.abs(speech).max() / np.abs(tv).max()
    tn = noise[TRAIN_NOISE[0]:TRAIN_NOISE[1]] * (g * rms(nd) / rms(noise[DEMO_NOISE[0]:DEMO_NOISE[1]]))
    tv16, tn16 = quantise(tv), quantise(tn)

    demo = os.path.join(args.root, "cmd", "sepd", "demo")
    train = os.path.join(args.root, "testdata", "demo", "train")
    os.makedirs(demo, exist_ok=True)
    os.makedirs(train, exist_ok=True)
    sepdref.write_wav(os.path.join(demo, "voice.wav"), v16)
    sepdref.write_wav(os.path.join(demo, "noise.wav"), n16)
    sepdref.write_wav(os.path.join(demo, "mix.wav"), m16)
    sepdref.write_wav(os.path.join(train, "voice.wav"), tv16)
    sepdref.write_wav(os.path.join(train, "noise.wav"), tn16)

    snr = 10 * np.log10(np.sum(v16.astype(float) ** 2) / np.sum(n16.astype(float) ** 2))
    peak = 20 * np.log10(np.abs(m16).max() / 32768)
    print(f"demo: {len(m16) / RATE:.2f} s, SNR {snr:.2f} dB, mixture peak {peak:.2f} dBFS")
    print(f"train: voice {len(tv16) / RATE:.2f} s, noise {len(tn16) / RATE:.2f} s")

    # Bases from the PCM16 training files as written, exactly what `sepd learn` will read.
    print("learning bases")
    bv = learn(tv16.astype(np.float64) / 32768.0, args.k_voice)
    bn = learn(tn16.astype(np.float64) / 32768.0, args.k_noise)
    sepdref.save_npz(os.path.join(demo, "bases.npz"), [("voice", bv), ("noise", bn)])


if __name__ == "__main__":
    main()
