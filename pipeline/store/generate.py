"""Generate a store: one Dask task per shard, resumable, refusing to mix params.

Tasks receive a directory, a shard index and plain params; each makes, writes and
summarises its own shard. A shard's bytes depend only on (params, index), so the
store is the same whatever the number of workers, the scheduler or the finishing
order. A re-run keeps every shard that is proven intact — by the manifest's checksum,
or, for a shard without a manifest record (a killed run), by the checksums the shard
carries — and remakes the rest. Faults (a full disk, a read-only target, Ctrl-C, a lost
worker or scheduler) end in one :class:`~pipeline.errors.DataError` line that says how
many shards are complete, and a stop signal (Ctrl-C, SIGTERM, SIGHUP) in one
:class:`~pipeline.interrupts.Interrupted` line that says the same; nothing partial is ever
left under a final name.
"""

from __future__ import annotations

import contextlib
import errno
import json
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..config import Params, params_from_dict
from ..errors import ConfigError, DataError
from ..interrupts import Interrupted, signal_of
from .atomic import remove_partials, write_json
from .cluster import check_scheduler, is_dask_failure, run_on_dask
from .integrity import examine, file_sha256
from .lock import store_lock
from .manifest import (
    MANIFEST,
    STATS,
    TARGET,
    OldSchema,
    build_manifest,
    check_shard_schema,
    read_manifest,
    split_warning,
    write_manifest,
)
from .mirror import mirror_directory, named_as
from .publish import Publisher, put_shard
from .schema import expected_datasets, shard_name
from .shard import generation_params, shard_params, summarize_shard, write_shard
from .space import check_free_space
from .url import is_url, location_of


def build_shard_task(directory: str, index: int, raw_params: dict,
                     url: str | None = None) -> dict:
    """The unit of work Dask ships: plain arguments in, a manifest entry out. With ``url``
    the worker writes in a directory of its own and puts the shard there (publish.py).

    An ``OSError`` while writing (disk full, read-only target) comes back as a value, so
    that the client reports it in one line rather than every worker logging a traceback.
    """
    params = params_from_dict(raw_params)

    def make(where: Path) -> dict:
        try:
            return write_shard(where, index, params)
        except OSError as exc:
            return {"index": index, "failed": exc.errno, "reason": exc.strerror or str(exc)}

    return put_shard(url, make) if url else make(Path(directory))


@dataclass
class Plan:
    """What a run keeps and what it makes."""

    kept: list[dict] = field(default_factory=list)
    todo: list[int] = field(default_factory=list)


def _manifest_or_note(directory: Path, notes: list[str]) -> dict | None:
    """The store's manifest, or None (noting why a present one cannot be used). A store of
    another schema is not rebuilt from its shards: OldSchema says how to remake it."""
    if not (directory / MANIFEST).exists():
        return None
    try:
        return read_manifest(directory)
    except OldSchema:
        raise
    except DataError as exc:
        notes.append(f"{str(exc).split(';')[0]}: rebuilt from the shards that prove themselves")
        return None


def _target(directory: Path) -> dict | None:
    """params.json, which a run writes before its first shard: a killed run's params
    (None if absent or not valid params)."""
    try:
        raw = json.loads((directory / TARGET).read_bytes().decode("utf-8"))
        params_from_dict(raw, TARGET)
    except (OSError, ValueError, ConfigError, TypeError):
        return None
    return raw if isinstance(raw, dict) and "n_samples" in raw.get("generate", {}) else None


def _stored_params(directory: Path, manifest: dict | None) -> dict | None:
    """The params of what is already in ``directory``: the manifest's (the store's), else
    params.json's (a killed run's), else a proven shard's (without ``generate.n_samples``).
    Shards without a record are read in the sandbox (integrity.examine): unproven bytes."""
    if manifest is not None:
        return manifest["params"]
    target = _target(directory)
    facts = [(shard, examine(shard)) for shard in sorted(directory.glob("shard-*.h5"))]
    for shard, found in facts:  # of this schema, every one that can say
        if found["schema_version"] is not None:
            check_shard_schema(shard, found["schema_version"])
    if target is not None:
        return target
    return next((found["params"] for _, found in facts if found["content"] is not None), None)


def _inferred_size(directory: Path, raw: dict) -> int:
    """Samples of a store whose manifest is lost: up to the end of its last proven shard."""
    size, found = raw["generate"]["shard_size"], 0
    for shard in sorted(directory.glob("shard-*.h5")):
        facts = examine(shard)
        if facts["content"] is not None:
            found = max(found, facts["shard_index"] * size + facts["n_samples"])
    return found


def store_params(directory: str | Path) -> Params:
    """The params a (possibly damaged) store was made with: manifest, else params.json,
    else proven shards (the store then ends with its last proven shard). A store at a URL
    is read through its mirror, filled with what the bucket holds."""
    location = location_of(directory)
    if is_url(location):
        mirror = mirror_directory(location)
        with named_as(location, mirror):
            Publisher(location).pull_into(mirror)
            return store_params(mirror)
    directory = location
    raw = _stored_params(directory, _manifest_or_note(directory, []))
    if raw is None:
        raise DataError(f"{directory}: no manifest and no shard that proves itself; "
                        f"nothing to rebuild from — make the store with `massfield generate`")
    if "n_samples" not in raw["generate"]:
        raw = {**raw, "generate": {**raw["generate"],
                                   "n_samples": _inferred_size(directory, raw)}}
    return params_from_dict(raw, f"{directory} (params of its shards)")


def _differences(old: dict, new: dict, prefix: str = "") -> list[str]:
    found = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            found += _differences(a, b, f"{prefix}{key}.")
        elif a != b:
            found.append(f"{prefix}{key} ({a} → {b})")
    return found


def _without_size(raw: dict) -> dict:
    return {**raw, "generate": {k: v for k, v in raw["generate"].items() if k != "n_samples"}}


def _clear(directory: Path, publisher: Publisher | None) -> None:
    for old in directory.glob("shard-*.h5"):
        old.unlink()
    for name in (MANIFEST, STATS, TARGET):
        (directory / name).unlink(missing_ok=True)
    if publisher:  # the manifest first: the store is gone before its shards are
        publisher.remove(MANIFEST, STATS, TARGET)
        publisher.remove(*(n for n in publisher.names() if n.startswith("shard-")))


def _existing(directory: Path, overwrite: bool, notes: list[str],
              publisher: Publisher | None) -> tuple[dict | None, dict | None]:
    """(manifest, stored params) of what ``directory`` holds; a store of another schema is
    removed with ``overwrite`` and refused without."""
    try:
        manifest = _manifest_or_note(directory, notes)
        return manifest, _stored_params(directory, manifest)
    except OldSchema:
        if not overwrite:
            raise
        _clear(directory, publisher)
        return None, None


def _prepare(directory: Path, params: Params, overwrite: bool, stored: dict | None,
             publisher: Publisher | None) -> None:
    """Keep a store of the same params, or of fewer samples (it grows); refuse any other
    (or remove it, with ``overwrite``)."""
    wanted = generation_params(params)
    if stored is None or stored == wanted:
        return
    had = stored["generate"].get("n_samples")
    same = _without_size(stored) == _without_size(wanted)
    if same and (had is None or had <= params.generate.n_samples):
        return  # the same store, grown (or a lost manifest's, resumed)
    if not overwrite:
        changed = ", ".join(_differences(stored, wanted)[:4])
        hint = ("a store grows but does not shrink: " if same else "")
        raise ConfigError(f"{directory} holds shards generated with other params ({changed}); "
                          f"{hint}pass --overwrite to replace them, or choose another --out")
    _clear(directory, publisher)


def _proven_entry(path: Path, index: int, params: Params,
                  notes: list[str]) -> dict | None:
    """The entry of a shard without a manifest record, if it proves itself and is ours."""
    facts = examine(path)
    if facts["content"] is None:
        notes.append(f"{path.name}: {facts['problem']}; made again")
        return None
    n = params.generate.shard_samples(index)
    ours = (facts["params"] == shard_params(params) and facts["shard_index"] == index
            and facts["n_samples"] == n
            and all(facts["shapes"].get(spec.name) == [n, *spec.shape(params.physics)]
                    for spec in expected_datasets(params)))
    return summarize_shard(path, facts["content"]) if ours else None


def plan_store(directory: Path, params: Params, manifest: dict | None,
               notes: list[str] | None = None) -> Plan:
    """Which shards are present and proven intact (kept) and which must be made; a shard
    made again because it is damaged gets a line in ``notes``.

    A shard the manifest records is kept only with the recorded bytes; one it does not
    record (or with no usable manifest) only if it proves itself by the checksums it carries.
    """
    plan, notes = Plan(), notes if notes is not None else []
    known = {e["index"]: e for e in manifest["shards"]} if manifest else {}
    for index in range(params.generate.n_shards):
        path = directory / shard_name(index)
        entry = None
        if path.exists():
            record = known.get(index)
            if record is None:  # a killed run's shard, or a lost manifest: prove it
                entry = _proven_entry(path, index, params, notes)
            elif record["n_samples"] == params.generate.shard_samples(index):
                if file_sha256(path) == record["sha256"]:
                    entry = record
                else:
                    notes.append(f"{path.name}: its bytes differ from {MANIFEST}'s checksum "
                                 f"(damaged); made again")
            # else completed: a grown store's last shard
        if entry is None:
            path.unlink(missing_ok=True)
            plan.todo.append(index)
        else:
            plan.kept.append(entry)
    return plan


def _open_directory(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / ".write-test").touch()
        (directory / ".write-test").unlink()
    except OSError as exc:
        raise DataError(f"{directory}: cannot write the output directory ({exc.strerror}); "
                        f"choose another --out") from None


def _fault_message(exc: BaseException, directory: Path, done: int, total: int) -> str:
    """One line: what happened, what was kept, what to do."""
    kept = f"{done} of {total} shards complete"
    if isinstance(exc, _TaskFailed):  # a task's OSError, returned as a value
        code, reason = exc.record["failed"], exc.record["reason"]
        where = f"writing {shard_name(exc.record['index'])}"
    elif isinstance(exc, KeyboardInterrupt):
        return (f"{directory}: interrupted by {signal.Signals(signal_of(exc)).name}: {kept}; "
                f"re-run `massfield generate` to resume")
    elif isinstance(exc, OSError) and not is_dask_failure(exc):
        code, reason = exc.errno, exc.strerror or str(exc)
        where = f"writing {Path(exc.filename).name}" if exc.filename else "writing"
    else:
        name = type(exc).__name__
        what = ("a Dask worker died while making a shard (out of memory?)"
                if name == "KilledWorker" else "lost the Dask scheduler or a worker")
        return f"{directory}: {what} ({name}): {kept}; check the cluster, then re-run to resume"
    if code in (errno.ENOSPC, errno.EDQUOT):
        return f"{directory}: disk full while {where}: {kept}; free space and re-run to resume"
    if code == errno.EROFS:
        return f"{directory}: read-only file system: {kept}; choose another --out"
    return f"{directory}: cannot write ({reason}) while {where}: {kept}; fix it and re-run"


def generate_store(params: Params, directory: str | Path, *, workers: int | None = None,
                   scheduler: str = "processes", overwrite: bool = False,
                   on_shard: Callable[[dict], None] | None = None,
                   on_plan: Callable[[int, int], None] | None = None,
                   on_note: Callable[[str], None] | None = None) -> dict:
    """Make every missing or damaged shard of ``params`` in ``directory`` (or at a URL, in
    object storage); return the manifest.

    ``scheduler``: "processes" (a local Dask cluster, default), "threads",
    "synchronous" (no Dask: one process, in order) or a scheduler address.
    """
    location = location_of(directory)
    check_scheduler(scheduler)
    hooks = {"on_shard": on_shard, "on_plan": on_plan, "on_note": on_note}
    if not is_url(location):
        _open_directory(location)
        return _generate(params, location, None, workers, scheduler, overwrite, hooks)
    if location.startswith("memory://") and scheduler not in ("synchronous", "threads"):
        raise ConfigError(f"{location}: a memory:// store lives in one process, where Dask's "
                          f"worker processes cannot write; use --scheduler synchronous or "
                          f"threads")
    publisher, mirror = Publisher(location), mirror_directory(location)
    with named_as(location, mirror):  # the lock's put is the first: a bucket's errors show there
        _open_directory(mirror)
        with publisher.lock():
            publisher.pull_into(mirror)
            return _generate(params, mirror, publisher, workers, scheduler, overwrite, hooks)


def _generate(params: Params, directory: Path, publisher: Publisher | None,
              workers: int | None, scheduler: str, overwrite: bool, hooks: dict) -> dict:
    """generate_store in ``directory``: the store itself, or a bucket's mirror whose
    changes ``publisher`` puts (each shard by the worker that made it)."""
    on_shard, on_plan, on_note = hooks["on_shard"], hooks["on_plan"], hooks["on_note"]
    with store_lock(directory):
        remove_partials(directory)
        notes: list[str] = []
        manifest, stored = _existing(directory, overwrite, notes, publisher)
        _prepare(directory, params, overwrite, stored, publisher)
        plan = plan_store(directory, params, manifest, notes)
        warning = split_warning(params)
        for note in notes + ([warning] if warning else []):
            if on_note:
                on_note(note)
        if publisher is None:  # a bucket's worker holds one shard at a time
            check_free_space(directory, params, plan.todo)
        if on_plan:
            on_plan(len(plan.todo), params.generate.n_shards)
        entries = list(plan.kept)
        try:
            if plan.todo or _target(directory) != generation_params(params):
                write_json(directory / TARGET, generation_params(params))
                if publisher:
                    publisher.put(directory / TARGET)
            _make(plan.todo, directory, params, scheduler, workers, entries, on_shard,
                  publisher.url if publisher else None)
            manifest = build_manifest(params, entries, generation_params(params))
            write_manifest(directory, manifest)
            if publisher:  # the manifest last: the store's commit point
                publisher.put(directory / STATS)
                publisher.put(directory / MANIFEST)
        except (ConfigError, DataError):
            remove_partials(directory)
            raise
        except BaseException as exc:  # noqa: BLE001  (classified below; others re-raised)
            remove_partials(directory)
            if not _is_fault(exc):
                raise
            done = (sum(n.startswith("shard-") for n in publisher.names()) if publisher
                    else _complete(directory, params))
            message = _fault_message(exc, directory, done, params.generate.n_shards)
            if isinstance(exc, KeyboardInterrupt):
                raise Interrupted(message, signal_of(exc)) from None
            raise DataError(message) from None
    return manifest


def _complete(directory: Path, params: Params) -> int:
    """Shards under their final name: complete, since a shard is renamed into place whole."""
    return sum((directory / shard_name(i)).exists() for i in range(params.generate.n_shards))


def _is_fault(exc: BaseException) -> bool:
    """Faults of the machine or the cluster, as opposed to bugs (which keep their traceback)."""
    import asyncio

    return (isinstance(exc, (OSError, KeyboardInterrupt, TimeoutError, asyncio.CancelledError,
                             _TaskFailed)) or is_dask_failure(exc))


class _TaskFailed(Exception):
    """A task's OSError, carried out of the loop so that the cluster closes first."""

    def __init__(self, record: dict):
        super().__init__(record["reason"])
        self.record = record


def _make(todo: list[int], directory: Path, params: Params, scheduler: str,
          workers: int | None, entries: list[dict], on_shard, url: str | None) -> None:
    raw = params.to_dict()
    arguments = [(str(directory), index, raw, url) for index in todo]
    results = ((build_shard_task(*args) for args in arguments)
               if scheduler == "synchronous" or not todo else
               run_on_dask(build_shard_task, arguments,
                           [f"massfield-shard-{index}" for index in todo], scheduler, workers))
    with contextlib.closing(results):  # a fault shuts the cluster down here, at once
        for entry in results:
            if "failed" in entry:
                raise _TaskFailed(entry)
            entries.append(entry)
            if on_shard:
                on_shard(entry)
