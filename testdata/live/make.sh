#!/usr/bin/env bash
# testdata/live/make.sh: makes the fixtures of the live tests (cmd/sepd/live_test.go)
# from the demo mixture; the tests read the committed output and never run sox.
#
#   mix48k.wav  the first 3.5 s of cmd/sepd/demo/mix.wav (16 kHz), resampled to the
#               JACK test server's 48 kHz (scripts/jackd: -r 48000), mono PCM16.
#               PCM16 samples are exact in float32, so what the test client plays
#               through JACK is bit for bit what `sepd separate` reads.
#
# sox -D turns dither off: dither is random, and the file would change from run to
# run. sox rate -v is its "very high quality" band-limited resampler.
# Made with SoX v14.4.2 (Debian 12).
set -euo pipefail
cd "$(dirname "$0")"
sox -D ../../cmd/sepd/demo/mix.wav -b 16 -e signed-integer mix48k.wav trim 0 3.5 rate -v 48000
soxi mix48k.wav
