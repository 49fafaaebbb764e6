"""The sparse zlib encoder against zlib itself, and through HDF5's gzip filter."""

import zlib

import h5py
import numpy as np
import pytest

from pipeline.store.deflate import sparse_zlib, sparse_zlib_rows


@pytest.mark.parametrize("density", [0.0, 0.001, 0.05, 0.5, 1.0])
def test_streams_inflate_to_the_input(density):
    rng = np.random.default_rng(int(density * 1000))
    for n in (1, 2, 3, 7, 8, 9, 258, 259, 260, 262, 1000, 40960):
        data = np.zeros(n, np.uint8)
        hits = rng.random(n) < density
        data[hits] = rng.integers(1, 256, hits.sum())
        assert zlib.decompress(sparse_zlib(data).tobytes()) == data.tobytes()


def test_rows_match_single_calls_and_hdf5_reads_them(tmp_path):
    rng = np.random.default_rng(0)
    values = np.zeros((20, 10, 32, 32), np.float32)
    values[np.arange(20), rng.integers(0, 10, 20), rng.integers(0, 32, 20), 5] = rng.random(20)
    rows = values.reshape(20, -1).view(np.uint8)
    streams, offsets = sparse_zlib_rows(rows)
    for k in range(20):
        np.testing.assert_array_equal(streams[offsets[k]:offsets[k + 1]], sparse_zlib(rows[k]))
    with h5py.File(tmp_path / "x.h5", "w") as h5:
        dataset = h5.create_dataset("e", shape=values.shape, dtype="f4", chunks=(1, 10, 32, 32),
                                    compression="gzip")
        for k in range(20):
            chunk = streams[offsets[k]:offsets[k + 1]].tobytes()
            dataset.id.write_direct_chunk((k, 0, 0, 0), chunk)
    with h5py.File(tmp_path / "x.h5") as h5:
        np.testing.assert_array_equal(h5["e"][()], values)
    assert offsets[-1] < values.nbytes / 50  # and it does compress
