package audio

import (
	"errors"
	"io"
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

// BenchmarkWAVReaderRead reads 1024-frame blocks of a 1 s stereo 48 kHz file
// written by WAVWriter, reopening it at the end.
func BenchmarkWAVReaderRead(b *testing.B) {
	for _, enc := range []Encoding{Float32, PCM16} {
		b.Run(enc.String(), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "in.wav")
			w, err := CreateWAV(path, Format{48000, 2}, enc)
			if err != nil {
				b.Fatal(err)
			}
			sig := wavTestSignal(2, 48000)
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
			dst := [][]float64{make([]float64, 1024), make([]float64, 1024)}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.Read(dst); errors.Is(err, io.EOF) {
					r.Close()
					r = open()
				} else if err != nil {
					b.Fatal(err)
				}
			}
			r.Close()
			wavBenchReport(b, 1024, 48000)
		})
	}
}
