package audio

import "slices"

// mixStage sums the blocks of the writers of one device into interleaved
// frames of stride float32 columns and tells how many frames every writer
// has written. Playback and Live stage their writers' blocks in one; only
// where the finished frames go (their commit) is their own. None of its
// methods allocates but newWriter.
type mixStage struct {
	buf     []float32 // frames not yet written by every writer, stride columns each
	stride  int
	writers []*mixWriter
	staged  int // frames of buf holding anything: the furthest any writer, removed ones included, went
}

// mixWriter is one writer's place in a mixStage.
type mixWriter struct {
	cols []int // the frame column of the writer's channel i
	pos  int   // frames staged ahead of what was committed
}

func newMixStage(frames, stride int) mixStage {
	return mixStage{buf: make([]float32, frames*stride), stride: stride}
}

// frames is how many frames the stage holds: how far one writer can be ahead
// of another. The zero mixStage holds none.
func (m *mixStage) frames() int {
	if m.stride == 0 {
		return 0
	}
	return len(m.buf) / m.stride
}

// newWriter adds a writer of the given channels (distinct, in [0, n)) to
// columns off+channels[i]. It returns false, adding none, when the channels
// are not distinct or out of range. It allocates.
func (m *mixStage) newWriter(channels []int, n, off int) (*mixWriter, bool) {
	w := &mixWriter{cols: make([]int, len(channels))}
	for i, c := range channels {
		if c < 0 || c >= n || slices.Contains(channels[:i], c) {
			return nil, false
		}
		w.cols[i] = off + c
	}
	m.writers = append(m.writers, w)
	return w, true
}

// remove detaches w: the others are no longer held back by it.
func (m *mixStage) remove(w *mixWriter) {
	if i := slices.Index(m.writers, w); i >= 0 {
		m.writers = slices.Delete(m.writers, i, i+1)
	}
}

// add sums src[i][:n] into column cols[i] of w's next n frames. It returns
// false, adding nothing, when that would take w more than frames() ahead of
// what was committed (of another writer).
func (m *mixStage) add(w *mixWriter, src [][]float64, n int) bool {
	if w.pos+n > m.frames() {
		return false
	}
	for i, c := range w.cols {
		st := m.buf[w.pos*m.stride+c:]
		for j, v := range src[i][:n] {
			st[j*m.stride] += float32(v)
		}
	}
	w.pos += n
	m.staged = max(m.staged, w.pos)
	return true
}

// ready returns the frames every writer has written (none when there is no
// writer), for the commit to send before it calls advance.
func (m *mixStage) ready() []float32 {
	if len(m.writers) == 0 {
		return nil
	}
	done := m.writers[0].pos
	for _, w := range m.writers {
		done = min(done, w.pos)
	}
	return m.buf[:done*m.stride]
}

// advance drops the first done frames (those ready returned), moving every
// frame staged after them to the front: also those of a writer removed
// meanwhile, which the others then complete.
func (m *mixStage) advance(done int) {
	ahead, s := m.staged, m.stride
	copy(m.buf, m.buf[done*s:ahead*s])
	clear(m.buf[(ahead-done)*s : ahead*s])
	for _, w := range m.writers {
		w.pos -= done
	}
	m.staged -= done
}
