#!/usr/bin/python3
"""sweep_k.py: how the number of bases per source changes the demo's separation.

    /usr/bin/python3 testdata/gen/sweep_k.py          (from the repository root; about a minute)

Learns bases from testdata/demo/train/{voice,noise}.wav for several (K_voice,
K_noise) exactly as make_demo.py does, runs the streaming prototype of
reference.py on cmd/sepd/demo/mix.wav and prints the SDR improvement per
source (bss_eval and plain), for choosing make_demo.py's K_VOICE and K_NOISE.
Then, with the committed bases.npz, the plain SDR gain of the streaming
prototype for several warm-start floors and iteration counts. Writes nothing.
"""

import os
import sys

import numpy as np

sys.dont_write_bytecode = True  # no __pycache__ in testdata/gen
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_demo  # noqa: E402
import reference  # noqa: E402
import sepdref  # noqa: E402

FLOORS = [0.0, 1e-6, 1e-3, 1e-2]
ITERATIONS = [1, 3, 10, 30]
GRID = [(16, 8), (16, 16), (24, 16), (32, 8), (32, 16), (32, 32), (48, 16), (64, 16), (64, 32)]


def main():
    root = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    demo = os.path.join(root, "cmd", "sepd", "demo")
    train = os.path.join(root, "testdata", "demo", "train")
    tv = sepdref.read_wav(os.path.join(train, "voice.wav"))[1]
    tn = sepdref.read_wav(os.path.join(train, "noise.wav"))[1]
    x = sepdref.read_wav(os.path.join(demo, "mix.wav"))[1]
    refs = [sepdref.read_wav(os.path.join(demo, n + ".wav"))[1] for n in ("voice", "noise")]
    mixture = reference.score(refs, [x, x])
    X = sepdref.stft(x)
    V = np.abs(X)

    cache = {}

    def bases(sig, k):
        key = (id(sig), k)
        if key not in cache:
            cache[key] = make_demo.learn(sig, k).astype(np.float64).T
        return cache[key]

    rows = []
    for kv, kn in GRID:
        W = np.concatenate([bases(tv, kv), bases(tn, kn)], axis=1)
        H = sepdref.stream_kl(V, W, reference.STREAM_ITERATIONS, reference.STREAM_FLOOR)
        parts = [W[:, :kv] @ H[:kv], W[:, kv:] @ H[kv:]]
        ests = [sepdref.istft(m * X, len(x)) for m in sepdref.masks_from_parts(parts, reference.MASK_POWER)]
        r = reference.score(refs, ests)
        rows.append((kv, kn, [(r[i]["sdr"] - mixture[i]["sdr"], r[i]["sdr_plain"] - mixture[i]["sdr_plain"])
                              for i in range(2)]))
    print("K_voice K_noise   voice +SDR +plain   noise +SDR +plain")
    for kv, kn, g in rows:
        print(f"{kv:7d} {kn:7d}   {g[0][0]:14.2f} {g[0][1]:6.2f}   {g[1][0]:10.2f} {g[1][1]:6.2f}")

    npz = np.load(os.path.join(demo, "bases.npz"))
    kv = npz["voice"].shape[0]
    W = np.concatenate([npz["voice"], npz["noise"]]).astype(np.float64).T
    print("\nplain SDR gain (voice), committed bases; columns: floor")
    print("iterations " + " ".join(f"{f:>7g}" for f in FLOORS))
    for it in ITERATIONS:
        gains = []
        for fl in FLOORS:
            H = sepdref.stream_kl(V, W, it, fl)
            parts = [W[:, :kv] @ H[:kv], W[:, kv:] @ H[kv:]]
            est = sepdref.istft(sepdref.masks_from_parts(parts, reference.MASK_POWER)[0] * X, len(x))
            gains.append(reference.plain_sdr(refs[0], est) - mixture[0]["sdr_plain"])
        print(f"{it:10d} " + " ".join(f"{g:7.2f}" for g in gains))


if __name__ == "__main__":
    main()
