"""tf.data over the shards and the four Keras models. Knows the store's files, not Dask.

Importing this package loads nothing heavy; its modules import TensorFlow. A command
that is about to use them calls :func:`quiet_tensorflow` first, once.
"""

import contextlib
import os


@contextlib.contextmanager
def _native_stderr_silenced():
    """Hide file descriptor 2 while a library's C++ code starts up; Python errors are
    raised after the with-block, so they still show."""
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def quiet_tensorflow() -> None:
    """Load TensorFlow without its start-up noise (CUDA probes on CPU-only machines are
    written before its log level is read). Set MASSFIELD_TF_LOGS=1 to see them."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    if os.environ.get("MASSFIELD_TF_LOGS") == "1":
        import tensorflow  # noqa: F401
        return
    with _native_stderr_silenced():
        import tensorflow
    tensorflow.get_logger().setLevel("ERROR")  # retracing notes: Keras retraces by design
