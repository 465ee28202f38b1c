// Package atomicfile writes files that no reader ever sees half-written: a
// file is written under a hidden temporary name in the folder of its final
// path (".NAME.tmp-XXXXXXXX"), fsynced, closed and renamed over the path,
// and the folder is fsynced so that the rename survives a crash. A process
// killed while writing leaves the final path as it was and, at worst, the
// hidden temporary file beside it.
//
// It is a package of its own because five packages write such files (audio's
// WAV and FLAC writers, engine's free bases, plot's PNGs, and the command's
// learned bases, batch records and demo files); none of them should own the
// others' file handling, and before it there were six hand-written copies
// that disagreed (two fsynced nothing, one left the file at mode 0600).
//
// github.com/google/renameio/v2 does the same, but does not fsync the folder
// after the rename (a crash right after it can bring the old file back, or
// none), and it names its temporary files without a marker a person can
// recognise; this is 140 lines (see the README's Dependencies).
package atomicfile
