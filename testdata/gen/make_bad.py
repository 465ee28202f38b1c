#!/usr/bin/python3
"""Makes testdata/bad/: one small fixture per kind of bad input that `sepd separate`
must refuse with exit status 2, a message naming the problem and the file, and no
output file. Run: /usr/bin/python3 testdata/gen/make_bad.py (from the repository root).
Deterministic: fixed seeds, no timestamps."""
import os
import struct

import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "..", "bad")
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(0)
F = 513  # fft_size 1024 -> 1024/2 + 1 bins
K = 4


def wav(path, samples, rate=16000, fmt_tag=1, bits=16, channels=1, data_size=None, cut=None):
    data = samples
    if data_size is None:
        data_size = len(data)
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", fmt_tag, channels, rate, rate * block, block, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", data_size) + data
    raw = b"RIFF" + struct.pack("<I", 4 + len(body) - 4) + body
    if cut is not None:
        raw = raw[:cut]
    with open(os.path.join(OUT, path), "wb") as f:
        f.write(raw)


pcm = (rng.standard_normal(16000) * 3000).astype("<i2").tobytes()
wav("good.wav", pcm)                                  # 1 s of noise, 16 kHz PCM16: the control case
wav("truncated.wav", pcm, cut=30)                     # header cut inside the fmt chunk
wav("lying.wav", pcm, data_size=10 * len(pcm))        # data chunk claims 10x the bytes the file has
wav("alaw.wav", pcm[: len(pcm) // 2], fmt_tag=6, bits=8)  # A-law: an encoding sepd does not read
wav("rate48k.wav", pcm, rate=48000)                   # a rate other than the config's 16000 Hz
open(os.path.join(OUT, "empty.wav"), "wb").close()    # zero bytes

good = rng.random((K, F)).astype(np.float32) + 0.01   # sklearn components_ orientation (K x F)
np.save(os.path.join(OUT, "good.npy"), good)
b = good.copy(); b[1, 7] = np.nan; np.save(os.path.join(OUT, "nan.npy"), b)
b = good.copy(); b[2, 9] = np.inf; np.save(os.path.join(OUT, "inf.npy"), b)
b = good.copy(); b[0, 3] = -0.5; np.save(os.path.join(OUT, "negative.npy"), b)
b = good.copy(); b[3, :] = 0; np.save(os.path.join(OUT, "zerocol.npy"), b)
np.save(os.path.join(OUT, "shape.npy"), rng.random((K, 500)).astype(np.float32))  # 500 fits neither 513 orientation

with open(os.path.join(OUT, "unknown_key.yaml"), "w") as f:
    f.write("""stft:
  fft_size: 1024
  hopp: 256
sources:
  - {name: a, bases: good.npy}
  - {name: b, bases: good.npy}
""")
with open(os.path.join(OUT, "rate.yaml"), "w") as f:
    f.write("""sample_rate: 16000
sources:
  - {name: a, bases: good.npy}
  - {name: b, bases: good.npy}
""")
