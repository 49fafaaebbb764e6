"""HDF5 shards on disk: schema, atomic writes, manifest, Dask generation, verification.

Knows the physics' outputs, nothing of Keras.
"""
