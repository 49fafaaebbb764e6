"""Reading what `evaluate` wrote: for the commands that draw and tabulate it."""

from __future__ import annotations

import json
from pathlib import Path


def read_json(path: Path, fix: str) -> dict:
    from ..errors import DataError

    try:
        return json.loads(Path(path).read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path}: missing; {fix}") from None
    except (OSError, ValueError):
        raise DataError(f"{path}: damaged (not JSON); {fix}") from None


def read_metrics(path: Path, fix: str) -> dict:
    """The metrics file `evaluate` wrote, checked."""
    from ..evaluate.table import check_metrics

    return check_metrics(read_json(path, fix), path)
