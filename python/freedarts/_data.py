"""The ``data`` argument: a path (or ``"synthetic"``) passes through as the command line's
``--data``; a pair of NumPy arrays becomes the bytes the extension reads."""

from __future__ import annotations

import os
from typing import Any, Dict, Tuple, Union

import numpy as np

DataArg = Union[None, str, "os.PathLike[str]", Tuple[Any, Any]]


def data_kwargs(data: DataArg) -> Dict[str, Any]:
    """Keyword arguments of ``_native.search`` / ``_native.score`` for ``data``.

    Images are (N, 3, H, W) or (N, H, W, 3): uint8 pixels are normalised as CIFAR file records
    are (so the same pixels give the same numbers as the file), floating-point images are used
    as they are. Labels are N integers."""
    if data is None:
        return {}
    if isinstance(data, (str, os.PathLike)):
        return {"data": os.fspath(data)}
    if not (isinstance(data, tuple) and len(data) == 2):
        raise TypeError(
            'data: expected a path, "synthetic", or a tuple (images, labels) of arrays, not '
            + type(data).__name__
        )
    images, labels = np.asarray(data[0]), np.asarray(data[1])
    if images.ndim != 4:
        raise ValueError(
            f"data: images must be (N, 3, H, W) or (N, H, W, 3), got shape {images.shape}"
        )
    if images.shape[1] != 3:
        if images.shape[3] != 3:
            raise ValueError(
                f"data: images must have 3 channels, (N, 3, H, W) or (N, H, W, 3); got shape {images.shape}"
            )
        images = images.transpose(0, 3, 1, 2)
    n, _, height, width = images.shape
    if labels.ndim != 1 or labels.shape[0] != n:
        raise ValueError(f"data: expected {n} labels (one per image), got shape {labels.shape}")
    if labels.dtype.kind not in "iu":
        raise TypeError(f"data: labels must be integers, got dtype {labels.dtype}")
    out: Dict[str, Any] = {
        "labels": labels.astype(np.int64).tolist(),
        "image_size": (int(height), int(width)),
    }
    if images.dtype == np.uint8:
        out["pixels"] = np.ascontiguousarray(images).tobytes()
    elif images.dtype.kind == "f":
        out["floats"] = np.ascontiguousarray(images, dtype=np.float32).tobytes()
    else:
        raise TypeError(
            f"data: images must be uint8 pixels or floating-point values, got dtype {images.dtype}"
        )
    return out
