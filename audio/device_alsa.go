//go:build linux

package audio

/*
#cgo pkg-config: alsa
#include <alsa/asoundlib.h>

// sepdQuiet swallows ALSA's error messages.
static void sepdQuiet(const char *file, int line, const char *function, int err, const char *fmt, ...) {}

static void sepdQuietALSA(int on) {
	snd_lib_error_set_handler(on ? (snd_lib_error_handler_t)sepdQuiet : NULL);
}
*/
import "C"

// quietALSA(true) silences libasound's error messages until quietALSA(false)
// restores its default handler (print to stderr). PortAudio's ALSA host API
// probes every PCM that the ALSA configuration names when PortAudio is
// initialized, and on a machine without those cards libasound prints about 60
// harmless "ALSA lib ..." lines to stderr, each time.
func quietALSA(on bool) {
	if on {
		C.sepdQuietALSA(1)
	} else {
		C.sepdQuietALSA(0)
	}
}
