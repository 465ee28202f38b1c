#!/usr/bin/env bash
# make_demo.sh renders the raw material of sepd's demo with espeak-ng and sox,
# then hands it to make_demo.py, which cuts, scales and quantises it and learns
# the bases. It writes:
#   cmd/sepd/demo/{mix,voice,noise}.wav   the embedded demo (8 s, 16 kHz, mono, PCM16)
#   cmd/sepd/demo/bases.npz               sklearn components_ per source (float32, K x 513)
#   testdata/demo/train/{voice,noise}.wav the separate training material
#   testdata/demo/reference.json          the reference figures (it runs reference.py last)
#
# Run from anywhere:   bash testdata/gen/make_demo.sh        (about 25 s)
#
# Everything is fixed: voice, rate and texts for espeak-ng; `sox -R` seeds sox's
# noise generators with a fixed number; `-D` turns dither off (make_demo.py does
# the only quantisation, by rounding). Two runs give byte-identical files with
# espeak-ng 1.51 and SoX 14.4.2 (other versions may render different speech).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
py=/usr/bin/python3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

rate_hz=16000
voice=en-us    # espeak-ng voice
wpm=175        # espeak-ng speaking rate, words per minute
pitch=45       # espeak-ng pitch, 0..99 (50 is the default)

# The demo sentence: what the listener hears. Not used for training.
demo_text="Welcome to the source separation demo. I am talking over a noisy fan \
and a humming power line. Listen, as we come apart."

# The training speech: Harvard sentences (IEEE 1969, list 1), same speaker,
# none of the demo's sentences.
train_text="The birch canoe slid on the smooth planks. \
Glue the sheet to the dark blue background. \
It's easy to tell the depth of a well. \
These days a chicken leg is a rare dish. \
Rice is often served in round bowls. \
The juice of lemons makes fine punch. \
The box was thrown beside the parked truck. \
The hogs were fed chopped corn and garbage. \
Four hours of steady work faced us. \
Large size in stockings is hard to sell."

# speak NAME TEXT: espeak-ng at its native 22050 Hz, then sox's default
# high-quality resampler to 16 kHz, 32-bit float, no dither.
speak() {
	local name=$1 text=$2
	espeak-ng -v "$voice" -s "$wpm" -p "$pitch" -w "$work/$name.22k.wav" "$text"
	sox -R -D "$work/$name.22k.wav" -e floating-point -b 32 "$work/$name.wav" rate "$rate_hz"
}

speak voice_demo "$demo_text"
speak voice_train "$train_text"

# The noise bed, 60 s, rendered once; make_demo.py cuts the training segment
# (0-28 s) and the demo segment (40-48 s) from it, so they never overlap.
#   fan:  brown + pink noise, band-limited 60 Hz - 5 kHz, slowly breathing (tremolo 0.25 Hz)
#   hum:  a 50 Hz mains buzz: sawtooth, low-passed at 1 kHz, with a faint 3 Hz wobble
sox -R -D -n -r "$rate_hz" -c 1 -e floating-point -b 32 "$work/fan.wav" \
	synth 60 brownnoise synth pinknoise mix gain -6 \
	sinc 60-5000 tremolo 0.25 30
sox -R -D -n -r "$rate_hz" -c 1 -e floating-point -b 32 "$work/hum.wav" \
	synth 60 sawtooth 50 gain -6 \
	lowpass 1000 lowpass 1000 tremolo 3 10

"$py" "$here/make_demo.py" --work "$work" --root "$root"
"$py" "$here/reference.py"
