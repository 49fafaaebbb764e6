"""Typed records read from JSON: a frozen dataclass per file kind, checked once on reading.

The files massfield writes for itself (a model's training record, ``evaluate``'s metrics)
are read back into frozen dataclasses by :func:`from_mapping`, which checks every field's
presence and type from the dataclass's own annotations, so that a damaged or foreign file
is refused in one line where it is read, never as a ``KeyError`` deep in a figure.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from functools import cache


class RecordError(ValueError):
    """What keeps a mapping from being a record: the caller names the file and the fix."""


@cache
def _hints(cls) -> dict:
    return typing.get_type_hints(cls)


def from_mapping(cls, raw, where: str = ""):
    """``cls`` (a dataclass) built from the JSON mapping ``raw``; RecordError naming the
    first field that is missing, unknown or of the wrong type (``where`` prefixes it)."""
    if not isinstance(raw, dict):
        raise RecordError(f"{where.rstrip('.') or 'the record'} is not a mapping")
    fields = {field.name: field for field in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise RecordError(f"unknown field {where}{unknown[0]}")
    values = {}
    for name, field in fields.items():
        if name not in raw:
            if field.default is dataclasses.MISSING:
                raise RecordError(f"no {where}{name}")
            continue
        values[name] = _value(_hints(cls)[name], raw[name], f"{where}{name}")
    return cls(**values)


def optional():
    """A field that may be absent from the file: None then, and left out when written."""
    return dataclasses.field(default=None, metadata={"omitted_when_none": True})


def to_mapping(record) -> dict:
    """The record as JSON-ready data, in field order, without the :func:`optional` fields
    that hold None."""
    out = {}
    for field in dataclasses.fields(record):
        value = getattr(record, field.name)
        if value is None and field.metadata.get("omitted_when_none"):
            continue
        out[field.name] = _plain(value)
    return out


def _plain(value):
    if dataclasses.is_dataclass(value):
        return to_mapping(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _value(kind, value, where: str):
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        options = [option for option in typing.get_args(kind) if option is not type(None)]
        if value is None and len(options) < len(typing.get_args(kind)):
            return None
        if len(options) == 1:  # X | None: X's own message for a wrong X
            return _value(options[0], value, where)
        for option in options:
            try:
                return _value(option, value, where)
            except RecordError:
                continue
        raise RecordError(f"{where} is a {type(value).__name__}")
    if dataclasses.is_dataclass(kind):
        return from_mapping(kind, value, f"{where}.")
    if typing.get_origin(kind) is list:
        kind = list
    elif typing.get_origin(kind) is dict:
        _, item = typing.get_args(kind)
        if not isinstance(value, dict):
            raise RecordError(f"{where} is a {type(value).__name__}")
        return {key: _value(item, entry, f"{where}.{key}") for key, entry in value.items()}
    if kind is type(None):
        if value is not None:
            raise RecordError(f"{where} is a {type(value).__name__}")
        return value
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise RecordError(f"{where} is a {type(value).__name__}")
    return value
