package audio

/*
#cgo pkg-config: portaudio-2.0
#include <stdlib.h>
#include <portaudio.h>
#include <pa_jack.h>
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// SetJACKClientName sets the name under which this process appears as a JACK
// client from the next PortAudio initialization on (PortAudio's default is
// "PortAudio", a second process gets "PortAudio-01"). Call it before the first
// ListDevices/Open*, e.g. with "sepd". It panics if name is longer than JACK
// allows (jack_client_name_size, 64 bytes with libjack 2). It allocates once
// per call (the C string is kept for the life of the process).
func SetJACKClientName(name string) {
	if err := paLock("setting the JACK client name"); err != nil {
		panic(err)
	}
	defer paUnlock()
	cs := C.CString(name) // PaJack_SetClientName keeps the pointer
	if C.PaJack_SetClientName(cs) != C.paNoError {
		C.free(unsafe.Pointer(cs))
		panic(fmt.Sprintf("audio: JACK client name %q is too long", name))
	}
}

// JACKClientName returns the name JACK gave this process's PortAudio client
// (e.g. "PortAudio-01" when another PortAudio program was there first): the
// device name under which other JACK programs see this process. PortAudio must
// be initialized, i.e. a stream open; otherwise, or without a JACK server, it
// returns an error.
func JACKClientName() (string, error) {
	if err := paLock("reading the JACK client name"); err != nil {
		return "", err
	}
	defer paUnlock()
	if pa.refs == 0 {
		return "", fmt.Errorf("audio: JACK client name: no stream is open")
	}
	var name *C.char
	if err := C.PaJack_GetClientName(&name); err != C.paNoError {
		return "", fmt.Errorf("audio: JACK client name: %s", C.GoString(C.Pa_GetErrorText(err)))
	}
	return C.GoString(name), nil
}
