"""massfield's Python API (the code lives in the ``pipeline`` package; this name is the
one users import). See README.md, "Python API"."""

from pipeline import __version__
from pipeline.api import (
    FIELDS,
    ConfigError,
    DataError,
    MassfieldError,
    Params,
    ShardEntry,
    Store,
    batches,
    generate,
    load_params,
    open_store,
    read_split,
)

__all__ = ["FIELDS", "ConfigError", "DataError", "MassfieldError", "Params", "ShardEntry",
           "Store", "__version__", "batches", "generate", "load_params", "open_store",
           "read_split"]
