"""sepdref: the numpy reference of sepd's signal path, shared by make_demo.py
and reference.py.

It mirrors the streaming engine of DESIGN.md:

- STFT: periodic Hann (scipy.signal.get_window('hann', n), the first n values
  of the symmetric window of length n+1), fft_size N, hop H. Like
  stft.Analyzer, whose history starts as zeros, frame t holds input samples
  [t*H - (N-H), t*H + H), i.e. the input is preceded by N-H zeros; frames run
  until every input sample has been seen by N/H frames.
- iSTFT: weighted overlap-add with the same window, divided by the sum of the
  squared windows, which reproduces the input to rounding; then shifted back by
  N-H samples (stft.DelaySamples) and trimmed to the input length, so outputs
  have the input's length and alignment.
- Fixed-basis KL projections: sklearn's batch solver, and the streaming
  warm-started one of separate.Separator.
"""

import io
import zipfile

import numpy as np
import scipy.io.wavfile
import scipy.signal

FFT_SIZE = 1024
HOP = 256
RATE_HZ = 16000


def window(n=FFT_SIZE):
    """Periodic Hann window of length n."""
    return scipy.signal.get_window("hann", n)


def read_wav(path):
    """Reads a mono PCM16 WAV; returns (int16 samples, float64 samples / 32768)."""
    rate, x = scipy.io.wavfile.read(path)
    if rate != RATE_HZ or x.dtype != np.int16 or x.ndim != 1:
        raise ValueError(f"{path}: want {RATE_HZ} Hz mono PCM16, got {rate} Hz {x.dtype} {x.shape}")
    return x, x.astype(np.float64) / 32768.0


def write_wav(path, pcm16):
    """Writes int16 samples as a mono PCM16 WAV (plain 44-byte header)."""
    assert pcm16.dtype == np.int16 and pcm16.ndim == 1
    scipy.io.wavfile.write(path, RATE_HZ, pcm16)


def read_float_wav(path):
    """Reads a float32 WAV rendered by sox; returns float64 samples."""
    rate, x = scipy.io.wavfile.read(path)
    if rate != RATE_HZ:
        raise ValueError(f"{path}: want {RATE_HZ} Hz, got {rate}")
    return x.astype(np.float64)


def stft(x, n=FFT_SIZE, hop=HOP):
    """Streaming-aligned STFT; returns X (F x T) complex."""
    w = window(n)
    delay = n - hop
    # Up to the last frame that still holds the last sample, as the streaming
    # engine does when it flushes N-H zeros after the input.
    frames = (len(x) - 1 + delay) // hop + 1
    pad = np.zeros(frames * hop + delay)
    pad[delay:delay + len(x)] = x
    idx = np.arange(n)[None, :] + hop * np.arange(frames)[:, None]
    return np.fft.rfft(pad[idx] * w[None, :], axis=1).T


def istft(X, length, n=FFT_SIZE, hop=HOP):
    """Weighted overlap-add inverse of stft(); returns `length` samples aligned with the input."""
    w = window(n)
    delay = n - hop
    frames = X.shape[1]
    y = np.zeros(frames * hop + delay)
    norm = np.zeros_like(y)
    seg = np.fft.irfft(X.T, n=n, axis=1) * w[None, :]
    for t in range(frames):
        y[t * hop:t * hop + n] += seg[t]
        norm[t * hop:t * hop + n] += w * w
    out = y[delay:delay + length]
    den = norm[delay:delay + length]
    # Every kept sample is covered by n/hop frames, so den is the constant
    # sum of squared windows (1.5 for periodic Hann at 75% overlap).
    assert np.all(den > 1e-6), "istft: sample not covered by any frame"
    return out / den


def magnitude_frames(x):
    """|STFT| (F x T) of a signal."""
    return np.abs(stft(x))


def masks_from_parts(parts, power=2.0, eps=1e-12):
    """Masks M_s = P_s^p / sum_j P_j^p from per-source models P_s (F x T); zeros where all are 0."""
    num = [np.power(np.maximum(p, 0.0), power) for p in parts]
    den = np.sum(num, axis=0)
    out = []
    for q in num:
        m = np.zeros_like(q)
        np.divide(q, den, out=m, where=den > eps)
        out.append(m)
    return out


def stream_kl(V, W, iterations=10, floor=1e-3, eps=1e-12):
    """Streaming fixed-basis KL projection, one frame at a time (separate.Separator, beta=1).

    V: F x T magnitudes; W: F x K bases (all sources side by side).
    Per frame v:
      - silence (max v == 0): h = 0, and the next frame cold-starts;
      - cold start (first frame, after silence): h = sqrt(mean(v) / K) everywhere
        (sklearn's initial value for init='custom', update_H=False);
      - warm start: h = max(h_prev, floor * max(h_prev)), so no activation stays locked at 0;
      - `iterations` multiplicative KL updates (Lee & Seung 2001):
            h <- h * (W^T (v / (W h))) / (W^T 1)
    Returns H (K x T).
    """
    F, K = W.shape
    T = V.shape[1]
    H = np.zeros((K, T))
    colsum = W.sum(axis=0)
    h = None
    for t in range(T):
        v = V[:, t]
        if v.max() <= 0.0:
            h = None
            continue
        if h is None:
            h = np.full(K, np.sqrt(v.mean() / K))
        else:
            h = np.maximum(h, floor * h.max())
        for _ in range(iterations):
            wh = W @ h
            h = h * (W.T @ (v / np.maximum(wh, eps))) / colsum
        H[:, t] = h
    return H


def save_npz(path, arrays):
    """np.savez with fixed zip timestamps, so that two runs give identical bytes.

    Stored (not deflated) members "NAME.npy", in the given order, as np.savez writes them.
    """
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as z:
        for name, a in arrays:
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(a), allow_pickle=False)
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            z.writestr(info, member.getvalue())
    with open(path, "wb") as f:
        f.write(buf.getvalue())
