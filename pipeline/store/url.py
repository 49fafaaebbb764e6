"""Where a store lives: a local path, or an fsspec URL (``s3://``, ``gs://``, ``az://``,
``memory://``; ``file://`` is a local path).

A URL's file system is made from the URL and each backend's own standard environment
(for S3: ``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, …), plus
``MASSFIELD_STORAGE_OPTIONS`` (a JSON object of fsspec storage options) where a user needs
more. Keys are joined as URL paths, never with ``os.path``, so a Windows path never ends
up inside a key. Every failure of the backend becomes one :class:`DataError` line naming
the URL and the fix.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from ..errors import ConfigError, DataError

STORAGE_OPTIONS_ENV = "MASSFIELD_STORAGE_OPTIONS"
# The package each URL scheme needs, and the extra of ours that installs it.
BACKENDS = {"s3": ("s3fs", "s3"), "gs": ("gcsfs", "gcs"), "gcs": ("gcsfs", "gcs"),
            "az": ("adlfs", "azure"), "abfs": ("adlfs", "azure")}
S3_ENVIRONMENT = (("endpoint_url", "AWS_ENDPOINT_URL"), ("key", "AWS_ACCESS_KEY_ID"),
                  ("secret", "AWS_SECRET_ACCESS_KEY"), ("token", "AWS_SESSION_TOKEN"))
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://")


def is_url(location) -> bool:
    """Whether ``location`` names a store by URL (not a local path, not ``file://``)."""
    match = _SCHEME.match(str(location)) if isinstance(location, str) else None
    return bool(match) and match.group(1).lower() != "file"


def location_of(value: str | Path) -> str | Path:
    """A local ``Path``, or a URL string with no trailing slash (``file://`` → Path)."""
    if isinstance(value, Path):
        return value
    if str(value).lower().startswith("file://"):
        return Path(str(value)[len("file://"):])
    return str(value).rstrip("/") if is_url(value) else Path(value)


def join(url: str, *names: str) -> str:
    """``url/name/...`` with exactly one slash between parts."""
    return "/".join([url.rstrip("/"), *(name.strip("/") for name in names)])


def storage_options(url: str, extra: dict | None = None) -> dict:
    """The fsspec options for ``url``: short timeouts for S3 (a wrong endpoint answers in
    seconds, not minutes), then ``MASSFIELD_STORAGE_OPTIONS``, then ``extra``."""
    options: dict = {}
    if url.startswith("s3://"):
        options["config_kwargs"] = {"connect_timeout": 5, "read_timeout": 60,
                                    "retries": {"max_attempts": 3}}
        # fsspec keeps one client per process (made again after a fork) and set of options:
        # the environment's endpoint and keys among them, so a changed one gets a new client
        options.update({name: os.environ[variable] for name, variable in S3_ENVIRONMENT
                        if os.environ.get(variable)})
    raw = os.environ.get(STORAGE_OPTIONS_ENV)
    if raw:
        try:
            loaded = json.loads(raw)
        except ValueError:
            loaded = None
        if not isinstance(loaded, dict):
            raise ConfigError(f"{STORAGE_OPTIONS_ENV}: not a JSON object of fsspec storage "
                              f"options (e.g. '{{\"anon\": true}}'); fix or unset it")
        options.update(loaded)
    options.update(extra or {})
    return options


def filesystem(url: str, extra: dict | None = None):
    """(fsspec file system, path inside it) of ``url``; one line if its package is missing."""
    import fsspec.core

    scheme = url.split("://", 1)[0].lower()
    try:
        return fsspec.core.url_to_fs(url, **storage_options(url, extra))
    except ImportError:
        package, extra_name = BACKENDS.get(scheme, (None, None))
        fix = (f"pip install 'massfield[{extra_name}]' (it installs {package})" if package
               else f"install the fsspec backend for {scheme}://")
        raise DataError(f"{url}: no package for {scheme}:// URLs is installed; {fix}") from None
    except ValueError as exc:
        if "Protocol not known" in str(exc):
            raise DataError(f"{url}: unknown URL scheme {scheme}://; use a local path or "
                            f"s3://, gs://, az://, memory://") from None
        raise


def _error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def is_missing_bucket(exc: FileNotFoundError) -> bool:
    """Whether a backend's FileNotFoundError is about the bucket, not a key in it."""
    return "bucket" in str(exc).lower()


@contextlib.contextmanager
def remote_errors(url: str, missing: Callable[[], str] | None = None) -> Iterator[None]:
    """Turn what a backend raises for a user's mistake into one DataError naming ``url``;
    ``missing()`` says what an absent key means to the caller."""
    bucket = url.split("://", 1)[-1].split("/", 1)[0]
    try:
        yield
    except DataError:
        raise
    except FileNotFoundError as exc:
        if is_missing_bucket(exc):
            raise DataError(f"{url}: bucket {bucket!r} does not exist; create it (e.g. `aws "
                            f"s3 mb s3://{bucket}`) or fix the URL") from None
        raise DataError(missing() if missing else f"{url}: not found ({exc}); check the URL"
                        ) from None
    except PermissionError as exc:
        raise DataError(f"{url}: access denied ({_first_line(exc)}); check the credentials "
                        f"(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, or the backend's own)"
                        ) from None
    except OSError as exc:
        raise DataError(f"{url}: storage error ({_first_line(exc)}); check the endpoint and "
                        f"the network, then re-run") from None
    except Exception as exc:  # botocore's own (no OSError): classified by name and code
        name, code = type(exc).__name__, _error_code(exc)
        if "Endpoint" in name or "Connect" in name or "Timeout" in name:
            endpoint = os.environ.get("AWS_ENDPOINT_URL", "the default endpoint")
            raise DataError(f"{url}: cannot reach {endpoint} ({name}); check "
                            f"AWS_ENDPOINT_URL and that the server is running") from None
        if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied",
                    "ExpiredToken") or "Credentials" in name:
            raise DataError(f"{url}: the credentials were refused ({code or name}); check "
                            f"AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY") from None
        if code == "NoSuchBucket":
            raise DataError(f"{url}: bucket {bucket!r} does not exist; create it or fix the "
                            f"URL") from None
        raise


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:160] if text else type(exc).__name__
