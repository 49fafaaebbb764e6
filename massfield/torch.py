"""PyTorch readers (install ``massfield[torch]``): Datasets whose DataLoader yields the
batches of ``massfield.batches``, bit for bit, with any number of workers — by sample
(``ShardDataset``, any sampler or collate) or by batch (``ShardBatches``, fastest, for
``DataLoader(..., batch_size=None)``)."""

from pipeline.readers.torch_dataset import ShardBatches, ShardDataset

__all__ = ["ShardBatches", "ShardDataset"]
