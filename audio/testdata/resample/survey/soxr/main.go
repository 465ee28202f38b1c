// The soxr half of the resampler survey in audio/resample.go ("Why not a
// library"): how many samples libsoxr 0.1.3 returns per soxr_process call
// when fed a 256-sample hop at a time (at the higher rate, 768 or 706
// samples), at HQ (4) and VHQ (6). Needs libsoxr-dev; run from this folder:
//
//	go run .
package main

/*
#cgo pkg-config: soxr
#include <soxr.h>
*/
import "C"
import (
	"fmt"
	"unsafe"
)

func run(in, out float64, q int, blk int) {
	var e C.soxr_error_t
	io := C.soxr_io_spec(C.SOXR_FLOAT64_I, C.SOXR_FLOAT64_I)
	qs := C.soxr_quality_spec(C.ulong(q), 0)
	rs := C.soxr_runtime_spec(1)
	s := C.soxr_create(C.double(in), C.double(out), 1, &e, &io, &qs, &rs)
	if e != nil {
		panic(C.GoString(e))
	}
	x := make([]float64, blk)
	y := make([]float64, 4*blk+4096)
	counts := []int{}
	t := 0
	total := 0
	for k := 0; k < 40; k++ {
		for i := range x {
			if t == 0 {
				x[i] = 1
			} else {
				x[i] = 0
			}
			t++
		}
		var idone, odone C.size_t
		C.soxr_process(s, C.soxr_in_t(unsafe.Pointer(&x[0])), C.size_t(len(x)), &idone, C.soxr_out_t(unsafe.Pointer(&y[0])), C.size_t(len(y)), &odone)
		counts = append(counts, int(odone))
		if int(idone) != blk {
			fmt.Println("idone", idone)
		}
		total += int(odone)
	}
	fmt.Printf("%v->%v q%d blk %d delay=%v counts=%v\n", in, out, q, blk, float64(C.soxr_delay(s)), counts)
	C.soxr_delete(s)
}

func main() {
	for _, q := range []int{4, 6} {
		run(48000, 16000, q, 768)
		run(16000, 48000, q, 256)
		run(44100, 16000, q, 706)
		run(16000, 44100, q, 256)
	}
}
