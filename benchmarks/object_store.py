"""A store in a bucket against the same store on local disk, in one run.

    python -m benchmarks.object_store [--samples 8000] [--shard-size 1000] [--workers 2]

Starts an S3-compatible server on localhost (moto's, as the tests do), then measures:
``massfield generate`` into the bucket against into a directory (the same params, the
same workers); and each reader's first pass over a split as a new command makes it (the
store opened, each shard checked, then read) from the bucket — cold (an empty cache: each
shard fetched whole first) and warm (from the cache) — against the same pass over the
store on disk: the NumPy iterator (``massfield.batches``, the CRNN's
inputs), the tf.data loader and a PyTorch DataLoader (by batch, 2 workers), beside the
CRNN's training step. Ratios bucket / disk are what matter (want ≥ 0.8).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pipeline.learn import quiet_tensorflow

quiet_tensorflow()  # before TensorFlow loads

import massfield
from benchmarks import measured, save
from pipeline.store.integrity import _CHECKED

OPTIONS = dict(normalise=True, encode=True)  # the CRNN's inputs
SPLITS = ("train", "validation", "test")


@contextlib.contextmanager
def s3_server():
    """moto's server on a free port, the environment pointing at it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([str(Path(sys.executable).with_name("moto_server")), "-p",
                               str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    os.environ.update(AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}", AWS_ACCESS_KEY_ID="bench",
                      AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")
    try:
        for _ in range(300):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            time.sleep(0.1)
        import s3fs

        s3fs.S3FileSystem(skip_instance_cache=True).mkdir("bench")
        yield "s3://bench/store"
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def numpy_pass(location, split: str, batch: int) -> float:
    """Samples/s of one full pass, the store opened (and its shards fetched) inside."""
    start, n = time.perf_counter(), 0
    for item in massfield.batches(massfield.open_store(location), split, batch, **OPTIONS):
        n += len(item["mass"])
    return n / (time.perf_counter() - start)


def torch_pass(location, batch: int) -> float:
    import torch.utils.data

    from massfield.torch import ShardBatches

    start, n = time.perf_counter(), 0
    loader = torch.utils.data.DataLoader(
        ShardBatches(massfield.open_store(location), "train", batch, **OPTIONS),
        batch_size=None, num_workers=2)
    for item in loader:
        n += len(item["mass"])
    return n / (time.perf_counter() - start)


def tfdata_pass(location, batch: int) -> float:
    from pipeline.learn.data import RECURRENT, split_dataset

    start, n = time.perf_counter(), 0
    for _, mass in split_dataset(location, "train", RECURRENT, batch, shuffle_seed=0):
        n += int(mass.shape[0])
    return n / (time.perf_counter() - start)


def crnn_step(disk: Path, batch: int) -> float:
    """Samples/s of the CRNN's training step from batches made in advance (reader_speed's)."""
    from benchmarks.loader_speed import in_memory_batches, training_rates
    from pipeline.config import load_params
    from pipeline.learn.train import with_store_params
    from pipeline.readers.order import Normaliser

    params = with_store_params(load_params(Path("params.yaml")), disk)
    return training_rates({"memory": in_memory_batches(disk, batch)}, params,
                          Normaliser.from_store(disk), 60, 3)["memory"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=8000)
    parser.add_argument("--shard-size", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="massfield-bench-"))
    sets = ["--set", f"generate.n_samples={args.samples}",
            "--set", f"generate.shard_size={args.shard_size}"]
    figures: dict = {"samples": args.samples, "shard_size": args.shard_size,
                     "workers": args.workers, "batch": args.batch}
    try:
        with s3_server() as url:
            disk = work / "store"
            os.environ["MASSFIELD_CACHE"] = str(work / "cache-generate")
            generate = {"disk": measured("generate", "--out", str(disk), "--workers",
                                         str(args.workers), *sets)[0],
                        "bucket": measured("generate", "--out", url, "--workers",
                                           str(args.workers), *sets)[0]}
            figures["generate_s"] = generate
            figures["generate_bucket_over_disk"] = generate["disk"] / generate["bucket"]
            readers: dict[str, dict] = {}

            def fresh(run, location):
                """As a new command runs: no shard checked yet in this process."""
                _CHECKED.clear()
                return run(location)

            def compare(name, run):
                os.environ["MASSFIELD_CACHE"] = str(work / f"cache-{name}")  # cold
                shutil.rmtree(os.environ["MASSFIELD_CACHE"], ignore_errors=True)
                run(disk)  # once unmeasured: imports, JIT, the page cache
                rates = {"disk": fresh(run, disk), "bucket_cold": fresh(run, url),
                         "bucket_warm": fresh(run, url)}
                rates.update(cold_over_disk=rates["bucket_cold"] / rates["disk"],
                             warm_over_disk=rates["bucket_warm"] / rates["disk"])
                readers[name] = rates
                print(f"{name:34s} disk {rates['disk']:8.0f}/s  bucket cold "
                      f"{rates['bucket_cold']:8.0f}/s ({rates['cold_over_disk']:.2f}x)  warm "
                      f"{rates['bucket_warm']:8.0f}/s ({rates['warm_over_disk']:.2f}x)")

            print(f"generate {args.samples} samples: disk {generate['disk']:.1f} s, bucket "
                  f"{generate['bucket']:.1f} s ({figures['generate_bucket_over_disk']:.2f}x)")
            for split in SPLITS:
                compare(f"NumPy iterator, {split}", lambda loc, s=split: numpy_pass(
                    loc, s, args.batch))
            compare("PyTorch DataLoader by batch, 2 workers, train",
                    lambda loc: torch_pass(loc, args.batch))
            compare("tf.data loader, train", lambda loc: tfdata_pass(loc, args.batch))
            figures["readers"] = readers
            figures["crnn_step_per_s"] = crnn_step(disk, args.batch)
            print(f"CRNN training step: {figures['crnn_step_per_s']:.0f} samples/s")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    save("object_store", figures, "python -m benchmarks.object_store " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
