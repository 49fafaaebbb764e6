"""Generate a store: one Dask task per shard, resumable, refusing to mix params.

Tasks receive a directory, a shard index and plain params; each makes, writes and
summarises its own shard. A shard's bytes depend only on (params, index), so the
store is the same whatever the number of workers, the scheduler or the finishing
order. Re-running keeps every shard that is present and valid.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable, Iterable, Iterator

import h5py

from ..config import Params, params_from_dict
from ..errors import ConfigError, DataError
from .atomic import remove_partials, sha256
from .lock import store_lock
from .manifest import MANIFEST, STATS, build_manifest, write_manifest
from .schema import SCHEMA_VERSION, expected_datasets, shard_name
from .shard import generation_params, summarize_shard, write_shard

LOCAL_SCHEDULERS = ("processes", "threads", "synchronous")


def build_shard_task(directory: str, index: int, raw_params: dict) -> dict:
    """The unit of work Dask ships: plain arguments in, a manifest entry out."""
    params = params_from_dict(raw_params)
    return write_shard(Path(directory), index, params)


def _stored_params(directory: Path) -> dict | None:
    """The generation params of what is already in ``directory`` (manifest, else a shard)."""
    manifest = directory / MANIFEST
    if manifest.exists():
        try:
            return json.loads(manifest.read_text()).get("params")
        except json.JSONDecodeError:
            pass
    for shard in sorted(directory.glob("shard-*.h5")):
        try:
            with h5py.File(shard, "r") as h5:
                return json.loads(h5.attrs["params"])
        except (OSError, KeyError, json.JSONDecodeError):
            continue
    return None


def _differences(old: dict, new: dict, prefix: str = "") -> list[str]:
    keys = sorted(set(old) | set(new))
    found = []
    for key in keys:
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            found += _differences(a, b, f"{prefix}{key}.")
        elif a != b:
            found.append(f"{prefix}{key}")
    return found


def _manifest_entries(directory: Path) -> dict[int, dict]:
    try:
        manifest = json.loads((directory / MANIFEST).read_text())
        return {e["index"]: e for e in manifest["shards"]}
    except (OSError, json.JSONDecodeError, KeyError, TypeError):
        return {}


def _reusable_entry(path: Path, index: int, params: Params, known: dict | None) -> dict | None:
    """The entry of an existing, intact shard ``index``; None if it must be (re)made."""
    if not path.exists():
        return None
    if known is not None and known.get("file") == path.name:
        return known if sha256(path) == known.get("sha256") else None
    # no manifest record (a killed run): the file was renamed into place complete;
    # check that it is ours and whole before trusting it
    try:
        with h5py.File(path, "r") as h5:
            ours = (h5.attrs["schema_version"] == SCHEMA_VERSION
                    and int(h5.attrs["shard_index"]) == index
                    and json.loads(h5.attrs["params"]) == generation_params(params))
            n = params.generate.shard_samples(index)
            for spec in expected_datasets(params.generate.store_full_potential):
                ours = ours and h5[spec.name].shape == (n, *spec.shape(params.physics))
        return summarize_shard(path) if ours else None
    except (OSError, KeyError, ValueError):
        return None


def _prepare(directory: Path, params: Params, overwrite: bool) -> None:
    stored = _stored_params(directory)
    wanted = generation_params(params)
    if stored is None or stored == wanted:
        return
    if not overwrite:
        changed = ", ".join(_differences(stored, wanted)[:5])
        raise ConfigError(f"{directory} holds shards generated with other params ({changed}); "
                          f"pass --overwrite to replace them, or choose another --out")
    for old in directory.glob("shard-*.h5"):
        old.unlink()
    for name in (MANIFEST, STATS):
        (directory / name).unlink(missing_ok=True)


def _open_directory(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"{directory}: cannot create output directory ({exc.strerror}); "
                        f"choose another --out") from None
    if not os.access(directory, os.W_OK | os.X_OK):
        raise DataError(f"{directory}: output directory is not writable; choose another --out")


def _run_local(todo: list[int], directory: Path, raw: dict) -> Iterator[dict]:
    for index in todo:
        yield build_shard_task(str(directory), index, raw)


# Every worker process otherwise samples its own stack every 10 ms (the profiler) and
# checks its event loop every 20 ms: measurable on a machine with no idle core.
QUIET_WORKERS = {"distributed.worker.profile.enabled": False,
                 "distributed.admin.tick.interval": "500ms",
                 "distributed.admin.system-monitor.interval": "2s",
                 "distributed.worker.memory.monitor-interval": "1s"}


def local_cluster(workers: int, processes: bool = True):
    """A local Dask cluster of ``workers`` single-threaded processes (or one process of
    ``workers`` threads), configured to leave the cores to the tasks."""
    import dask
    from distributed import LocalCluster

    with dask.config.set(QUIET_WORKERS):
        return LocalCluster(n_workers=workers if processes else 1,
                            threads_per_worker=1 if processes else workers,
                            processes=processes, dashboard_address=None)


def _run_dask(todo: list[int], directory: Path, raw: dict, scheduler: str,
              workers: int | None) -> Iterator[dict]:
    from distributed import Client, as_completed

    if scheduler in LOCAL_SCHEDULERS:
        cluster = local_cluster(workers or os.cpu_count() or 1, scheduler == "processes")
        client = Client(cluster)
    else:
        cluster = None
        try:
            client = Client(scheduler, timeout="10s")
        except OSError as exc:
            raise ConfigError(f"--scheduler {scheduler}: cannot reach the Dask scheduler "
                              f"({exc}); check the address") from None
    try:
        futures = [client.submit(build_shard_task, str(directory), index, raw,
                                 key=f"massfield-shard-{index}", pure=False) for index in todo]
        for future in as_completed(futures):
            yield future.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def generate_store(params: Params, directory: Path, *, workers: int | None = None,
                   scheduler: str = "processes", overwrite: bool = False,
                   on_shard: Callable[[dict], None] | None = None,
                   on_plan: Callable[[int, int], None] | None = None) -> dict:
    """Make every missing or damaged shard of ``params`` in ``directory``; return the manifest.

    ``scheduler``: "processes" (a local Dask cluster, default), "threads",
    "synchronous" (no Dask: one process, in order) or a scheduler address.
    """
    directory = Path(directory)
    _open_directory(directory)
    with store_lock(directory):
        remove_partials(directory)
        _prepare(directory, params, overwrite)
        known = _manifest_entries(directory)
        entries, todo = [], []
        for index in range(params.generate.n_shards):
            path = directory / shard_name(index)
            entry = _reusable_entry(path, index, params, known.get(index))
            if entry is None:
                path.unlink(missing_ok=True)
                todo.append(index)
            else:
                entries.append(entry)
        if on_plan:
            on_plan(len(todo), params.generate.n_shards)
        raw = params.to_dict()
        results: Iterable[dict] = (
            _run_local(todo, directory, raw) if scheduler == "synchronous" or not todo
            else _run_dask(todo, directory, raw, scheduler, workers))
        for entry in results:
            entries.append(entry)
            if on_shard:
                on_shard(entry)
        manifest = build_manifest(params, entries, generation_params(params))
        write_manifest(directory, manifest)
    return manifest
