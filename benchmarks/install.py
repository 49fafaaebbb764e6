"""What each install costs: a fresh venv with the core (generate, repair, inspect: a Dask
worker's needs) against one with ``[pipeline]`` (everything `dvc repro` runs).

    python -m benchmarks.install

Seconds of ``pip install`` with pip's cache warm (downloads are the network's, not ours)
and megabytes of the venv on disk; the baseline is an empty venv made in the same run.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import save

REPO = Path(__file__).resolve().parents[1]
INSTALLS = {"core": str(REPO), "pipeline": f"{REPO}[pipeline]"}


def _megabytes(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink()
               ) / 1e6


def measure(requirement: str, scratch: Path) -> dict:
    venv = scratch / "venv"
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    empty = _megabytes(venv)
    start = time.perf_counter()
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                    "--disable-pip-version-check", requirement], check=True)
    seconds = time.perf_counter() - start
    has_tf = subprocess.run([str(venv / "bin" / "python"), "-c", "import tensorflow"],
                            capture_output=True).returncode == 0
    return {"seconds": seconds, "megabytes": _megabytes(venv) - empty,
            "empty_venv_megabytes": empty, "tensorflow": has_tf}


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        rows = {name: measure(requirement, Path(scratch))
                for name, requirement in INSTALLS.items()}
    core, full = rows["core"], rows["pipeline"]
    for name, row in rows.items():
        print(f"{name}: {row['seconds']:.0f} s, {row['megabytes']:.0f} MB "
              f"(TensorFlow: {row['tensorflow']})")
    print(f"core / pipeline: {core['megabytes'] / full['megabytes']:.2f} of the disk, "
          f"{core['seconds'] / full['seconds']:.2f} of the time")
    save("install", {"installs": rows,
                     "size_ratio": core["megabytes"] / full["megabytes"],
                     "time_ratio": core["seconds"] / full["seconds"]},
         "python -m benchmarks.install")


if __name__ == "__main__":
    main()
