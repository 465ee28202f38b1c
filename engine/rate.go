package engine

import (
	"errors"
	"io"

	"github.com/sepd/sepd/audio"
)

// RateSource reads a Source at one rate (a device's, a file's) and returns
// its samples at another (the bases'), converted by audio.Resampler, one per
// channel.
//
// After its Reads have returned J frames in all, it has read exactly
// ceil(J fromHz / toHz) frames of its source, the frames a RateSink writes
// for J frames (OutputFor): so through devices, every engine frame reads as
// many device frames as it plays, and the audio bridge's capture-to-playback
// bookkeeping (audio.Live) holds as without conversion. The one or two
// frames read ahead of what the filter needs wait in the RateSource.
//
// When the source ends (io.EOF) the RateSource returns the samples its
// input covers, then io.EOF; with End set, End(frames read) says how many
// frames to return in all, and the input is padded with silence to make
// them (a file's outputs need the filter's tail).
//
// Read allocates only when a block is larger than any before; it belongs to
// one goroutine.
type RateSource struct {
	src     Source
	rs      []*audio.Resampler
	from    int64
	to      int64
	buf     [][]float64 // input frames read and not yet taken by the filter
	have    int
	view    [][]float64
	in, out int64 // frames read from src, frames returned
	eof     bool
	target  int64 // with eof: the frames to return in all
	// End, if set, is called once when the source ends, with the frames it
	// gave; it returns the frames the RateSource returns in all.
	End func(inFrames int64) (outFrames int64)
}

// NewRateSource returns a RateSource of channels channels from src at fromHz
// to toHz. It allocates the filters.
func NewRateSource(src Source, channels, fromHz, toHz int) (*RateSource, error) {
	rs, err := resamplers(channels, fromHz, toHz)
	if err != nil {
		return nil, err
	}
	return &RateSource{src: src, rs: rs, from: int64(fromHz), to: int64(toHz),
		buf: make([][]float64, channels), view: make([][]float64, channels)}, nil
}

func resamplers(channels, fromHz, toHz int) ([]*audio.Resampler, error) {
	r, err := audio.NewResampler(fromHz, toHz)
	if err != nil {
		return nil, err
	}
	rs := []*audio.Resampler{r}
	for len(rs) < channels {
		rs = append(rs, r.Clone())
	}
	return rs, nil
}

// DelaySamples is the filter's delay in output samples (see audio.Resampler).
func (s *RateSource) DelaySamples() float64 { return s.rs[0].DelayOutputSamples() }

// InputFrames is the number of frames read from the source so far.
func (s *RateSource) InputFrames() int64 { return s.in }

func (s *RateSource) grow(n int) {
	if cap(s.buf[0]) >= n {
		return
	}
	for c := range s.buf {
		b := make([]float64, 2*n+16)
		copy(b, s.buf[c][:s.have])
		s.buf[c] = b
	}
}

// Read fills dst[c] (every channel the same length) with the next frames at
// the output rate: all of them, or fewer and io.EOF at the end, or the
// source's error.
func (s *RateSource) Read(dst [][]float64) (int, error) {
	n := len(dst[0])
	if s.eof {
		n = int(min(int64(n), s.target-s.out))
		if n <= 0 {
			return 0, io.EOF
		}
	} else {
		k := int((s.out+int64(n))*s.from/s.to - s.in)
		if (s.out+int64(n))*s.from%s.to != 0 {
			k++ // ceil
		}
		s.grow(s.have + k)
		got := 0
		for got < k {
			for c := range s.view {
				s.view[c] = s.buf[c][s.have+got : s.have+k]
			}
			m, err := s.src.Read(s.view)
			got += m
			if errors.Is(err, io.EOF) {
				s.eof = true
				break
			}
			if err != nil {
				s.have += got
				s.in += int64(got)
				return 0, err
			}
		}
		s.have += got
		s.in += int64(got)
		if s.eof {
			s.target = s.out + int64(s.rs[0].OutputFor(s.have))
			if s.End != nil {
				s.target = s.End(s.in)
			}
			n = int(min(int64(n), s.target-s.out))
			if n <= 0 {
				return 0, io.EOF
			}
		}
	}
	if need := s.rs[0].InputFor(n); need > s.have { // the source ended: silence after it
		s.grow(need)
		for c := range s.buf {
			clear(s.buf[c][s.have:need])
		}
		s.have = need
	}
	used := 0
	for c, r := range s.rs {
		used = r.Convert(dst[c][:n], s.buf[c][:s.have])
	}
	for c := range s.buf {
		copy(s.buf[c], s.buf[c][used:s.have])
	}
	s.have -= used
	s.out += int64(n)
	if s.eof && s.out >= s.target {
		return n, io.EOF
	}
	return n, nil
}

// RateSink converts blocks from one rate (the bases') to another (a
// device's, a file's) and writes them to a Sink: for J frames written in
// all it has written ceil(J toHz / fromHz) (see RateSource). Write
// allocates only when a block is larger than any before; it belongs to one
// goroutine.
type RateSink struct {
	dst Sink
	rs  []*audio.Resampler
	out [][]float64
}

// NewRateSink returns a RateSink of channels channels from fromHz to toHz
// into dst. It allocates the filters.
func NewRateSink(dst Sink, channels, fromHz, toHz int) (*RateSink, error) {
	rs, err := resamplers(channels, fromHz, toHz)
	if err != nil {
		return nil, err
	}
	return &RateSink{dst: dst, rs: rs, out: make([][]float64, channels)}, nil
}

// DelaySamples is the filter's delay in output samples (see audio.Resampler).
func (s *RateSink) DelaySamples() float64 { return s.rs[0].DelayOutputSamples() }

// Write converts src (src[c] for every channel, the same length) and writes
// what it completes to the Sink.
func (s *RateSink) Write(src [][]float64) error {
	m := s.rs[0].OutputFor(len(src[0]))
	for c, r := range s.rs {
		if cap(s.out[c]) < m {
			s.out[c] = make([]float64, 2*m+16)
		}
		s.out[c] = s.out[c][:m]
		r.Process(s.out[c], src[c])
	}
	if m == 0 {
		return nil
	}
	return s.dst.Write(s.out)
}
