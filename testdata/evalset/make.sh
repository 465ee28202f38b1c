#!/usr/bin/env bash
# make.sh renders sepd's evaluation set (testdata/evalset/README.md) and its
# reference figures:
#   make.py      the test mixtures and bases (committed), the fit and val material (WORK)
#   baseline.py  scikit-learn's batch separation and the oracle, scored by mir_eval,
#                into baseline.json (committed)
#
#   bash testdata/evalset/make.sh [WORK]     WORK defaults to ${TMPDIR:-/tmp}/sepd-evalset
#
# Needs (Debian): espeak-ng sox timidity freepats python3-sklearn python3-mir-eval
# python3-scipy. Byte-reproducible with espeak-ng 1.51, SoX 14.4.2, TiMidity++
# 2.14.0, freepats 20060219, scikit-learn 1.2.1: manifest.json holds the SHA-256
# of every file, committed or not.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=${1:-${TMPDIR:-/tmp}/sepd-evalset}
for tool in espeak-ng sox timidity; do
	command -v "$tool" >/dev/null || { echo "make.sh: $tool is missing (apt-get install espeak-ng sox timidity freepats)" >&2; exit 1; }
done
[ -f /etc/timidity/freepats.cfg ] || { echo "make.sh: freepats is missing (apt-get install freepats)" >&2; exit 1; }
mkdir -p "$work"
/usr/bin/python3 "$here/make.py" --work "$work"
/usr/bin/python3 "$here/baseline.py" --work "$work"
