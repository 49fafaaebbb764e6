"""The core install is what a cluster worker needs: in a fresh venv without TensorFlow,
`massfield generate` and `inspect --verify` work, and a command that needs the [learn]
extra says so in one line (exit 2)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import REPO

pytestmark = pytest.mark.slow


def test_the_core_install_generates_and_verifies_without_tensorflow(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    install = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-compile",
                              "--disable-pip-version-check", str(REPO)],
                             capture_output=True, text=True, timeout=900)
    assert install.returncode == 0, install.stderr[-3000:]
    absent = subprocess.run([str(python), "-c", "import tensorflow"], capture_output=True)
    assert absent.returncode != 0  # the core pulls no TensorFlow
    massfield = str(venv / "bin" / "massfield")
    store = tmp_path / "store"

    def run(*args):
        return subprocess.run([massfield, *map(str, args)], cwd=tmp_path, capture_output=True,
                              text=True, timeout=600)

    made = run("generate", "--params", REPO / "params.yaml", "--out", store, "--set",
               "generate.n_samples=16", "--set", "generate.shard_size=8",
               "--workers", "1")  # a Dask worker process; each compiles the kernels anew
    assert made.returncode == 0, made.stderr
    checked = run("inspect", "--verify", store)
    assert checked.returncode == 0 and "2 shards checked" in checked.stdout, checked.stderr
    refused = run("train", "rnn", "--params", REPO / "params.yaml", "--data", store)
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.strip() == (
        "error: `massfield train` needs tensorflow, keras, scipy, matplotlib, which the "
        "[learn] extra installs: pip install 'massfield[learn]' (or 'massfield[pipeline]' "
        "for dvc repro)")
    api = subprocess.run([str(python), "-c", "import massfield, sys; "
                          f"s = massfield.open_store({str(store)!r}); "
                          "print(s.splits['train'], 'tensorflow' in sys.modules)"],
                         capture_output=True, text=True, cwd=tmp_path)
    assert api.stdout.split() == ["8", "False"], api.stderr
