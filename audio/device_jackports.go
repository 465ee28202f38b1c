package audio

/*
#cgo pkg-config: jack
#include <stdlib.h>
#include <jack/jack.h>

// sepdJackOpen opens a JACK client that never activates, only to read the
// port list; NULL when no server answers (it never starts one).
static jack_client_t *sepdJackOpen(const char *name) {
	jack_status_t st;
	return jack_client_open(name, JackNoStartServer, &st);
}
*/
import "C"

import (
	"strings"
	"unsafe"
)

// jackMonitorOnly returns the JACK clients whose audio output ports (what
// PortAudio offers as a device's capture channels) are all monitor ports:
// PipeWire's libjack lists every sink with its monitor ports
// ("sepd virtual speakers:monitor_FL"), so a sink is also a PortAudio
// device that can capture, and capturing from it records what the desktop
// plays. jackd never names ports so. ok is false when no JACK server answers.
// It opens (and closes) a JACK client of its own, which never activates; it
// allocates.
func jackMonitorOnly() (monitorOnly map[string]bool, ok bool) {
	name := C.CString("sepd-devices")
	defer C.free(unsafe.Pointer(name))
	c := C.sepdJackOpen(name)
	if c == nil {
		return nil, false
	}
	defer C.jack_client_close(c)
	audioType := C.CString(C.JACK_DEFAULT_AUDIO_TYPE)
	defer C.free(unsafe.Pointer(audioType))
	ports := C.jack_get_ports(c, nil, audioType, C.JackPortIsOutput)
	if ports == nil {
		return map[string]bool{}, true
	}
	defer C.jack_free(unsafe.Pointer(ports))
	capture := map[string]bool{} // client -> has a non-monitor output port
	for _, p := range unsafe.Slice(ports, 1<<20) {
		if p == nil {
			break
		}
		client, port, found := strings.Cut(C.GoString(p), ":")
		if !found {
			continue
		}
		capture[client] = capture[client] || !strings.HasPrefix(port, "monitor_")
	}
	monitorOnly = map[string]bool{}
	for client, real := range capture {
		if !real {
			monitorOnly[client] = true
		}
	}
	return monitorOnly, true
}
