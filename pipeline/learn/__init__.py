"""tf.data over the shards and the four Keras models. Knows the store's files, not Dask."""

import contextlib
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")


@contextlib.contextmanager
def _native_stderr_silenced():
    """TensorFlow's C++ start-up logs (cuInit and CUDA probes on CPU-only machines) are
    written before its log level is read; hide fd 2 while it loads. Python errors are
    raised after the with-block, so they still show."""
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


if os.environ.get("MASSFIELD_TF_LOGS") != "1":  # set it to 1 to see them
    with _native_stderr_silenced():
        import tensorflow  # noqa: F401
