#!/usr/bin/python3
"""make.py: renders sepd's evaluation set from Debian packages and learns its bases.

    bash testdata/evalset/make.sh          (runs this, then baseline.py)

Four scenarios, two sources each, mixed at 0 dB:

  speech_noise16   16 kHz   espeak-ng en-gb-x-rp over an engine-and-hiss bed (sox)
  talkers16        16 kHz   two espeak-ng talkers: en-us (pitch 35) and en-us+f3 (pitch 62)
  piano_drums16    16 kHz   piano and a drum kit, MIDI written here, rendered by
                            timidity with freepats
  speech_piano44   44.1 kHz espeak-ng en-us+f2 over a piano (timidity + freepats)

Every source has three disjoint parts: fit (the bases are learned on it),
val (validation mixtures, to choose parameters on) and test (the committed
mixtures, scored once). Speech: different sentences; noise: different
segments of one render; music: different note sequences (other seeds).

Writes, under testdata/evalset/ (committed):
  <scenario>/test/{mix,A,B}.wav   PCM16 mono, mix == A + B sample for sample (int16)
  <scenario>/bases/{A,B}.npy      sklearn NMF components_ (K x F, float32), KL, K = 32
  manifest.json                   every scenario's parameters and the SHA-256 of every
                                  file written, committed or not
and under WORK (argument --work, not committed):
  <scenario>/fit/{A,B}.wav        the training material
  <scenario>/val/{mix,A,B}.wav    validation mixtures made like the test ones

Deterministic: espeak-ng 1.51, SoX 14.4.2 (-R), TiMidity++ 2.14.0 and
freepats 20060219 render the same bytes run after run; the MIDI files come
from seeded numpy generators; NMF starts from NNDSVDa.
"""

import argparse
import hashlib
import json
import os
import struct
import subprocess
import sys
import warnings

import numpy as np
import scipy.io.wavfile
from sklearn.decomposition import NMF
from sklearn.exceptions import ConvergenceWarning

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "gen"))
import sepdref  # noqa: E402

K = 32               # bases per source
NMF_MAX_ITER = 400
PEAK_DBFS = -3.0     # the mixture's peak
SNR_DB = 0.0         # A over B, over the whole clip
FREEPATS = "/etc/timidity/freepats.cfg"

# Harvard sentences (IEEE 1969), lists 2 to 6. Per scenario, talker A says
# test S[0:3], val S[6:9], fit S[12:31]; talker B test S[3:6], val S[9:12],
# fit S[31:50]. The demo's own sentences (list 1) are not used.
S = """The boy was there when the sun rose. A rod is used to catch pink salmon.
The source of the huge river is the clear spring. Kick the ball straight and follow through.
Help the woman get back to her feet. A pot of tea helps to pass the evening.
Smoky fires lack flame and heat. The soft cushion broke the man's fall.
The salt breeze came across from the sea. The girl at the booth sold fifty bonds.
The small pup gnawed a hole in the sock. The fish twisted and turned on the bent hook.
Press the pants and sew a button on the vest. The swan dive was far short of perfect.
The beauty of the view stunned the young boy. Two blue fish swam in the tank.
Her purse was full of useless trash. The colt reared and threw the tall rider.
It snowed, rained, and hailed the same morning. Read verse out loud for pleasure.
Hoist the load to your left shoulder. Take the winding path to reach the lake.
Note closely the size of the gas tank. Wipe the grease off his dirty face.
Mend the coat before you go out. The wrist was badly strained and hung limp.
The stray cat gave birth to kittens. The young girl gave no clear response.
The meal was cooked before the bell rang. What joy there is in living.
A king ruled the state in the early days. The ship was torn apart on the sharp reef.
Sickness kept him home the third week. The wide road shimmered in the hot sun.
The lazy cow lay in the cool grass. Lift the square stone over the fence.
The rope will bind the seven books at once. Hop over the fence and plunge in.
The friendly gang left the drug store. Mesh wire keeps chicks inside.
The frosty air passed through the coat. The crooked maze failed to fool the mouse.
Adding fast leads to wrong sums. The show was a flop from the very start.
A saw is a tool used for making boards. The wagon moved on well oiled wheels.
March the soldiers past the next hill. A cup of sugar makes sweet fudge.
Place a rosebush near the porch steps. Both lost their lives in the raging storm."""
SENTENCES = [s.strip() + "." for s in S.replace("\n", " ").split(".") if s.strip()]
assert len(SENTENCES) == 50, len(SENTENCES)
TEXT = {
    "A": {"test": SENTENCES[0:3], "val": SENTENCES[6:9], "fit": SENTENCES[12:31]},
    "B": {"test": SENTENCES[3:6], "val": SENTENCES[9:12], "fit": SENTENCES[31:50]},
}

# Seconds of each part. The fit parts are longer than any clip needs; a clip
# is cut from the start of its render (after LEAD_S of the other source alone).
CLIP_S = {16000: 6.0, 44100: 5.0}
VAL_S = {16000: 6.0, 44100: 5.0}
FIT_S = 30.0
LEAD_S = 0.3

SCENARIOS = [
    {"name": "speech_noise16", "rate": 16000, "fft_size": 1024, "hop": 256,
     "sources": [{"name": "voice", "kind": "speech", "talker": "A", "voice": "en-gb-x-rp", "pitch": 50},
                 {"name": "noise", "kind": "noise"}]},
    {"name": "talkers16", "rate": 16000, "fft_size": 1024, "hop": 256,
     "sources": [{"name": "man", "kind": "speech", "talker": "A", "voice": "en-us", "pitch": 35},
                 {"name": "woman", "kind": "speech", "talker": "B", "voice": "en-us+f3", "pitch": 62}]},
    {"name": "piano_drums16", "rate": 16000, "fft_size": 1024, "hop": 256,
     "sources": [{"name": "piano", "kind": "piano", "seed": 100},
                 {"name": "drums", "kind": "drums", "seed": 200}]},
    {"name": "speech_piano44", "rate": 44100, "fft_size": 2048, "hop": 512,
     "sources": [{"name": "voice", "kind": "speech", "talker": "A", "voice": "en-us+f2", "pitch": 55},
                 {"name": "piano", "kind": "piano", "seed": 300}]},
]
SPLIT_SEED = {"fit": 0, "val": 1, "test": 2}   # added to a music source's seed
NOISE_SEGMENT_S = {"fit": (0.0, 30.0), "val": (34.0, 40.0), "test": (46.0, 52.0)}  # of a 60 s render


def run(*cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def read_float(path, rate):
    r, x = scipy.io.wavfile.read(path)
    if r != rate:
        raise SystemExit(f"make: {path}: rate {r}, want {rate}")
    if x.dtype == np.int16:
        return x.astype(np.float64) / 32768.0
    return x.astype(np.float64)


def trim(x, rel=1e-3):
    on = np.flatnonzero(np.abs(x) > rel * np.abs(x).max())
    return x[on[0]:on[-1] + 1]


# --- speech -------------------------------------------------------------

def speech(work, src, part, rate):
    """espeak-ng at 22050 Hz (175 wpm), sentences joined with 0.25 s pauses, resampled by sox."""
    out = []
    for i, text in enumerate(TEXT[src["talker"]][part]):
        raw = os.path.join(work, f"say-{src['voice']}-{part}-{i}.wav")
        res = raw.replace(".wav", f".{rate}.wav")
        run("espeak-ng", "-v", src["voice"], "-s", "175", "-p", str(src["pitch"]), "-w", raw, text)
        run("sox", "-R", "-D", raw, "-e", "floating-point", "-b", "32", res, "rate", str(rate))
        out += [trim(read_float(res, rate)), np.zeros(rate // 4)]
    return np.concatenate(out)


# --- noise --------------------------------------------------------------

def noise_render(work, rate):
    """60 s of an engine (brown noise, low-passed, breathing at 0.5 Hz), a
    120 Hz whine (low-passed square) and a hiss (pink noise above 2 kHz)."""
    path = os.path.join(work, f"noise-{rate}.wav")
    if not os.path.exists(path):
        parts = []
        for name, fx in [("engine", ["synth", "60", "brownnoise", "lowpass", "900", "tremolo", "0.5", "40"]),
                         ("whine", ["synth", "60", "square", "120", "lowpass", "1500", "tremolo", "2", "15"]),
                         ("hiss", ["synth", "60", "pinknoise", "highpass", "2000"])]:
            p = os.path.join(work, f"{name}-{rate}.wav")
            run("sox", "-R", "-D", "-n", "-r", str(rate), "-c", "1", "-e", "floating-point", "-b", "32", p, *fx)
            x = read_float(p, rate)
            parts.append(x / np.sqrt(np.mean(x * x)))
        eng, whine, hiss = parts
        mix = eng + 10 ** (-8 / 20) * whine + 10 ** (-12 / 20) * hiss
        scipy.io.wavfile.write(path, rate, mix.astype(np.float32))
    return read_float(path, rate)


def noise(work, part, rate):
    a, b = NOISE_SEGMENT_S[part]
    return noise_render(work, rate)[int(a * rate):int(b * rate)]


# --- music --------------------------------------------------------------

def smf(events, tpq=480):
    """A format-0 Standard MIDI File from (tick, bytes) events."""
    def vlq(n):
        b = [n & 0x7F]
        n >>= 7
        while n:
            b.append(0x80 | (n & 0x7F))
            n >>= 7
        return bytes(reversed(b))
    events = sorted(events, key=lambda e: (e[0], e[1][0] & 0xF0 != 0x80))  # note-offs first at a tick
    body, last = b"", 0
    for tick, data in events:
        body += vlq(tick - last) + data
        last = tick
    body += vlq(0) + bytes([0xFF, 0x2F, 0])
    return b"MThd" + struct.pack(">IHHH", 6, 0, 1, tpq) + b"MTrk" + struct.pack(">I", len(body)) + body


def note(ev, ch, key, vel, on, off):
    ev.append((on, bytes([0x90 | ch, key, vel])))
    ev.append((off, bytes([0x80 | ch, key, 0])))


def piano_midi(seed, seconds):
    """Random piano music: a left-hand chord per half bar from a random
    progression in a random major key, a right-hand melody that walks the
    scale in eighths and quarters, random velocities and tempo."""
    rng = np.random.RandomState(seed)
    tpq = 480
    bpm = int(rng.randint(84, 132))
    ev = [(0, bytes([0xFF, 0x51, 3]) + (60_000_000 // bpm).to_bytes(3, "big")), (0, bytes([0xC0, 0]))]
    tonic = 48 + int(rng.randint(0, 12))
    major = [0, 2, 4, 5, 7, 9, 11]
    scale = [tonic + 12 * o + d for o in range(0, 4) for d in major]
    total = int(seconds * bpm / 60 * tpq)
    t = 0
    while t < total:
        degree = int(rng.choice([0, 3, 4, 5, 1]))
        chord = [scale[degree], scale[degree + 2], scale[degree + 4]]
        vel = int(rng.randint(45, 75))
        for k in chord:
            note(ev, 0, k, vel, t, t + 2 * tpq - 20)
        t += 2 * tpq
    t, idx = 0, 14 + int(rng.randint(0, 7))
    while t < total:
        dur = int(rng.choice([tpq // 2, tpq // 2, tpq, tpq // 2 * 3]))
        if rng.rand() < 0.1:  # a rest
            t += dur
            continue
        idx = int(np.clip(idx + rng.choice([-2, -1, -1, 1, 1, 2, 3, -3]), 10, 26))
        note(ev, 0, scale[idx], int(rng.randint(60, 105)), t, t + dur - 10)
        t += dur
    return smf(ev, tpq)


def drums_midi(seed, seconds):
    """Random rock-ish drumming on the GM kit (channel 10): kick, snare,
    closed and open hi-hat, toms and crash, pattern varied bar by bar."""
    rng = np.random.RandomState(seed)
    tpq = 480
    bpm = int(rng.randint(90, 140))
    ev = [(0, bytes([0xFF, 0x51, 3]) + (60_000_000 // bpm).to_bytes(3, "big"))]
    total = int(seconds * bpm / 60 * tpq)
    e = tpq // 2
    bar = 0
    while bar * 8 * e < total:
        t0 = bar * 8 * e
        for i in range(8):  # eighths
            t = t0 + i * e
            if rng.rand() < 0.9:
                hat = 46 if rng.rand() < 0.12 else 42
                note(ev, 9, hat, int(rng.randint(50, 90)), t, t + e // 2)
            if i in (0, 4) or (i in (3, 5, 7) and rng.rand() < 0.3):
                note(ev, 9, 36, int(rng.randint(90, 120)), t, t + e // 2)
            if i in (2, 6) or rng.rand() < 0.06:
                note(ev, 9, 38, int(rng.randint(80, 115)), t, t + e // 2)
        if rng.rand() < 0.3:  # a fill in the last half bar
            for i in range(4, 8):
                note(ev, 9, int(rng.choice([45, 47, 50, 38])), int(rng.randint(80, 115)), t0 + i * e, t0 + i * e + e // 2)
        if rng.rand() < 0.2:
            note(ev, 9, 49, 100, t0, t0 + e)
        bar += 1
    return smf(ev, tpq)


def music(work, src, part, rate, seconds):
    seed = src["seed"] + SPLIT_SEED[part]
    mid = os.path.join(work, f"{src['kind']}-{seed}.mid")
    wav = mid.replace(".mid", f".{rate}.wav")
    make = piano_midi if src["kind"] == "piano" else drums_midi
    with open(mid, "wb") as f:
        f.write(make(seed, seconds + 2))
    run("timidity", "-c", FREEPATS, "-Ow", "--output-mono", "-s", str(rate),
        "-EFreverb=d", "-EFchorus=d", "-o", wav, mid)
    x = read_float(wav, rate)
    on = np.flatnonzero(np.abs(x) > 1e-3 * np.abs(x).max())
    return x[on[0]:]


def render(work, src, part, rate, seconds):
    if src["kind"] == "speech":
        return speech(work, src, part, rate)
    if src["kind"] == "noise":
        return noise(work, part, rate)
    return music(work, src, part, rate, seconds)


# --- mixing and bases ---------------------------------------------------

def quantise(x, what):
    q = np.round(x * 32768.0)
    if q.max() > 32767 or q.min() < -32768:
        raise SystemExit(f"make: {what} would clip")
    return q.astype(np.int16)


def fit_clip(x, n, lead):
    """n samples: lead zeros, then x, cut or padded with zeros."""
    y = np.zeros(n)
    m = min(n - lead, len(x))
    y[lead:lead + m] = x[:m]
    return y


def mixture(a, b):
    """Scales b to SNR_DB under a, both so that the mixture peaks at PEAK_DBFS; int16 each."""
    b = b * np.sqrt(np.sum(a * a) / np.sum(b * b)) * 10 ** (-SNR_DB / 20)
    g = 10 ** (PEAK_DBFS / 20) / np.abs(a + b).max()
    qa, qb = quantise(a * g, "A"), quantise(b * g, "B")
    mix = qa.astype(np.int32) + qb.astype(np.int32)
    return quantise(mix / 32768.0, "mix"), qa, qb


def learn(x, n_fft, hop):
    V = np.abs(sepdref.stft(x, n_fft, hop)).T
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        nmf = NMF(n_components=K, init="nndsvda", solver="mu", beta_loss="kullback-leibler",
                  max_iter=NMF_MAX_ITER, random_state=0)
        nmf.fit(V)
    return nmf.components_.astype(np.float32)


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True, help="folder for renders and the uncommitted fit/val material")
    args = ap.parse_args()
    root = os.path.abspath(os.path.join(HERE, "..", ".."))
    raw = os.path.join(args.work, "raw")
    os.makedirs(raw, exist_ok=True)
    manifest = {"script": "testdata/evalset/make.py", "k": K, "snr_db": SNR_DB, "peak_dbfs": PEAK_DBFS,
                "nmf": f"sklearn NMF(n_components={K}, init='nndsvda', solver='mu', "
                       f"beta_loss='kullback-leibler', max_iter={NMF_MAX_ITER}, random_state=0) "
                       "on |STFT| (periodic Hann, streaming alignment) of the fit part",
                "scenarios": [], "sha256": {}}
    written = []
    for sc in SCENARIOS:
        rate, name = sc["rate"], sc["name"]
        names = [s["name"] for s in sc["sources"]]
        n_clip = int(CLIP_S[rate] * rate)
        lead = int(LEAD_S * rate)
        for part, where in [("test", os.path.join(HERE, name, "test")),
                            ("val", os.path.join(args.work, name, "val"))]:
            os.makedirs(where, exist_ok=True)
            a = render(raw, sc["sources"][0], part, rate, CLIP_S[rate])
            b = render(raw, sc["sources"][1], part, rate, CLIP_S[rate])
            # Source A starts after LEAD_S of B alone (speech over a bed); B runs throughout.
            mix, qa, qb = mixture(fit_clip(a, n_clip, lead), fit_clip(b, n_clip, 0))
            for fn, q in [("mix", mix), (names[0], qa), (names[1], qb)]:
                p = os.path.join(where, fn + ".wav")
                scipy.io.wavfile.write(p, rate, q)
                written.append(p)
        fit_dir = os.path.join(args.work, name, "fit")
        bases_dir = os.path.join(HERE, name, "bases")
        os.makedirs(fit_dir, exist_ok=True)
        os.makedirs(bases_dir, exist_ok=True)
        for src in sc["sources"]:
            x = render(raw, src, "fit", rate, FIT_S)[:int(FIT_S * rate)]
            x = x * (10 ** (-6 / 20) / np.abs(x).max())
            p = os.path.join(fit_dir, src["name"] + ".wav")
            scipy.io.wavfile.write(p, rate, quantise(x, p))
            written.append(p)
            comps = learn(read_float(p, rate), sc["fft_size"], sc["hop"])
            q = os.path.join(bases_dir, src["name"] + ".npy")
            np.save(q, comps)
            written.append(q)
        manifest["scenarios"].append(dict(sc, clip_s=CLIP_S[rate], lead_s=LEAD_S, fit_s=FIT_S))
        print(f"{name}: {rate} Hz, sources {names}", flush=True)
    for p in written:
        key = os.path.relpath(p, root) if p.startswith(root) else "WORK/" + os.path.relpath(p, args.work)
        manifest["sha256"][key] = sha256(p)
    manifest["texts"] = TEXT
    with open(os.path.join(HERE, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
