package separate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// fixture paths. testdata/sklearn_golden.py writes the first group (fft_size
// 512, F = 257, K = 16: 12 voice then 4 noise bases); make_bad_bases.py
// writes testdata/bad (fft_size 16, F = 9, K = 3).
const (
	goldenFFTSize = 512
	badFFTSize    = 16
)

func td(name string) string { return filepath.Join("testdata", name) }

// loadFixtureW reads testdata/W.npy, the float64 C-order F x K original.
func loadFixtureW(t testing.TB) *mat.Dense {
	t.Helper()
	b, _, err := LoadBases([]BasesFile{{Name: "all", Path: td("W.npy")}}, goldenFFTSize)
	if err != nil {
		t.Fatal(err)
	}
	return b.W
}

func TestLoadBasesLayouts(t *testing.T) {
	want := loadFixtureW(t)
	F, K := want.Dims()
	if F != 257 || K != 16 {
		t.Fatalf("W.npy is %dx%d, want 257x16 (sklearn_golden.py)", F, K)
	}
	for _, tc := range []struct {
		name   string
		files  []BasesFile
		orient []Orientation
		dtype  string
		tol    float64 // relative to max(W)
	}{
		{"float64 C F x K", []BasesFile{{Name: "all", Path: td("W.npy")}}, []Orientation{FxK}, "float64", 0},
		// float32 rounding: relative error <= 2^-24 of each value.
		{"float32 Fortran F x K", []BasesFile{{Name: "all", Path: td("W_f32_fortran.npy")}}, []Orientation{FxK}, "float32", 0x1p-24},
		{"float64 components_ K x F", []BasesFile{{Name: "all", Path: td("components.npy")}}, []Orientation{KxF}, "float64", 0},
		{"npz, every array", []BasesFile{{Name: "", Path: td("bases.npz")}}, []Orientation{KxF, FxK}, "float64", 0},
		{"npz, by name", []BasesFile{{Name: "voice", Path: td("bases.npz")}, {Name: "noise", Path: td("bases.npz")}}, []Orientation{KxF, FxK}, "float64", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, reps, err := LoadBases(tc.files, goldenFFTSize)
			if err != nil {
				t.Fatal(err)
			}
			if !mat.EqualApprox(b.W, want, tc.tol*mat.Max(want)) {
				t.Errorf("W differs from W.npy by more than %g", tc.tol)
			}
			if len(reps) != len(tc.orient) {
				t.Fatalf("%d reports, want %d", len(reps), len(tc.orient))
			}
			for i, r := range reps {
				if r.Orientation != tc.orient[i] || r.DType != tc.dtype {
					t.Errorf("report %d: %v %s, want %v %s", i, r.Orientation, r.DType, tc.orient[i], tc.dtype)
				}
				t.Log(r)
			}
			if len(tc.orient) == 2 {
				if got := strings.Join(b.Names, ","); got != "voice,noise" {
					t.Errorf("names %s, want voice,noise (the npz order)", got)
				}
				if b.Start[1] != 12 || b.Start[2] != 16 {
					t.Errorf("Start = %v, want [0 12 16]", b.Start)
				}
			}
		})
	}
}

func TestLoadReportString(t *testing.T) {
	for _, tc := range []struct {
		r    LoadReport
		want string
	}{
		{LoadReport{"voice", "voice.npy", 32, 513, KxF, "float32", 0, ""},
			"voice: voice.npy float32 32x513 read as sklearn components_ (K x F), K=32"},
		{LoadReport{"noise", "b/noise.npy", 513, 8, FxK, "float64", 0, ""},
			"noise: b/noise.npy float64 513x8 read as F x K (ours), K=8"},
		{LoadReport{"voice", "all.npz", 12, 257, KxF, "float64", 0, ""},
			"voice: all.npz[voice] float64 12x257 read as sklearn components_ (K x F), K=12"},
		{LoadReport{"noise", "b/noise.npy", 513, 8, FxK, "float64", 0, "b/noise.recon.npy"},
			"noise: b/noise.npy float64 513x8 read as F x K (ours), K=8; masks from the reconstruction bases b/noise.recon.npy"},
	} {
		if got := tc.r.String(); got != tc.want {
			t.Errorf("got  %q\nwant %q", got, tc.want)
		}
	}
}

func TestLoadBasesSmall(t *testing.T) {
	for _, tc := range []struct {
		name    string
		files   []BasesFile
		k       int
		orient  Orientation
		dtype   string
		summary string
	}{
		{"F x K", []BasesFile{{Name: "a", Path: td("bad/good.npy")}}, 3, FxK, "float64", "read as F x K (ours), K=3"},
		{"components_ float32", []BasesFile{{Name: "a", Path: td("bad/good_components_f32.npy")}}, 3, KxF, "float32", "read as sklearn components_ (K x F), K=3"},
		{"square", []BasesFile{{Name: "a", Path: td("bad/square.npy")}}, 9, FxK, "float64", "K == F so sklearn's components_ (K x F) would fit too"},
		{"float64 Fortran", []BasesFile{{Name: "a", Path: td("bad/good_fortran.npy")}}, 3, FxK, "float64", "read as F x K (ours), K=3"},
		{"big-endian float32 components_", []BasesFile{{Name: "a", Path: td("bad/good_bigendian_f32.npy")}}, 3, KxF, "float32", "read as sklearn components_ (K x F), K=3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, reps, err := LoadBases(tc.files, badFFTSize)
			if err != nil {
				t.Fatal(err)
			}
			if b.F() != 9 || b.K() != tc.k || reps[0].Orientation != tc.orient || reps[0].DType != tc.dtype {
				t.Errorf("got F=%d K=%d %v %s", b.F(), b.K(), reps[0].Orientation, reps[0].DType)
			}
			if s := reps[0].String(); !strings.Contains(s, tc.summary) {
				t.Errorf("report %q lacks %q", s, tc.summary)
			}
			if tc.k == 3 {
				// make_bad_bases.py: good()[f, k] = 1 + f + 10 k.
				if b.W.At(4, 2) != 25 {
					t.Errorf("W[4,2] = %v, want 25", b.W.At(4, 2))
				}
			}
		})
	}
}

// TestLoadBasesErrors: every bad fixture, with the parts its message must
// contain (the file, the source, and what to fix).
func TestLoadBasesErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files []BasesFile
		want  []string
	}{
		{"NaN", []BasesFile{{Name: "voice", Path: td("bad/nan.npy")}}, []string{`source "voice"`, "nan.npy", "[4, 1]", "NaN"}},
		{"Inf", []BasesFile{{Name: "voice", Path: td("bad/inf.npy")}}, []string{`source "voice"`, "inf.npy", "[2, 0]", "+Inf"}},
		{"-Inf in components_", []BasesFile{{Name: "n", Path: td("bad/neginf_components.npy")}}, []string{"neginf_components.npy", "[1, 5]", "basis 1, bin 5", "-Inf"}},
		{"negative", []BasesFile{{Name: "voice", Path: td("bad/negative.npy")}}, []string{"negative.npy", "[7, 2]", "negative (-0.5)"}},
		{"all-zero column", []BasesFile{{Name: "voice", Path: td("bad/zero_column.npy")}}, []string{"zero_column.npy", "basis 1 (column 1", "all zero"}},
		{"all-zero components_ row", []BasesFile{{Name: "voice", Path: td("bad/zero_row_components.npy")}}, []string{"zero_row_components.npy", "basis 2 (row 2", "all zero"}},
		{"wrong shape", []BasesFile{{Name: "voice", Path: td("bad/wrong_shape.npy")}}, []string{"wrong_shape.npy", `"voice"`, "shape 10x3", "F = 9", "fft_size 16"}},
		{"1-D", []BasesFile{{Name: "voice", Path: td("bad/one_d.npy")}}, []string{"one_d.npy", "shape [9]", "2-D"}},
		{"3-D", []BasesFile{{Name: "voice", Path: td("bad/three_d.npy")}}, []string{"three_d.npy", "shape [2 9 3]", "2-D"}},
		{"int64", []BasesFile{{Name: "voice", Path: td("bad/int64.npy")}}, []string{"int64.npy", "dtype <i8", "float32 or float64"}},
		{"duplicate names", []BasesFile{{Name: "voice", Path: td("bad/good.npy")}, {Name: "voice", Path: td("bad/good_components_f32.npy")}},
			[]string{"good_components_f32.npy", `duplicate source name "voice"`, "good.npy"}},
		{"duplicate names from npz", []BasesFile{{Name: "voice", Path: td("bad/good.npy")}, {Name: "", Path: td("bad/two.npz")}},
			[]string{"two.npz", `duplicate source name "voice"`}},
		{"empty name", []BasesFile{{Name: "", Path: td("bad/good.npy")}}, []string{"good.npy", "empty source name"}},
		{"missing npz array", []BasesFile{{Name: "piano", Path: td("bad/two.npz")}}, []string{"two.npz", `no array "piano"`, "the file has: voice, noise"}},
		{"different F", []BasesFile{{Name: "a", Path: td("bad/good.npy")}, {Name: "b", Path: td("W.npy")}}, []string{"W.npy", "shape 257x16", "F = 9"}},
		{"no file", []BasesFile{{Name: "voice", Path: td("bad/absent.npy")}}, []string{`"voice"`, "absent.npy", "no such file"}},
		{"no sources", nil, []string{"no sources"}},
		{"truncated data", []BasesFile{{Name: "voice", Path: td("bad/truncated_data.npy")}}, []string{"truncated_data.npy", "truncated", "216 bytes"}},
		{"truncated header", []BasesFile{{Name: "voice", Path: td("bad/truncated_header.npy")}}, []string{"truncated_header.npy", "corrupt .npy"}},
		{"header without newline", []BasesFile{{Name: "voice", Path: td("bad/no_newline_header.npy")}}, []string{"no_newline_header.npy", "corrupt .npy"}},
		{"garbage header", []BasesFile{{Name: "voice", Path: td("bad/garbage.npy")}}, []string{"garbage.npy", "corrupt .npy"}},
		{"not numpy", []BasesFile{{Name: "voice", Path: td("bad/not_numpy.npy")}}, []string{"not_numpy.npy", "neither a numpy .npy nor a .npz"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, reps, err := LoadBases(tc.files, badFFTSize)
			if err == nil {
				t.Fatalf("no error; got %d sources, reports %v", b.NumSources(), reps)
			}
			msg := err.Error()
			t.Log(msg)
			if !strings.HasPrefix(msg, "separate: ") {
				t.Errorf("error %q lacks the package prefix", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q\n  lacks %q", msg, w)
				}
			}
		})
	}
}

// TestLoadBasesCorruptNoPanic feeds every prefix and some byte flips of a
// valid .npy and .npz to LoadBases: each must give a result or an error that
// names the file, never a panic.
func TestLoadBasesCorruptNoPanic(t *testing.T) {
	dir := t.TempDir()
	for _, src := range []string{"bad/good.npy", "bad/two.npz"} {
		raw, err := os.ReadFile(td(src))
		if err != nil {
			t.Fatal(err)
		}
		// Every prefix through the header (npy: 128 bytes; npz: the first
		// member's local header and npy header), then every 16th; a byte
		// flip every 7 bytes.
		var variants [][]byte
		for n := 0; n < len(raw); n++ {
			if n < 200 || n%16 == 0 {
				variants = append(variants, raw[:n])
			}
		}
		for i := 0; i < len(raw); i += 7 {
			c := append([]byte(nil), raw...)
			c[i] ^= 0xA5
			variants = append(variants, c)
		}
		for i, v := range variants {
			p := filepath.Join(dir, "corrupt"+filepath.Ext(src))
			if err := os.WriteFile(p, v, 0o644); err != nil {
				t.Fatal(err)
			}
			name := "voice"
			_, _, err := LoadBases([]BasesFile{{Name: name, Path: p}}, badFFTSize)
			if err != nil && !strings.Contains(err.Error(), p) {
				t.Fatalf("%s variant %d: error %q does not name the file", src, i, err)
			}
		}
	}
}

func TestLoadBasesBadFFTSize(t *testing.T) {
	if _, _, err := LoadBases([]BasesFile{{Name: "a", Path: td("bad/good.npy")}}, 1); err == nil || !strings.Contains(err.Error(), "fft_size 1") {
		t.Errorf("got %v, want an fft_size error", err)
	}
}

func TestNewBases(t *testing.T) {
	a := mat.NewDense(3, 2, []float64{1, 0, 0, 1, 1, 1})
	b := mat.NewDense(3, 1, []float64{0, 2, 0})
	bs, err := NewBases([]string{"a", "b"}, []*mat.Dense{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if bs.F() != 3 || bs.K() != 3 || bs.NumSources() != 2 || bs.Start[1] != 2 || len(bs.Free) != 2 {
		t.Fatalf("got F=%d K=%d S=%d Start=%v Free=%v", bs.F(), bs.K(), bs.NumSources(), bs.Start, bs.Free)
	}
	a.Set(0, 0, 7) // NewBases copied
	if bs.W.At(0, 0) != 1 {
		t.Error("NewBases did not copy")
	}
	name, w := bs.Source(1)
	if name != "b" || w.At(1, 0) != 2 {
		t.Errorf("Source(1) = %q %v", name, mat.Formatted(w))
	}
	for _, tc := range []struct {
		name  string
		names []string
		ws    []*mat.Dense
		want  string
	}{
		{"empty name", []string{""}, []*mat.Dense{a}, "empty source name"},
		{"duplicate", []string{"x", "x"}, []*mat.Dense{a, b}, `duplicate source name "x"`},
		{"F mismatch", []string{"x", "y"}, []*mat.Dense{a, mat.NewDense(2, 1, []float64{1, 1})}, "every source needs the same F"},
		{"nil", []string{"x"}, []*mat.Dense{nil}, "nil matrix"},
		{"none", nil, nil, "no sources"},
	} {
		if _, err := NewBases(tc.names, tc.ws); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
}
