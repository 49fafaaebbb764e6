"""PyTorch reader (install ``massfield[torch]``): a Dataset whose DataLoader yields the
samples of ``massfield.batches``, bit for bit, with any number of workers."""

from pipeline.readers.torch_dataset import ShardDataset

__all__ = ["ShardDataset"]
