package audio

import (
	"os"
	"path/filepath"
	"testing"
)

// wavBenchReport reports us/frame (one audio frame: a sample per channel)
// and x-realtime at rate Hz for b.N iterations of frames frames each.
func wavBenchReport(b *testing.B, frames, rate int) {
	perFrame := b.Elapsed().Seconds() / float64(b.N) / float64(frames)
	b.ReportMetric(perFrame*1e6, "us/frame")
	b.ReportMetric(1/(perFrame*float64(rate)), "x-realtime")
}

// BenchmarkWAVWriterWrite writes 1024-frame stereo blocks (a typical engine
// block) at 48 kHz.
func BenchmarkWAVWriterWrite(b *testing.B) {
	for _, enc := range []Encoding{Float32, PCM16} {
		b.Run(enc.String(), func(b *testing.B) {
			w, err := CreateWAV(filepath.Join(b.TempDir(), "out.wav"), Format{48000, 2}, enc)
			if err != nil {
				b.Fatal(err)
			}
			defer w.Abort() // keep the disk clean: only the speed matters
			sig := wavTestSignal(2, 1024)
			b.ReportAllocs()
			for b.Loop() {
				if err := w.Write(sig); err != nil {
					b.Fatal(err)
				}
			}
			wavBenchReport(b, 1024, 48000)
		})
	}
}

// BenchmarkWAVReaderRead reads 1024-frame blocks of a stereo 48 kHz file of
// 47 such blocks (about 1 s) written by WAVWriter. Every iteration reads one
// full block; at the end of the file it reopens it with the timer stopped, so
// the figures (time and B/op, allocs/op) are Read's alone, not the open,
// header parse and buffer of a reopen. It is a classic b.N loop because
// StopTimer inside b.Loop is not reliable.
func BenchmarkWAVReaderRead(b *testing.B) {
	const block, blocks = 1024, 47
	for _, enc := range []Encoding{Float32, PCM16} {
		b.Run(enc.String(), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "in.wav")
			w, err := CreateWAV(path, Format{48000, 2}, enc)
			if err != nil {
				b.Fatal(err)
			}
			sig := wavTestSignal(2, blocks*block)
			if err := w.Write(sig); err != nil {
				b.Fatal(err)
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
			open := func() *WAVReader {
				f, err := os.Open(path)
				if err != nil {
					b.Fatal(err)
				}
				r, err := NewWAVReader(f, path)
				if err != nil {
					b.Fatal(err)
				}
				return r
			}
			r := open()
			left := blocks // full blocks not yet read from r
			dst := [][]float64{make([]float64, block), make([]float64, block)}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if left == 0 {
					b.StopTimer()
					r.Close()
					r = open()
					left = blocks
					b.StartTimer()
				}
				if n, err := r.Read(dst); n != block || err != nil {
					b.Fatalf("Read = %d, %v; want %d, nil", n, err, block)
				}
				left--
			}
			b.StopTimer()
			r.Close()
			wavBenchReport(b, block, 48000)
		})
	}
}
