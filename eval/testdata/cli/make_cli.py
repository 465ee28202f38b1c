#!/usr/bin/python3
"""WAV fixtures and mir_eval goldens for `sepd eval` (cmd/sepd/eval_test.go).

Run with Debian's python3 (python3-mir-eval 0.7, numpy 1.24, scipy):

    /usr/bin/python3 eval/testdata/cli/make_cli.py

It writes, next to itself, small float32 WAV files (8 kHz, 4000 samples) and
golden.json. Each case of golden.json names its reference and estimate files
(by source name, as the command line gets them), whether --permute is asked,
and the scores mir_eval gives, computed as `sepd eval --help` documents:

  * every channel on its own with mir_eval.separation.bss_eval_sources, the
    scores then averaged over channels in dB;
  * with permute, one matching for all channels: the permutation with the
    highest SIR averaged over channels and sources, found here by scoring
    every permutation with compute_permutation=False (for one channel this is
    mir_eval's own compute_permutation=True, which the script checks);
  * SI-SDR from its formula (Le Roux et al. 2019), per channel, averaged.

The scores are computed from the float32 samples as stored, read back with
scipy.io.wavfile, so storage adds no error. Infinite scores are the strings
"inf" and "-inf". Seeded: a rerun writes the same files.

The files whose names start with bad_ are for the error cases (a shorter
file, another rate, another channel count, a silent channel); they have no
scores.
"""

import itertools
import json
import os

import numpy as np
import scipy.io.wavfile
import scipy.signal
import mir_eval

RATE = 8000
N = 4000  # 0.5 s: long enough beside the 512-tap filter, small to commit
HERE = os.path.dirname(os.path.abspath(__file__))


def rms(x):
    return np.sqrt(np.mean(x ** 2))


def at_level(x, ref, db):
    return x * (rms(ref) * 10.0 ** (db / 20.0) / rms(x))


def voice(rng, f0=180.0):
    t = np.arange(N) / RATE
    f = f0 * (1 + 0.03 * np.sin(2 * np.pi * 5.0 * t))
    phase = 2 * np.pi * np.cumsum(f) / RATE
    x = sum(np.sin(k * phase + rng.uniform(0, 2 * np.pi)) / k for k in range(1, 13))
    env = 0.5 - 0.5 * np.cos(2 * np.pi * 4.0 * t)
    return 0.3 * env * x + at_level(rng.standard_normal(N), x, -50.0)


def noise(rng):
    b, a = scipy.signal.butter(2, [300 / (RATE / 2), 2500 / (RATE / 2)], btype="band")
    x = scipy.signal.lfilter(b, a, rng.standard_normal(N))
    t = np.arange(N) / RATE
    return 0.2 * (0.6 + 0.4 * np.sin(2 * np.pi * 2.0 * t)) * x


def estimate(rng, refs, j, leak_db, noise_db):
    """refs[j] plus every other reference leak_db below it, plus white noise."""
    s = refs[j]
    e = s.copy()
    for i, o in enumerate(refs):
        if i != j:
            e += at_level(o, s, leak_db)
    return e + at_level(rng.standard_normal(s.shape), s, noise_db)


def write(name, x, rate=RATE):
    """x: samples, or channels x samples. Returns what a reader gets back."""
    x = np.asarray(x, dtype=np.float32)
    data = x.T if x.ndim == 2 else x
    scipy.io.wavfile.write(os.path.join(HERE, name), rate, np.ascontiguousarray(data))
    _, back = scipy.io.wavfile.read(os.path.join(HERE, name))
    back = back.astype(np.float64)
    return back.T if back.ndim == 2 else back[np.newaxis, :]


def si_sdr(ref, est):
    alpha = np.dot(est, ref) / np.dot(ref, ref)
    t = alpha * ref
    num, den = np.sum(t ** 2), np.sum((t - est) ** 2)
    return np.inf if den == 0 else 10 * np.log10(num / den)


def enc(x):
    x = float(x)
    if np.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def score(refs, ests, permute):
    """refs, ests: lists (sources) of channels x samples arrays."""
    n, chans = len(refs), refs[0].shape[0]
    perms = list(itertools.permutations(range(n))) if permute else [tuple(range(n))]
    per = {}  # perm -> per channel (sdr, sir, sar) arrays
    for p in perms:
        per[p] = []
        for c in range(chans):
            r = np.stack([x[c] for x in refs])
            e = np.stack([ests[k][c] for k in p])
            sdr, sir, sar, _ = mir_eval.separation.bss_eval_sources(r, e, compute_permutation=False)
            per[p].append((sdr, sir, sar))
    best = max(perms, key=lambda p: (np.mean([np.mean(s[1]) for s in per[p]]), -perms.index(p)))
    if permute and chans == 1:
        r = np.stack([x[0] for x in refs])
        e = np.stack([x[0] for x in ests])
        _, _, _, mp = mir_eval.separation.bss_eval_sources(r, e, compute_permutation=True)
        assert tuple(mp) == best, (mp, best)
    out = []
    for j in range(n):
        k = best[j]
        raw = []  # per channel: sdr, sir, sar, si-sdr
        for c in range(chans):
            raw.append([per[best][c][i][j] for i in range(3)] + [si_sdr(refs[j][c], ests[k][c])])
        mean = np.mean(np.array(raw), axis=0)
        keys = ("sdr", "sir", "sar", "si_sdr")
        out.append(dict(estimate_index=k,
                        per_channel=[dict(channel=c, **{key: enc(x) for key, x in zip(keys, raw[c])}) for c in range(chans)],
                        **{key: enc(x) for key, x in zip(keys, mean)}))
    return out


def main():
    rng = np.random.default_rng(20240612)
    v, n = voice(rng), noise(rng)
    cases = []

    def case(name, refs, ests, permute, note):
        # refs, ests: lists of (source name, file name, samples)
        rd = [x[2] for x in refs]
        ed = [x[2] for x in ests]
        cases.append({
            "name": name, "note": note, "permute": permute,
            "refs": [{"name": a, "file": b} for a, b, _ in refs],
            "ests": [{"name": a, "file": b} for a, b, _ in ests],
            "sources": score(rd, ed, permute),
        })

    rv, rn = write("ref_voice.wav", v), write("ref_noise.wav", n)
    refs = [("voice", "ref_voice.wav", rv), ("noise", "ref_noise.wav", rn)]
    gv = write("good_voice.wav", estimate(rng, [v, n], 0, -25.0, -35.0))
    gn = write("good_noise.wav", estimate(rng, [v, n], 1, -25.0, -35.0))
    good = [("voice", "good_voice.wav", gv), ("noise", "good_noise.wav", gn)]
    case("good", refs, good, False, "a good separation")
    pv = write("poor_voice.wav", estimate(rng, [v, n], 0, -3.0, -10.0))
    pn = write("poor_noise.wav", estimate(rng, [v, n], 1, -3.0, -10.0))
    case("poor", refs, [("voice", "poor_voice.wav", pv), ("noise", "poor_noise.wav", pn)], False, "a poor separation")
    swapped = [("voice", "good_noise.wav", gn), ("noise", "good_voice.wav", gv)]
    case("swapped", refs, swapped, False, "the estimates given under each other's name")
    case("swapped_permute", refs, swapped, True, "the same, with --permute finding the right matching")
    case("good_permute", refs, good, True, "--permute keeps the right matching")

    # A reference 60 dB below the other but not silent; its estimate is mostly
    # leakage of the loud one.
    q = n * 1e-3
    rq = write("ref_quiet.wav", q)
    sv = write("silentish_voice.wav", v + at_level(q, v, -60.0) + at_level(rng.standard_normal(N), v, -40.0))
    sq = write("silentish_quiet.wav", q + at_level(v, q, -6.0) + at_level(rng.standard_normal(N), q, -20.0))
    case("silentish", [("voice", "ref_voice.wav", rv), ("quiet", "ref_quiet.wav", rq)],
         [("voice", "silentish_voice.wav", sv), ("quiet", "silentish_quiet.wav", sq)], False,
         "one source 60 dB down, nearly silent, estimated poorly")

    # Stereo: a second voice on the right channel, noise panned.
    v2 = voice(rng, 140.0)
    sv_ref = np.stack([v, 0.6 * v + 0.4 * v2])
    sn_ref = np.stack([0.5 * n, n])
    srv, srn = write("ref_voice_stereo.wav", sv_ref), write("ref_noise_stereo.wav", sn_ref)
    srefs = [("voice", "ref_voice_stereo.wav", srv), ("noise", "ref_noise_stereo.wav", srn)]

    def stereo_est(j, leaks):
        src = [sv_ref, sn_ref]
        e = src[j].copy()
        for c, leak in enumerate(leaks):
            o = src[1 - j][c]
            e[c] += at_level(o, src[j][c], leak) + at_level(rng.standard_normal(N), src[j][c], -30.0)
        return e

    sev = write("stereo_voice.wav", stereo_est(0, [-20.0, -12.0]))
    sen = write("stereo_noise.wav", stereo_est(1, [-18.0, -10.0]))
    sests = [("voice", "stereo_voice.wav", sev), ("noise", "stereo_noise.wav", sen)]
    case("stereo", srefs, sests, False, "two channels, scored each and averaged")
    case("stereo_permute", srefs, sests, True, "two channels agreeing on the matching")

    # The channels disagree: on the left each estimate holds its own source, on
    # the right mostly the other one. The joint matching is the one whose SIR,
    # averaged over both channels, is higher.
    def mixed(j):
        src = [sv_ref, sn_ref]
        left = src[j][0] + at_level(src[1 - j][0], src[j][0], -10.0)
        right = src[1 - j][1] + at_level(src[j][1], src[1 - j][1], -25.0)
        e = np.stack([left, right])
        return e + np.stack([at_level(rng.standard_normal(N), e[c], -30.0) for c in range(2)])

    dv, dn = write("disagree_voice.wav", mixed(0)), write("disagree_noise.wav", mixed(1))
    case("stereo_disagree_permute", srefs, [("voice", "disagree_voice.wav", dv), ("noise", "disagree_noise.wav", dn)], True,
         "two channels preferring different matchings: one matching for both, best on average")

    # Bad input.
    write("bad_short.wav", estimate(rng, [v, n], 0, -25.0, -35.0)[:N - 7])
    write("bad_rate.wav", estimate(rng, [v, n], 0, -25.0, -35.0), rate=16000)
    write("bad_silent_right.wav", np.stack([v, np.zeros(N)]))

    meta = {"generator": "eval/testdata/cli/make_cli.py", "mir_eval": mir_eval.__version__,
            "numpy": np.__version__, "rate_hz": RATE, "samples": N, "cases": cases}
    with open(os.path.join(HERE, "golden.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    for c in cases:
        print(c["name"], [(s["estimate_index"], round(s["sdr"], 2) if not isinstance(s["sdr"], str) else s["sdr"],
                           s["sir"] if isinstance(s["sir"], str) else round(s["sir"], 2)) for s in c["sources"]])


if __name__ == "__main__":
    main()
