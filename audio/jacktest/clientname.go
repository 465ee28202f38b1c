package jacktest

/*
#cgo pkg-config: portaudio-2.0
#include <portaudio.h>
#include <pa_jack.h>

static const char sepdJacktestName[] = "jacktest";

static PaError sepdJacktestSetName(void) { return PaJack_SetClientName(sepdJacktestName); }
*/
import "C"

import "fmt"

// HelperClient is the helper's JACK client name, and under PipeWire's libjack
// its node's name (see Graph.Frames).
const HelperClient = "jacktest"

// setClientName makes the helper the JACK client "jacktest" (PortAudio's own
// name is "PortAudio", then "PortAudio-01", ...). PortAudio finds a device's
// ports with the regular expression "NAME:.*"; through PipeWire's libjack
// (0.3.65) the helper's "PortAudio:.*" for a target named "PortAudio" also
// matched the helper's own ports "PortAudio-59:in_0" and connected its output
// to its own input. Call it before portaudio.Initialize.
func setClientName() error {
	if err := C.sepdJacktestSetName(); err != C.paNoError {
		return fmt.Errorf("PaJack_SetClientName: %s", C.GoString(C.Pa_GetErrorText(err)))
	}
	return nil
}
