#!/usr/bin/python3
"""score.py: scores a sepd configuration on the evaluation set against scikit-learn and the oracle.

    /usr/bin/python3 testdata/evalset/score.py [--split test|val] [--sepd BIN] [--json OUT]
                                              [--recon [--recon-iterations N] [--recon-target T] [--keep-recon]]
                                              [--learn [--learn-flag=FLAG ...]] [--overlap N]
                                              [--bases-scale l1|l2|max|pow:A]
                                              [-- SEPD-SEPARATE-FLAGS...]

For every scenario of manifest.json it runs

    sepd separate --bases A=<scenario>/bases/A.npy --bases B=... --fft-size N --hop H
                  FLAGS... -o OUT <split>/mix.wav
    sepd eval --ref A=... --ref B=... --est A=OUT/A.wav --est B=OUT/B.wav --json

and prints per source sepd's SDR, scikit-learn's converged batch SDR and the
oracle's from baseline.json, with sepd minus each; then the mean and the
smallest of sepd - sklearn. FLAGS are passed to `sepd separate` as given (e.g.
`-- --beta 1 --iterations 10 --mask-power 2`); without them sepd's defaults run.
The val split lives in make.sh's WORK folder (--work); the test split is committed.
Choose parameters on val; score test once.

--learn: instead of the committed bases, learn the model from the scenario's fit
material with sepd's own tools, as a user of sepd would:

    sepd learn --fft-size N --hop H [LEARN-FLAGS] --source A=WORK/<scenario>/fit/A.wav
               --source B=... -o MODEL
    sepd separate -c MODEL/sepd.yaml FLAGS -o OUT <split>/mix.wav

(sepd learn's defaults learn reconstruction bases too; --learn-flag=--recon=false
learns the bases alone). scikit-learn's figures stay those of the committed bases.

--overlap N: hop fft_size/N for every scenario instead of the manifest's.

--bases-scale l1|l2|max|pow:A: rescale every committed basis first (see rescale):
sepd's projection is not invariant to the scale of each basis.

--sepd: the binary (default: `go build` of ./cmd/sepd into a temporary folder).

--recon: before separating, learn reconstruction bases for the masks from the
scenario's fit material (WORK/<scenario>/fit/NAME.wav, make.sh's) with the same
bases, STFT and FLAGS:

    sepd learn-recon --bases A=... --bases B=... --fft-size N --hop H FLAGS
                     --source A=WORK/<scenario>/fit/A.wav --source B=... -o RECON
    sepd separate -c RECON/sepd.yaml FLAGS -o OUT <split>/mix.wav

(--recon-iterations: learn-recon's, default 300; --recon-target: learn-recon's,
default phase). Needs the WORK folder for
either split. --keep-recon writes RECON to <scenario>/recon/ in this folder
(committed for the test split, which TestEvalSet separates with it) instead of a
temporary folder.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))


def on_fit(cmd, args, name, names):
    """Runs cmd (sepd learn or learn-recon) with --source NAME=WORK/<scenario>/fit/NAME.wav
    for every source, stopping on a failure; prints its output unless --quiet."""
    for s in names:
        fit = os.path.join(args.work, name, "fit", s + ".wav")
        if not os.path.exists(fit):
            raise SystemExit(f"score: {fit} is missing: run testdata/evalset/make.sh")
        cmd = cmd + ["--source", f"{s}={fit}"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"score: {' '.join(cmd)} failed:\n{r.stderr}")
    if not args.quiet:
        print(f"{name}: {r.stdout.strip()}", flush=True)


def rescale(path, how, out):
    """Writes the bases of path (scikit-learn's components_, K x F) to out with every
    basis rescaled: unit L1 ("l1"), L2 ("l2") or maximum ("max") norm, or its L1 norm s
    made s^A ("pow:A"; 1 leaves them, 0 is "l1"), scaled as a whole so that the
    geometric mean of the factors is 1. Returns out."""
    import numpy as np
    c = np.load(path).astype(np.float64)
    s = c.sum(axis=1, keepdims=True)
    if how == "l1":
        g = 1 / s
    elif how == "l2":
        g = 1 / np.sqrt((c ** 2).sum(axis=1, keepdims=True))
    elif how == "max":
        g = 1 / c.max(axis=1, keepdims=True)
    elif how.startswith("pow:"):
        g = s ** (float(how[4:]) - 1)
        g = g / np.exp(np.log(g).mean())
    else:
        raise SystemExit(f"score: --bases-scale {how}: want l1, l2, max or pow:A")
    np.save(out, (c * g).astype(np.float32))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", choices=["test", "val"], default="test")
    ap.add_argument("--work", default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "sepd-evalset"))
    ap.add_argument("--sepd", help="sepd binary (default: built from this tree)")
    ap.add_argument("--json", help="also write the scores to this file")
    ap.add_argument("--quiet", action="store_true", help="print only the summary line")
    ap.add_argument("--recon", action="store_true", help="learn reconstruction bases from the fit material first (sepd learn-recon)")
    ap.add_argument("--recon-iterations", type=int, default=300, help="learn-recon's --recon-iterations")
    ap.add_argument("--recon-target", default="phase", help="learn-recon's --recon-target: phase or magnitude")
    ap.add_argument("--keep-recon", action="store_true", help="write the reconstruction bases to <scenario>/recon/ here")
    ap.add_argument("--learn", action="store_true",
                    help="learn the model with `sepd learn` (its defaults, and --learn-flag's) on the fit material first, instead of the committed bases")
    ap.add_argument("--learn-flag", action="append", default=[], help="a flag for sepd learn (repeatable), e.g. --learn-flag=--recon=false")
    ap.add_argument("--overlap", type=int, default=0, help="hop = fft size / OVERLAP instead of the scenario's")
    ap.add_argument("--bases-scale", help="rescale every committed basis first: l1, l2, max (unit norm) or pow:A (its L1 norm s becomes s^A)")
    ap.add_argument("flags", nargs="*", help="flags for sepd separate (after --)")
    args = ap.parse_args()

    with open(os.path.join(HERE, "manifest.json")) as f:
        manifest = json.load(f)
    with open(os.path.join(HERE, "baseline.json")) as f:
        baseline = json.load(f)

    tmp = tempfile.mkdtemp(prefix="sepd-score-")
    sepd = args.sepd
    if not sepd:
        sepd = os.path.join(tmp, "sepd")
        subprocess.run(["go", "build", "-o", sepd, "./cmd/sepd"], cwd=ROOT, check=True)

    rows, out = [], {"split": args.split, "flags": args.flags, "recon": args.recon, "scenarios": {}}
    if args.learn:
        out["learn"] = args.learn_flag
    for sc in manifest["scenarios"]:
        name = sc["name"]
        names = [s["name"] for s in sc["sources"]]
        folder = os.path.join(HERE, name, "test") if args.split == "test" else os.path.join(args.work, name, "val")
        if not os.path.exists(os.path.join(folder, "mix.wav")):
            raise SystemExit(f"score: {folder}/mix.wav is missing: run testdata/evalset/make.sh")
        ref = baseline["scenarios"][name][args.split]
        od = os.path.join(tmp, name)
        hop = sc["fft_size"] // args.overlap if args.overlap else sc["hop"]
        given = ["--fft-size", str(sc["fft_size"]), "--hop", str(hop)]
        for s in names:
            bp = os.path.join(HERE, name, 'bases', s + '.npy')
            if args.bases_scale:
                bp = rescale(bp, args.bases_scale, os.path.join(tmp, f"{name}-{s}.npy"))
            given += ["--bases", f"{s}={bp}"]
        cmd = [sepd, "separate", "-q", "-o", od] + given
        if args.learn:
            md = os.path.join(tmp, name + "-model")
            on_fit([sepd, "learn", "-q", "-o", md, "--fft-size", str(sc["fft_size"]), "--hop", str(hop)] + args.learn_flag,
                   args, name, names)
            cmd = [sepd, "separate", "-q", "-o", od, "-c", os.path.join(md, "sepd.yaml")]
        elif args.recon:
            rd = os.path.join(HERE, name, "recon") if args.keep_recon else os.path.join(tmp, name + "-recon")
            on_fit([sepd, "learn-recon", "-q", "-o", rd, "--recon-iterations", str(args.recon_iterations),
                    "--recon-target", args.recon_target] + given + args.flags,
                   args, name, names)
            if args.keep_recon:
                # learn-recon names the bases outside its folder by absolute
                # paths; the committed file names them relative to it.
                y = os.path.join(rd, "sepd.yaml")
                with open(y) as f:
                    text = f.read()
                with open(y, "w") as f:
                    f.write(text.replace(os.path.join(HERE, name, "bases") + os.sep, "../bases/"))
            cmd = [sepd, "separate", "-q", "-o", od, "-c", os.path.join(rd, "sepd.yaml")]
        r = subprocess.run(cmd + args.flags + [os.path.join(folder, "mix.wav")], capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(f"score: {' '.join(cmd)} failed:\n{r.stderr}")
        ev = [sepd, "eval", "--json"]
        for s in names:
            ev += ["--ref", f"{s}={os.path.join(folder, s + '.wav')}", "--est", f"{s}={os.path.join(od, s + '.wav')}"]
        rep = json.loads(subprocess.run(ev, check=True, capture_output=True, text=True).stdout)
        out["scenarios"][name] = {}
        for src in rep["sources"]:
            s = src["name"]
            sdr, sk, orc = float(src["sdr"]), ref["sklearn"][s]["sdr"], ref["oracle"][s]["sdr"]
            out["scenarios"][name][s] = {"sdr": sdr, "sir": float(src["sir"]), "sar": float(src["sar"])}
            rows.append((name, s, ref["mixture"][s]["sdr"], sdr, sk, orc))

    if not args.quiet:
        print(f"split {args.split}, sepd separate {' '.join(args.flags) or '(defaults)'}{' with learn-recon' if args.recon else ''}{' with sepd learn ' + ' '.join(args.learn_flag) if args.learn else ''}; SDR in dB")
        print(f"{'scenario':15s} {'source':6s} {'mixture':>8s} {'sepd':>8s} {'sklearn':>8s} {'oracle':>8s} "
              f"{'sepd-sk':>8s} {'sepd-or':>8s}")
        for name, s, mx, sdr, sk, orc in rows:
            print(f"{name:15s} {s:6s} {mx:8.2f} {sdr:8.2f} {sk:8.2f} {orc:8.2f} {sdr - sk:+8.2f} {sdr - orc:+8.2f}")
    d = [r[3] - r[4] for r in rows]
    mean, worst = sum(d) / len(d), min(d)
    out["mean_minus_sklearn"], out["min_minus_sklearn"] = mean, worst
    print(f"{args.split} {' '.join(args.flags) or '(defaults)'}{' --recon' if args.recon else ''}{' --learn ' + ' '.join(args.learn_flag) if args.learn else ''}: mean sepd-sklearn {mean:+.2f} dB, "
          f"smallest {worst:+.2f} dB, mean sepd SDR {sum(r[3] for r in rows) / len(rows):.2f} dB")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
            f.write("\n")
    subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main()
