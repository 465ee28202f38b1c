#!/bin/sh
# Regenerates the audio fixtures of package audio (run from anywhere):
#   sh audio/testdata/files/make.sh
# Needs sox (14.4.2 used), flac (1.4.2 used) and /usr/bin/python3.
#
# Good files (decoded by the tests and compared with the references):
#   NAME.wav / NAME.flac   made by sox (and flac), or by python3 below when sox
#                          cannot write the variant (WAVE_FORMAT_EXTENSIBLE
#                          float, valid bits below the container, extra chunks);
#   NAME.f32               sox's own decoding of NAME: raw little-endian float32,
#                          interleaved. sox scales integers as we do (s/2^(b-1)).
# Bad files (bad_*): one per error the reader must report; the expected messages
# live in the table of TestOpenBadFiles.
#
# sox -R makes the noise repeatable, -D turns dither off; 0.02 s keeps the
# files small.
set -eu
cd "$(dirname "$0")"
rm -f ./*.wav ./*.flac ./*.f32 ./*.ogg

# synth per channel: tones at several frequencies and full-scale white noise,
# so that the extreme codes of every depth occur.
S="synth 0.02 sine 440 whitenoise sine 660 sine 880 square 100 sawtooth 1000"

# sox -R -D -r RATE -c CH -n [output encoding] OUT: the rate and channel count are
# given to the null input too, so that sox does not resample.
sox -R -D -r 8000  -c 1 -n -b 8  -e unsigned-integer          pcm8_1ch_8000.wav       $S
sox -R -D -r 44100 -c 2 -n -b 16 -e signed-integer            pcm16_2ch_44100.wav     $S
sox -R -D -r 11025 -c 3 -n -b 16 -e signed-integer -t wavpcm  pcm16_3ch_11025.wav     $S
sox -R -D -r 48000 -c 2 -n -b 24 -e signed-integer -t wavpcm  pcm24_2ch_48000.wav     $S
sox -R -D -r 16000 -c 1 -n -b 32 -e signed-integer -t wavpcm  pcm32_1ch_16000.wav     $S
sox -R -D -r 96000 -c 6 -n -b 24 -e signed-integer            ext_pcm24_6ch_96000.wav $S
sox -R -D -r 16000 -c 1 -n -b 32 -e signed-integer            ext_pcm32_1ch_16000.wav $S
sox -R -D -r 44100 -c 2 -n -b 32 -e floating-point            float32_2ch_44100.wav   $S vol 0.9
sox -R -D -r 22050 -c 1 -n -b 64 -e floating-point            float64_1ch_22050.wav   $S vol 0.9
sox -R -D -r 48000 -c 6 -n -b 32 -e floating-point            float32_6ch_48000.wav   $S vol 0.9
sox -R -D -r 8000  -c 1 -n -e a-law                           bad_alaw.wav            $S
sox -R -D -r 8000  -c 1 -n                                    bad_ogg.ogg             $S

/usr/bin/python3 - <<'PY'
import struct

def chunks(path):
    b = open(path, 'rb').read()
    assert b[:4] == b'RIFF' and b[8:12] == b'WAVE', path
    out, off = [], 12
    while off + 8 <= len(b):
        cid, size = b[off:off+4], struct.unpack('<I', b[off+4:off+8])[0]
        out.append((cid, b[off+8:off+8+size]))
        off += 8 + size + (size & 1)
    return out

def riff(chs):
    body = b'WAVE'
    for cid, data in chs:
        body += cid + struct.pack('<I', len(data)) + data + (b'\0' if len(data) & 1 else b'')
    return b'RIFF' + struct.pack('<I', len(body)) + body

def write(path, data):
    open(path, 'wb').write(data)

GUID_TAIL = bytes([0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71])

def fmt(tag, ch, rate, bits, block=None, ext=None):
    block = ch * ((bits + 7) // 8) if block is None else block
    f = struct.pack('<HHIIHH', tag, ch, rate, rate * block, block, bits)
    if ext is not None:  # (valid bits, mask, subformat tag or 16-byte GUID)
        valid, mask, sub = ext
        guid = struct.pack('<H', sub) + GUID_TAIL if isinstance(sub, int) else sub
        f = struct.pack('<HHIIHH', 0xFFFE, ch, rate, rate * block, block, bits) + struct.pack('<HHI', 22, valid, mask) + guid
    return f

def to_extensible(src, dst, valid=None):
    """Rewrites src's fmt chunk as WAVE_FORMAT_EXTENSIBLE (samples unchanged)."""
    out = []
    for cid, data in chunks(src):
        if cid == b'fmt ':
            tag, ch, rate, _, block, bits = struct.unpack('<HHIIHH', data[:16])
            data = fmt(0, ch, rate, bits, block, ext=(valid or bits, 0, tag))
        out.append((cid, data))
    write(dst, riff(out))

# Float extensible (sox writes only the plain header for floats).
to_extensible('float32_6ch_48000.wav', 'ext_float32_6ch_48000.wav')
# 20 valid bits in a 24-bit container: the low 4 bits are zeroed, as the
# format requires (valid bits are left-justified).
cs = chunks('pcm24_2ch_48000.wav')
data = bytearray(dict(cs)[b'data'])
for i in range(0, len(data), 3):
    data[i] &= 0xF0
write('tmp_pcm24.wav', riff([(b'fmt ', dict(cs)[b'fmt ']), (b'data', bytes(data))]))
to_extensible('tmp_pcm24.wav', 'ext_pcm20in24_2ch_48000.wav', valid=20)
# 12 valid bits in a 16-bit container, likewise.
cs = chunks('pcm16_3ch_11025.wav')
data = bytearray(dict(cs)[b'data'])
for i in range(0, len(data), 2):
    data[i] &= 0xF0
write('tmp_pcm16.wav', riff([(b'fmt ', dict(cs)[b'fmt ']), (b'data', bytes(data))]))
to_extensible('tmp_pcm16.wav', 'ext_pcm12in16_3ch_11025.wav', valid=12)

# Unknown chunks around the audio: LIST before, an odd-sized chunk with its pad
# byte, fmt after a chunk, LIST after data.
cs = dict(chunks('pcm16_2ch_44100.wav'))
info = b'INFO' + b'ICMT' + struct.pack('<I', 6) + b'sepd!\0'
write('chunks_pcm16_2ch_44100.wav', riff([(b'LIST', info), (b'odd ', b'abc'), (b'fmt ', cs[b'fmt ']),
                                          (b'junk', b'\0' * 5), (b'data', cs[b'data']), (b'LIST', info)]))

# ---- bad files: every header below is hand-built so offsets are exact ----
pcm = chunks('pcm16_2ch_44100.wav')
good = riff([(b'fmt ', fmt(1, 2, 44100, 16)), (b'data', dict(pcm)[b'data'])])  # 44-byte header
write('bad_empty.wav', b'')
write('bad_not_audio.wav', b'this is a text file, not audio\n')
write('bad_truncated_header.wav', good[:30])        # ends inside the fmt chunk
write('bad_truncated_chunk_header.wav', good[:40])  # ends inside the data chunk header
write('bad_short_riff.wav', good[:8])
write('bad_riff_not_wave.wav', b'RIFF' + struct.pack('<I', 4) + b'AVI ')
# data chunk claims 88200 bytes (0.5 s of 16-bit stereo at 44100 Hz), 1000 follow.
write('bad_lying_data_size.wav', good[:40] + struct.pack('<I', 88200) + good[44:44+1000])
write('bad_pcm12.wav', riff([(b'fmt ', fmt(1, 1, 8000, 12, block=2)), (b'data', b'\0\x10' * 8)]))
write('bad_float16.wav', riff([(b'fmt ', fmt(3, 1, 8000, 16)), (b'data', b'\0\0' * 8)]))
write('bad_ext_unknown_guid.wav', riff([(b'fmt ', fmt(0, 1, 8000, 16, ext=(16, 0, bytes(range(16))))), (b'data', b'\0\0' * 8)]))
write('bad_ext_adpcm.wav', riff([(b'fmt ', fmt(0, 1, 8000, 16, ext=(16, 0, 0x0002))), (b'data', b'\0\0' * 8)]))
write('bad_zero_channels.wav', riff([(b'fmt ', fmt(1, 0, 8000, 16, block=2)), (b'data', b'\0\0' * 8)]))
write('bad_zero_rate.wav', riff([(b'fmt ', fmt(1, 1, 0, 16)), (b'data', b'\0\0' * 8)]))
write('bad_block_align.wav', riff([(b'fmt ', fmt(1, 2, 8000, 16, block=3)), (b'data', b'\0\0' * 8)]))
write('bad_no_fmt.wav', riff([(b'LIST', info), (b'data', b'\0\0' * 8)]))
write('bad_no_data.wav', riff([(b'fmt ', fmt(1, 1, 8000, 16)), (b'LIST', info)]))
write('bad_no_samples.wav', riff([(b'fmt ', fmt(1, 1, 8000, 16)), (b'data', b'')]))
write('bad_less_than_a_frame.wav', riff([(b'fmt ', fmt(1, 2, 8000, 16)), (b'data', b'\0\0\0')]))
# A NaN at frame 3 of channel 1: the header is fine, reading fails.
samples = [0.5, -0.5] * 3 + [0.25, float('nan')] + [0.0, 0.0]
write('bad_nan_float32.wav', riff([(b'fmt ', fmt(3, 2, 8000, 32)), (b'fact', struct.pack('<I', 5)),
                                   (b'data', struct.pack('<10f', *samples))]))
PY
# sox reads neither valid bits below the container nor 12- or 20-bit FLAC:
# the reference of both comes from the same samples in a plain 24-bit file.
sox tmp_pcm24.wav -t raw -e floating-point -b 32 -L ext_pcm20in24_2ch_48000.f32
cp ext_pcm20in24_2ch_48000.f32 flac20_2ch_48000.f32
sox tmp_pcm16.wav -t raw -e floating-point -b 32 -L ext_pcm12in16_3ch_11025.f32
cp ext_pcm12in16_3ch_11025.f32 flac12_3ch_11025.f32
rm -f tmp_pcm24.wav tmp_pcm16.wav

# FLAC: made by the flac command from the WAV files (12 and 20 bits through
# WAVE_FORMAT_EXTENSIBLE's valid bits, which flac honours).
flac --silent -f --no-padding -o flac16_2ch_44100.flac pcm16_2ch_44100.wav
flac --silent -f --no-padding -o flac8_1ch_8000.flac pcm8_1ch_8000.wav
flac --silent -f --no-padding -o flac24_6ch_96000.flac ext_pcm24_6ch_96000.wav
flac --silent -f --no-padding -o flac20_2ch_48000.flac ext_pcm20in24_2ch_48000.wav
flac --silent -f --no-padding --channel-map=none -o flac12_3ch_11025.flac ext_pcm12in16_3ch_11025.wav
# An ID3v2.4 tag of 20 bytes (10 of header + 10 of padding) before a FLAC
# stream, as some taggers write.
/usr/bin/python3 -c '
flac = open("flac16_2ch_44100.flac", "rb").read()
tag = b"ID3\x04\x00\x00" + bytes([0, 0, 0, 10]) + bytes(10)
open("id3_flac16_2ch_44100.flac", "wb").write(tag + flac)
'
# Cut 500 bytes before the end (inside the last frames), and at 60 bytes
# (inside the SEEKTABLE block, after the 42 bytes of signature and STREAMINFO).
head -c $(($(wc -c < flac16_2ch_44100.flac) - 500)) flac16_2ch_44100.flac > bad_truncated_frames.flac
head -c 60 flac16_2ch_44100.flac > bad_truncated_metadata.flac

# References: sox's decoding of every good file.
for f in pcm*.wav ext_*.wav float*.wav chunks_*.wav flac*.flac id3_*.flac; do
	case $f in ext_pcm20in24_* | ext_pcm12in16_* | flac20_* | flac12_*) continue ;; esac
	sox "$f" -t raw -e floating-point -b 32 -L "${f%.*}.f32"
done
