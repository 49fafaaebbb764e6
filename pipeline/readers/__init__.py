"""Framework-neutral readers of a store's splits: NumPy batches, and a PyTorch Dataset.

Both follow one seeded order of samples (:func:`~pipeline.readers.order.epoch_order`) and
give the same observed fields with the same transforms, so that a PyTorch DataLoader, with
any number of workers, yields exactly the samples of the NumPy iterator. TensorFlow is not
needed; PyTorch only for :mod:`pipeline.readers.torch_dataset`.
"""
