package separate

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/gonum/mat"
)

// WriteNPY writes m (F x K bases, our orientation) to w as a 2-D
// little-endian float32 .npy file, byte for byte what numpy 1.24's
// numpy.save(path, m.astype(numpy.float32)) writes: format version 1.0, C
// order, the header padded with spaces to a multiple of 64 bytes after
// numpy's 21 - len(str(rows)) bytes of spare room. numpy.load and LoadBases
// read it back. Values are rounded to the nearest float32. It returns the
// writer's error, or an error if m has a NaN, an infinite or a negative
// element, or a value too large for float32; it allocates one buffer of
// 4*F*K bytes.
func WriteNPY(w io.Writer, m mat.Matrix) error {
	r, c := m.Dims()
	data := make([]byte, 0, 4*r*c)
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			x := m.At(i, j)
			if !(x >= 0) || x > math.MaxFloat32 {
				return fmt.Errorf("separate: WriteNPY: element [%d, %d] is %v: bases must be finite and non-negative", i, j, x)
			}
			data = binary.LittleEndian.AppendUint32(data, math.Float32bits(float32(x)))
		}
	}
	var buf bytes.Buffer
	buf.Write(npyHeader(r, c))
	buf.Write(data)
	_, err := w.Write(buf.Bytes())
	return err
}

// npyHeader returns the magic, version, length and header dictionary of a
// C-order float32 array of shape (r, c), as numpy 1.24's
// format._write_array_header and _wrap_header make them.
func npyHeader(r, c int) []byte {
	const (
		magicLen          = 8  // "\x93NUMPY" + major + minor
		arrayAlign        = 64 // numpy.lib.format.ARRAY_ALIGN
		growthAxisDigits  = 21 // numpy.lib.format.GROWTH_AXIS_MAX_DIGITS
		headerLengthBytes = 2  // version 1.0: little-endian uint16
	)
	dict := "{'descr': '<f4', 'fortran_order': False, 'shape': (" +
		strconv.Itoa(r) + ", " + strconv.Itoa(c) + "), }"
	dict += strings.Repeat(" ", growthAxisDigits-len(strconv.Itoa(r)))
	hlen := len(dict) + 1 // the terminating newline
	pad := arrayAlign - (magicLen+headerLengthBytes+hlen)%arrayAlign
	var b bytes.Buffer
	b.WriteString("\x93NUMPY\x01\x00")
	b.WriteByte(byte((hlen + pad) & 0xff))
	b.WriteByte(byte((hlen + pad) >> 8))
	b.WriteString(dict)
	b.WriteString(strings.Repeat(" ", pad))
	b.WriteByte('\n')
	return b.Bytes()
}
