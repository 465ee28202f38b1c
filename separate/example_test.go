package separate_test

import (
	"fmt"
	"log"

	"github.com/sepd/sepd/separate"
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
