#!/usr/bin/python3
"""Small bases fixtures, good and bad, for package separate's LoadBases tests.

    /usr/bin/python3 separate/testdata/make_bad_bases.py

writes into testdata/bad/ (deterministic, no randomness). Every array is for
fft_size 16, so F = 16/2+1 = 9 bins, with K = 3 bases unless said otherwise.
The Go test lists each file with the error it must produce.
"""

import os

import numpy as np

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bad")
F, K = 9, 3


def good():
    # 1 + f + 10 k: positive, and every element tells its (f, k).
    f = np.arange(F)[:, None]
    k = np.arange(K)[None, :]
    return (1.0 + f + 10.0 * k).astype(np.float64)


def save(name, a):
    np.save(os.path.join(HERE, name), a)


def main():
    os.makedirs(HERE, exist_ok=True)
    save("good.npy", good())                          # F x K, float64
    save("good_components_f32.npy", good().T.astype(np.float32))  # K x F
    save("square.npy", np.ones((F, F)) + np.eye(F))   # K == F: ambiguous
    save("good_fortran.npy", np.asfortranarray(good()))   # float64, Fortran
    save("good_bigendian_f32.npy", good().T.astype(">f4"))  # K x F, '>f4'

    a = good(); a[4, 1] = np.nan
    save("nan.npy", a)
    a = good(); a[2, 0] = np.inf
    save("inf.npy", a)
    a = good().T.copy(); a[1, 5] = -np.inf            # components_ layout
    save("neginf_components.npy", a)
    a = good(); a[7, 2] = -0.5
    save("negative.npy", a)
    a = good(); a[:, 1] = 0
    save("zero_column.npy", a)
    a = good().T.copy(); a[2, :] = 0                  # components_: row 2
    save("zero_row_components.npy", a)
    save("wrong_shape.npy", np.ones((10, 3)))         # neither 9 x K nor K x 9
    save("one_d.npy", np.ones(F))
    save("three_d.npy", np.ones((2, F, K)))
    save("int64.npy", np.ones((F, K), dtype=np.int64))
    np.savez(os.path.join(HERE, "two.npz"), voice=good(), noise=good().T)

    # Corrupt files, made from a valid one.
    with open(os.path.join(HERE, "good.npy"), "rb") as f:
        raw = f.read()
    header_len = 10 + int.from_bytes(raw[8:10], "little")
    with open(os.path.join(HERE, "truncated_data.npy"), "wb") as f:
        f.write(raw[:header_len + 40])                # header + 5 of 27 values
    with open(os.path.join(HERE, "truncated_header.npy"), "wb") as f:
        f.write(raw[:30])                             # magic, half a header
    with open(os.path.join(HERE, "no_newline_header.npy"), "wb") as f:
        # A header whose dictionary lacks the terminating newline.
        f.write(raw[:10] + raw[10:header_len].replace(b"\n", b" ") + raw[header_len:])
    with open(os.path.join(HERE, "garbage.npy"), "wb") as f:
        f.write(b"\x93NUMPY\x01\x00\xff\xff" + b"{garbage" * 8)
    with open(os.path.join(HERE, "not_numpy.npy"), "wb") as f:
        f.write(b"RIFF....WAVEfmt this is not a numpy file")


if __name__ == "__main__":
    main()
