"""Reading a store from object storage: a local mirror, each shard fetched in one request.

h5py reading through a remote file object makes many small range requests (slow enough
that peers' users give up on training from a bucket). Here a reader fetches a store's
manifest (one request per open) and each shard it is asked for whole (one request, the
shards of a split concurrently), checks the bytes against the manifest's SHA-256, and
keeps them in a content-addressed cache: ``$MASSFIELD_CACHE`` (default
``~/.cache/massfield``), ``objects/<sha256>.h5``, linked into ``stores/<scheme>/<key>/``,
the mirror that every local reader (tf.data, NumPy, PyTorch) then opens as a store on disk.
A shard that changed in the bucket has another checksum, so a stale copy is never used.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from ..errors import DataError, MassfieldError
from ..interrupts import Interrupted
from .atomic import atomic_path
from .integrity import file_sha256, remember
from .manifest import MANIFEST
from .url import filesystem, join, remote_errors

CACHE_ENV = "MASSFIELD_CACHE"


def cache_root() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "massfield")


def mirror_directory(url: str) -> Path:
    """Where the local mirror of ``url`` lives: ``stores/<scheme>/<bucket>/<key>``."""
    scheme, rest = url.split("://", 1)
    parts = [part for part in rest.split("/") if part not in ("", ".", "..")]
    return cache_root().joinpath("stores", scheme, *parts)


@contextlib.contextmanager
def named_as(url: str, mirror: Path) -> Iterator[None]:
    """Errors that name the mirror name the URL instead: the user knows the URL."""
    try:
        yield
    except (MassfieldError, Interrupted) as exc:
        if str(mirror) in str(exc):
            exc.args = (str(exc).replace(str(mirror), url), *exc.args[1:])
        if getattr(exc, "message", None):
            exc.message = exc.message.replace(str(mirror), url)
        raise


def open_mirror(url: str) -> Path:
    """Fetch ``url``'s manifest into its mirror (one request); the mirror's directory."""
    mirror = mirror_directory(url)
    fs, root = filesystem(url)
    with remote_errors(url, lambda: f"{url}: no {MANIFEST}, so no complete store here; make "
                                    f"one with `massfield generate --out {url}` (or "
                                    f"`massfield repair {url}` if its shards are there)"):
        data = fs.cat_file(join(root, MANIFEST))
    with atomic_path(mirror / MANIFEST) as partial:
        partial.write_bytes(data)
    return mirror


def fetch_shards(url: str, mirror: Path, entries) -> None:
    """Make each shard of ``entries`` present in ``mirror``: from the cache if it holds
    those bytes, else fetched whole (concurrently) and checked against its entry."""
    objects = cache_root() / "objects"
    missing = [e for e in entries if not (objects / f"{e.sha256}.h5").exists()]
    if missing:
        fs, root = filesystem(url)
        with contextlib.ExitStack() as renamed_when_all_are_checked:
            partials = [renamed_when_all_are_checked.enter_context(
                atomic_path(objects / f"{e.sha256}.h5")) for e in missing]

            def absent() -> str:
                entry = next((e for e, p in zip(missing, partials, strict=True)
                              if not p.exists()), missing[0])
                return (f"{join(url, entry.file)}: shard listed in the manifest is missing; "
                        f"remake it with `massfield repair {url}`")

            with remote_errors(url, absent):
                fs.get([join(root, e.file) for e in missing], [str(p) for p in partials])
            for entry, partial in zip(missing, partials, strict=True):
                if file_sha256(partial) != entry.sha256:
                    raise DataError(f"{join(url, entry.file)}: its bytes differ from "
                                    f"{MANIFEST}'s checksum (damaged or replaced); remake it "
                                    f"with `massfield repair {url}`")
    for entry in entries:
        _link(objects / f"{entry.sha256}.h5", mirror / entry.file)
        if entry in missing:  # just checked against its record: not hashed again on use
            remember(mirror / entry.file, lambda path: None)


def _link(source: Path, target: Path) -> None:
    """``target`` holds ``source``'s bytes: a hard link where the file system allows."""
    if target.exists() and os.path.samefile(source, target):
        return
    with atomic_path(target) as partial:
        try:
            os.link(source, partial)
        except OSError:
            shutil.copyfile(source, partial)
