//go:build race

package audio

import (
	"sync"

	"github.com/gordonklaus/portaudio"
)

var burnOnce sync.Once

// raceWorkaround works around a clash between gordonklaus/portaudio and the
// race detector. OpenStream hands its stream id to C as a pointer
// (unsafe.Pointer(s.id), portaudio.go:655), ids count up from 0, and -race
// turns on checkptr, which kills the process when a uintptr converted to a
// pointer lies in (0, 4096): so under -race the second stream of a process
// dies with "checkptr: pointer arithmetic computed bad pointer value". An
// OpenStream with no callback fails before that conversion but still takes an
// id, so 4096 such calls move the ids past the range checkptr rejects. It
// runs once per process, with PortAudio initialized (OpenStream needs it),
// and only in -race builds.
func raceWorkaround() {
	burnOnce.Do(func() {
		for range 4096 {
			portaudio.OpenStream(portaudio.StreamParameters{})
		}
	})
}
