"""funcgrad.data: datasets, a reproducible DataLoader, transforms and dataset readers.

Batches are numpy arrays; convert them with ``fg.numpy.asarray`` (as with JAX data loading).
"""

from funcgrad.data._dataset import ArrayDataset, Dataset
from funcgrad.data._digits import load_digits
from funcgrad.data._loader import DataLoader, default_collate, generator_from_key, key_to_data
from funcgrad.data._readers import load_cifar10, load_mnist, read_idx
from funcgrad.data._transforms import (
    Compose,
    Normalize,
    RandomCrop,
    RandomHorizontalFlip,
    ToFloat,
    Transform,
)

__all__ = [
    "Dataset",
    "ArrayDataset",
    "DataLoader",
    "default_collate",
    "generator_from_key",
    "key_to_data",
    "load_digits",
    "read_idx",
    "load_mnist",
    "load_cifar10",
    "Transform",
    "Compose",
    "Normalize",
    "RandomHorizontalFlip",
    "RandomCrop",
    "ToFloat",
]
