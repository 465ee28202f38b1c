package audio

import (
	"math"
	"math/bits"
	"sync/atomic"
)

// Ring is a lock-free single-producer single-consumer ring buffer of
// interleaved float32 frames: the hand-off between a PortAudio callback and the
// engine goroutine (Capture: callback -> engine; Playback: engine -> callback).
//
// Samples are float32 because that is what PortAudio delivers and takes: the
// callback side is a plain copy with no conversion, the ring is half the size
// of a float64 one, and float32 -> float64 -> float32 is exact, so a capture
// looped to a playback is bit-exact. The engine side converts to and from
// float64 when it deinterleaves.
//
// The capacity is a power of two in frames (NewRing rounds up), and positions
// are free-running uint64 frame counters, so a slot is pos & mask and the fill
// level is writePos - readPos with no wrap-around cases; at 48 kHz a uint64
// overflows after 12 million years.
//
// One goroutine or thread may call the producer methods (Write,
// WriteOverwrite) and one the consumer methods (Read, Discard) concurrently;
// Len, Free, Cap and Channels may be called from anywhere (Len and Free are
// then a snapshot). Nothing allocates after NewRing, nothing blocks, nothing
// locks.
//
// # Overflow policies
//
// Write never overwrites: it stores the frames that fit and returns how many
// (the rest are the caller's to count and drop). WriteOverwrite keeps the
// newest frames: it drops the oldest unread frames to make room. That is the
// capture policy (after a stall the engine resumes with the freshest audio and
// the latency stays bounded by the capacity).
//
// # Memory ordering
//
// Three atomics (Go's sync/atomic operations are sequentially consistent):
//
//   - writePos: stored only by the producer, after it has copied the frames
//     below it into their slots. A consumer that loads writePos = w therefore
//     sees the data of every frame < w (store/load synchronize).
//   - readPos: the first unread frame. The consumer advances it when it claims
//     frames; the producer advances it in WriteOverwrite to drop the oldest
//     frames. Both advance it only by CompareAndSwap, so it only grows, and the
//     loser of a race reloads and retries.
//   - reading: the first frame of the consumer's copy in progress, or idle.
//
// Consumer (Read): load r := readPos and w := writePos (so r <= w), store
// reading = r, then CAS readPos from r to r+m. If the CAS fails the producer
// dropped frames in between: store reading = idle and retry. Only after a successful CAS does the
// consumer copy slots [r, r+m), and then it stores reading = idle.
//
// Producer: load (or CAS forward) readPos = r, then load reading = b, and write
// only frames p < limit + capacity with limit = min(r, b): the slot of p then
// belongs to a frame below limit, which is neither unread nor being copied.
// Why that holds: if the consumer's CAS from r0 succeeded before the producer
// loaded readPos, its earlier store reading = r0 is also before the producer's
// load of reading in the total order, so b <= r0 (or b = idle, stored after the
// copy finished, which makes the copy happen before the overwrite). If the
// producer loaded readPos before that CAS, it loaded a value <= r0 because
// readPos only grows and was r0 at the CAS. Either way limit <= r0 while slots
// [r0, r0+m) are being copied. A CAS by the producer in between makes the
// consumer's CAS fail, and the consumer then has touched no slot. Every slot a
// frame is written to was last read in a copy that is ordered before the write
// by one of these loads, so there is no data race (the -race stress test
// checks this). A stale claim (reading = b stored by a consumer whose CAS is
// about to fail because the producer has lapped it) can put limit more than a
// capacity behind the write position; the producer then writes nothing until
// the claim is withdrawn (see room).
//
// Read and Write are wait-free in the common case; a CAS retry needs the other
// side to have made progress, so the ring is lock-free.
type Ring struct {
	buf      []float32
	mask     uint64 // capacity in frames - 1
	channels int

	_        [64]byte // keep the producer's and the consumer's atomics on separate cache lines
	writePos atomic.Uint64
	_        [56]byte
	readPos  atomic.Uint64
	reading  atomic.Uint64
}

// ringIdle marks "no consumer copy in progress" in Ring.reading.
const ringIdle = math.MaxUint64

// NewRing returns an empty Ring holding at least frames frames of channels
// interleaved samples each; the capacity is frames rounded up to a power of
// two. It allocates the buffer (and nothing afterwards). It panics if frames
// or channels is < 1 or the buffer would hold more than 2^31 samples.
func NewRing(frames, channels int) *Ring {
	if frames < 1 || channels < 1 {
		panic("audio: NewRing needs frames >= 1 and channels >= 1")
	}
	capFrames := uint64(1) << bits.Len64(uint64(frames-1))
	if capFrames*uint64(channels) > 1<<31 {
		panic("audio: NewRing: ring too large")
	}
	r := &Ring{
		buf:      make([]float32, capFrames*uint64(channels)),
		mask:     capFrames - 1,
		channels: channels,
	}
	r.reading.Store(ringIdle)
	return r
}

// Cap returns the capacity in frames (a power of two). It does not allocate.
func (r *Ring) Cap() int { return int(r.mask + 1) }

// Channels returns the number of samples per frame. It does not allocate.
func (r *Ring) Channels() int { return r.channels }

// Len returns the number of unread frames. Called concurrently with the
// producer or the consumer it is a snapshot that may be stale at once. It does
// not allocate.
func (r *Ring) Len() int {
	rp := r.readPos.Load()
	wp := r.writePos.Load()
	return int(wp - rp)
}

// Free returns Cap() - Len(). Like Len it is a snapshot.
func (r *Ring) Free() int { return r.Cap() - r.Len() }

// Write copies whole frames from the interleaved src into the ring, as many as
// fit, and returns how many frames it wrote; it never overwrites unread
// frames. Producer only. It does not allocate and panics if len(src) is not a
// multiple of Channels().
func (r *Ring) Write(src []float32) int {
	n := r.frames(src)
	w := r.writePos.Load()
	k := min(uint64(n), r.room(r.limit(r.readPos.Load()), w))
	r.put(w, src[:k*uint64(r.channels)])
	r.writePos.Store(w + k)
	return int(k)
}

// WriteOverwrite copies whole frames from the interleaved src into the ring,
// dropping the oldest unread frames to make room, and returns how many frames
// were dropped in all (0 when everything fit without dropping anything). Only
// when more than Cap() frames are given, or when the consumer is copying the
// oldest frames at that very moment, are some of src's own frames dropped: the
// first ones of src if it is longer than Cap(), else its last ones. Producer
// only. It does not allocate and panics if len(src) is not a multiple of
// Channels().
func (r *Ring) WriteOverwrite(src []float32) (dropped int) {
	n := uint64(r.frames(src))
	capFrames := r.mask + 1
	if n > capFrames {
		dropped = int(n - capFrames)
		src = src[(n-capFrames)*uint64(r.channels):]
		n = capFrames
	}
	w := r.writePos.Load()
	rp := r.readPos.Load()
	for w+n-rp > capFrames {
		want := w + n - capFrames
		if r.readPos.CompareAndSwap(rp, want) {
			dropped += int(want - rp)
			rp = want
			break
		}
		rp = r.readPos.Load() // the consumer advanced it: maybe less to drop now
	}
	k := min(n, r.room(r.limit(rp), w))
	dropped += int(n - k)
	r.put(w, src[:k*uint64(r.channels)])
	r.writePos.Store(w + k)
	return dropped
}

// Read copies up to len(dst)/Channels() of the oldest unread frames into the
// interleaved dst and returns how many frames it copied (0 if the ring is
// empty). Consumer only. It does not allocate and panics if len(dst) is not a
// multiple of Channels().
func (r *Ring) Read(dst []float32) int {
	want := uint64(r.frames(dst))
	if want == 0 {
		return 0
	}
	for {
		rp := r.readPos.Load()
		w := r.writePos.Load()
		m := min(want, w-rp)
		if m == 0 {
			return 0
		}
		r.reading.Store(rp)
		if !r.readPos.CompareAndSwap(rp, rp+m) {
			// The producer dropped the oldest frames meanwhile. No slot was
			// touched; withdraw the claim (a stale one would keep the producer
			// from using those slots for good) and retry.
			r.reading.Store(ringIdle)
			continue
		}
		r.get(dst[:m*uint64(r.channels)], rp)
		r.reading.Store(ringIdle)
		return int(m)
	}
}

// Discard drops up to n of the oldest unread frames without copying them and
// returns how many it dropped: the consumer's way to skip ahead, e.g. to bound
// the latency after a stall. Consumer only. It does not allocate.
func (r *Ring) Discard(n int) int {
	if n <= 0 {
		return 0
	}
	for {
		rp := r.readPos.Load()
		w := r.writePos.Load()
		m := min(uint64(n), w-rp)
		if m == 0 || r.readPos.CompareAndSwap(rp, rp+m) {
			return int(m)
		}
	}
}

// limit returns the first frame the producer must not overwrite the slot of
// (see the type's comment), given a readPos it loaded or set.
func (r *Ring) limit(rp uint64) uint64 {
	if b := r.reading.Load(); b < rp {
		return b
	}
	return rp
}

// room returns how many frames the producer may write from w on, given the
// limit: limit + capacity - w, or 0 when that is negative. It is negative only
// for a stale claim: a consumer that loaded readPos long ago (the producer
// has lapped it since), stored it as reading and is about to fail its CAS.
// Honouring such a claim costs at most the frames of one write; letting the
// uint64 difference wrap round instead let a write overwrite the oldest
// unread frames (found by TestRingStress under CPU load: exactly one
// capacity of frames neither read nor counted as dropped).
func (r *Ring) room(limit, w uint64) uint64 {
	if end := limit + r.mask + 1; end > w {
		return end - w
	}
	return 0
}

func (r *Ring) frames(s []float32) int {
	if len(s)%r.channels != 0 {
		panic("audio: Ring: buffer length is not a multiple of the channel count")
	}
	return len(s) / r.channels
}

// put copies the interleaved frames src into the slots starting at frame pos.
func (r *Ring) put(pos uint64, src []float32) {
	i := int(pos&r.mask) * r.channels
	n := copy(r.buf[i:], src)
	copy(r.buf, src[n:])
}

// get copies the slots starting at frame pos into dst.
func (r *Ring) get(dst []float32, pos uint64) {
	i := int(pos&r.mask) * r.channels
	n := copy(dst, r.buf[i:])
	copy(dst[n:], r.buf)
}
