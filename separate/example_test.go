package separate_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"math"

	"github.com/sepd/sepd/separate"
	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// A two-source separation of one frame: the frame is exactly twice the
// "low" basis plus the "high" one, and the Wiener-like masks (MaskPower 2)
// split every bin between them.
func ExampleSeparator() {
	low := mat.NewDense(4, 1, []float64{1, 0.5, 0.25, 0})
	high := mat.NewDense(4, 1, []float64{0, 0.25, 0.5, 1})
	b, err := separate.NewBases([]string{"low", "high"}, []*mat.Dense{low, high})
	if err != nil {
		log.Fatal(err)
	}
	p := separate.DefaultParams()
	p.Iterations = 100
	s, err := separate.NewSeparator(b, p)
	if err != nil {
		log.Fatal(err)
	}
	masks := [][]float64{make([]float64, 4), make([]float64, 4)}
	v := []float64{2, 1.25, 1, 1} // 2*low + 1*high
	s.Process(masks, v)           // allocates nothing
	fmt.Printf("h = %.3f\n", s.Activations())
	for i, name := range b.Names {
		fmt.Printf("%-4s mask %.3f\n", name, masks[i])
	}
	// Output:
	// h = [2.000 1.000]
	// low  mask [1.000 0.941 0.500 0.000]
	// high mask [0.000 0.059 0.500 1.000]
}

// Loading bases saved by numpy, here a 9 x 3 float64 array for fft_size 16
// (F = 9 bins): the report says how the file was read.
func ExampleLoadBases() {
	b, reports, err := separate.LoadBases([]separate.BasesFile{
		{Name: "voice", Path: "testdata/bad/good.npy"},
		{Name: "noise", Path: "testdata/bad/good_components_f32.npy"},
	}, 16)
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range reports {
		fmt.Println(r)
	}
	fmt.Println("F =", b.F(), "K =", b.K(), "sources", b.Names, "start", b.Start)
	// Output:
	// voice: testdata/bad/good.npy float64 9x3 read as F x K (ours), K=3
	// noise: testdata/bad/good_components_f32.npy float32 3x9 read as sklearn components_ (K x F), K=3
	// F = 9 K = 6 sources [voice noise] start [0 3 6]
}

// Learning two bases from a spectrogram that is exactly the sum of two
// spectral shapes with changing gains: the factorisation finds both shapes
// (printed scaled to sum to 1), at the scale NMF leaves them.
func ExampleLearn() {
	low := []float64{4, 2, 1, 0, 0, 0}
	high := []float64{0, 0, 0, 1, 2, 4}
	V := mat.NewDense(6, 8, nil)
	for t := 0; t < 8; t++ {
		a, b := float64(t%3), float64((t+1)%4)
		for f := 0; f < 6; f++ {
			V.Set(f, t, a*low[f]+b*high[f])
		}
	}
	res, err := separate.Learn(context.Background(), V, separate.LearnParams{Components: 2, Beta: 1, Iterations: 500})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("divergence %.0e after %d iterations\n", math.Max(res.Divergence, 1e-6), res.Iterations)
	for k := 0; k < 2; k++ {
		// The bases keep NMF's scale (as scikit-learn's components_):
		// their shape, and their sum.
		w := mat.Col(nil, k, res.W)
		sum := floats.Sum(w)
		floats.Scale(1/sum, w)
		fmt.Printf("basis %d: %.3f, sum %.1f\n", k, w, sum)
	}
	// Output:
	// divergence 1e-06 after 500 iterations
	// basis 0: [0.571 0.286 0.143 0.000 0.000 0.000], sum 9.6
	// basis 1: [0.000 0.000 0.000 0.143 0.286 0.571], sum 13.2
}

// Saving bases in numpy's format: numpy.load reads the file back as a
// float32 F x K array.
func ExampleWriteNPY() {
	w := mat.NewDense(3, 2, []float64{0.5, 0.25, 0.25, 0.25, 0.25, 0.5})
	var buf bytes.Buffer
	if err := separate.WriteNPY(&buf, w); err != nil {
		log.Fatal(err)
	}
	header := buf.Bytes()[10:bytes.IndexByte(buf.Bytes(), '\n')]
	fmt.Printf("%d bytes, header %q\n", buf.Len(), bytes.TrimRight(header, " "))
	// Output:
	// 152 bytes, header "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }"
}

// A source of free bases beside a fixed one: the Separator learns them
// while it separates, FreeBases saves them, and CarryOver hands them (with
// the activations) to the Separator that replaces it on a reload.
func ExampleSeparator_CarryOver() {
	voice := mat.NewDense(4, 1, []float64{1, 0.5, 0.25, 0})
	b, _, err := separate.LoadBases([]separate.BasesFile{{Name: "room", Free: 2}}, 6) // F = 4
	if err != nil {
		log.Fatal(err)
	}
	_, room := b.Source(0)
	bases, err := separate.NewBases([]string{"voice", "room"}, []*mat.Dense{voice, room})
	if err != nil {
		log.Fatal(err)
	}
	bases.Free[1] = 2 // room's two columns are learned online
	s, err := separate.NewSeparator(bases, separate.DefaultParams())
	if err != nil {
		log.Fatal(err)
	}
	masks := [][]float64{make([]float64, 4), make([]float64, 4)}
	for range 200 {
		s.Process(masks, []float64{1, 0.75, 1, 1.5}) // voice plus a steady rumble
	}
	next, _ := separate.NewSeparator(bases, separate.DefaultParams()) // e.g. after a reload
	next.CarryOver(s)                                                 // no allocation
	fmt.Println("carried over:", mat.Equal(next.FreeBases("room"), s.FreeBases("room")))
	r, c := s.FreeBases("room").Dims()
	fmt.Printf("free bases to save: %dx%d, column sums %.3f\n", r, c, mat.Sum(s.FreeBases("room"))/2)
	// Output:
	// carried over: true
	// free bases to save: 4x2, column sums 1.000
}

// LearnRecon on one bin and one frame of two sources (TestReconStepByHand
// works the step out): the louder source's reconstruction basis grows, and
// the masked mixture comes closer to the sources.
func ExampleLearnRecon() {
	one := func(x float64) *mat.Dense { return mat.NewDense(1, 1, []float64{x}) }
	b, err := separate.NewBases([]string{"a", "b"}, []*mat.Dense{one(1), one(1)})
	if err != nil {
		panic(err)
	}
	d := separate.ReconData{
		V: one(2),                           // the mixture's magnitude
		S: []*mat.Dense{one(1.5), one(0.5)}, // each source's
		H: mat.NewDense(2, 1, []float64{1, 1}),
	}
	wr, before, after, err := separate.LearnRecon(context.Background(), b, d, separate.ReconParams{Iterations: 1})
	if err != nil {
		panic(err)
	}
	fmt.Printf("W' = %.4f %.4f, objective %.4f -> %.4f\n", wr.At(0, 0), wr.At(0, 1), before, after)
	// Output: W' = 1.2500 0.7500, objective 0.5000 -> 0.0017
}
