"""massfield: infer a particle's mass from its trajectory through a random force field.

Layers, each knowing nothing of the ones after it:
``physics`` (pure numerics) → ``store`` (HDF5 shards, Dask) → ``readers`` (NumPy,
PyTorch) → ``learn`` (tf.data, Keras) → ``evaluate``/``figures`` → ``api`` (published as
``import massfield``); ``cli`` wires them to the ``massfield`` command.
"""

__version__ = "0.3.0"
