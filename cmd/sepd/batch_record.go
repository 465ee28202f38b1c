package main

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/sepd/sepd/audio"
	"github.com/sepd/sepd/engine"
	"github.com/sepd/sepd/internal/atomicfile"
)

// recordName is the sidecar record a batch run writes into an input's output
// folder once all its outputs are in place: what was separated, from which
// input, with which configuration and sepd. A later run skips the input when
// the record still matches (upToDate).
const recordName = "sepd-record.json"

// runRecord is the content of recordName.
type runRecord struct {
	Input          string         `json:"input"`
	InputSize      int64          `json:"input_size"`
	InputMtimeNs   int64          `json:"input_mtime_ns"`
	ConfigHash     string         `json:"config_hash"`
	Version        string         `json:"sepd_version"`
	AudioSeconds   float64        `json:"audio_seconds"`
	SampleRateHz   int            `json:"sample_rate_hz"`
	Channels       int            `json:"channels"`
	Outputs        []outputRecord `json:"outputs"`
	FinishedUnixNs int64          `json:"finished_unix_ns"`
}

// outputRecord is one output file as it was when the record was written.
type outputRecord struct {
	File    string `json:"file"` // name inside the output folder
	Size    int64  `json:"size"`
	MtimeNs int64  `json:"mtime_ns"`
}

// configHash is a digest of everything that decides an output's bytes: the
// engine parameters, the sample rate the configuration demands, the source
// names, the bases' values (not their file names: the same values from
// another path give the same hash) and the output encoding.
func configHash(p *engine.Plan, enc audio.Encoding) string {
	h := sha256.New()
	j, err := json.Marshal(struct {
		SampleRateHz int
		Params       engine.Params
		Names        []string
		Start, Free  []int
		Encoding     audio.Encoding
	}{p.Config.SampleRateHz, p.Params, p.Bases.Names, p.Bases.Start, p.Bases.Free, enc})
	if err != nil {
		panic("separate: configHash: " + err.Error()) // plain numbers and strings always marshal
	}
	h.Write(j)
	r, c := p.Bases.W.Dims()
	var b [8]byte
	for i := range r {
		for k := range c {
			binary.LittleEndian.PutUint64(b[:], math.Float64bits(p.Bases.W.At(i, k)))
			h.Write(b[:])
		}
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// upToDate reports whether dir holds a record for the input in (stat st) made
// with this configuration hash and sepd version, and every output it lists is
// still there with the size and modification time it had. It returns the
// record when so, and otherwise why not (for the log).
func upToDate(dir, in string, st fs.FileInfo, hash, version string, outputs []string) (*runRecord, string) {
	data, err := os.ReadFile(filepath.Join(dir, recordName))
	if err != nil {
		return nil, "no record"
	}
	var rec runRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, "unreadable record"
	}
	switch {
	case filepath.Base(rec.Input) != filepath.Base(in):
		return nil, "record of another input"
	case rec.InputSize != st.Size() || rec.InputMtimeNs != st.ModTime().UnixNano():
		return nil, "input changed"
	case rec.ConfigHash != hash:
		return nil, "configuration changed"
	case rec.Version != version:
		return nil, "sepd version changed"
	case len(rec.Outputs) != len(outputs):
		return nil, "sources changed"
	}
	for i, o := range outputs {
		r := rec.Outputs[i]
		if r.File != filepath.Base(o) {
			return nil, "sources changed"
		}
		ost, err := os.Stat(o)
		if err != nil || ost.Size() != r.Size || ost.ModTime().UnixNano() != r.MtimeNs {
			return nil, "output " + r.File + " missing or changed"
		}
	}
	return &rec, ""
}

// removeStale removes what a killed run may have left in dir for these
// outputs and the record: their hidden temporary files (".NAME.tmp-..."), and
// the record itself, which is written again once the outputs are complete.
// Only one shard processes an input, so nothing else writes these names.
func removeStale(dir string, outputs []string) error {
	names := []string{recordName}
	for _, o := range outputs {
		names = append(names, filepath.Base(o))
	}
	if err := removeTemps(dir, names...); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(dir, recordName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// removeTemps removes the temporary files of the given names in dir, as the
// atomic writers name them (".NAME.tmp-..."). A missing dir holds none.
func removeTemps(dir string, names ...string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range ents {
		for _, n := range names {
			if strings.HasPrefix(e.Name(), "."+n+".tmp-") {
				if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return err
				}
			}
		}
	}
	return nil
}

// writeRecord writes rec as dir/recordName, atomically.
func writeRecord(dir string, rec *runRecord) error {
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(filepath.Join(dir, recordName), append(data, '\n'))
}

// writeAtomic writes data as path through a hidden temporary file in the same
// folder, fsynced and renamed into place, then fsyncs the folder
// (atomicfile): a reader sees the old file or the whole new one, never a
// part.
func writeAtomic(path string, data []byte) error {
	err := atomicfile.Write(path, func(w io.Writer) error { _, err := w.Write(data); return err })
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// cpuSeconds is the CPU time (user and system) this process has used so far,
// 0 if the system will not say.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}
