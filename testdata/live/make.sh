#!/usr/bin/env bash
# testdata/live/make.sh: makes the fixtures of the live tests (cmd/sepd/live_test.go,
# live_rates_test.go) from the demo mixture; the tests read the committed output and
# never run sox.
#
#   mix48k.wav  the first 3.5 s of cmd/sepd/demo/mix.wav (16 kHz), resampled to the
#               JACK test server's 48 kHz (scripts/jackd: -r 48000), mono PCM16.
#               PCM16 samples are exact in float32, so what the test client plays
#               through JACK is bit for bit what `sepd separate` reads.
#   mix16k.wav  the first 2.5 s of cmd/sepd/demo/mix.wav as it is (16 kHz, PCM16:
#               trim copies the samples), for the tests at -r 16000.
#   mix44k.wav  the first 2.5 s of the demo mixture resampled to 44.1 kHz as
#               mix48k.wav is to 48 kHz, for the tests at -r 44100. (At 48 kHz the
#               rate tests play the first 2.5 s of mix48k.wav.)
#
# sox -D turns dither off: dither is random, and the file would change from run to
# run. sox rate -v is its "very high quality" band-limited resampler.
# Made with SoX v14.4.2 (Debian 12).
set -euo pipefail
cd "$(dirname "$0")"
sox -D ../../cmd/sepd/demo/mix.wav -b 16 -e signed-integer mix48k.wav trim 0 3.5 rate -v 48000
sox -D ../../cmd/sepd/demo/mix.wav -b 16 -e signed-integer mix16k.wav trim 0 2.5
sox -D ../../cmd/sepd/demo/mix.wav -b 16 -e signed-integer mix44k.wav trim 0 2.5 rate -v 44100
soxi mix48k.wav mix16k.wav mix44k.wav
