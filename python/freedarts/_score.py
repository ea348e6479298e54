"""``freedarts.score``: whole-network proxies for many architectures, the same call as
``freedarts score``, into the same score file."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Union

import numpy as np

from . import _native
from ._arch import Genotype, genotype_text
from ._data import DataArg, data_kwargs

PathArg = Union[str, "os.PathLike[str]"]
ArchsArg = Union[str, "os.PathLike[str]", Iterable[Union[str, Genotype]]]
Progress = Union[bool, Callable[[int, int], Any]]


class ScoreResult:
    """The rows of a score file: one dict per architecture (``arch``, one value per proxy,
    ``None`` where it was NaN or infinite, and extras as ``<proxy>_<key>``), the file's
    ``header`` (every setting), and the file itself (``path``; a temporary one unless
    ``output=`` was given)."""

    def __init__(self, json_text: str, path: str, keep: Any = None):
        raw = json.loads(json_text)
        self.header: Dict[str, Any] = raw["header"]
        self.rows: List[Dict[str, Any]] = raw["rows"]
        self.path: str = path
        # This call: architectures in the shard, already in the file, scored now, seconds.
        self.summary: Dict[str, Any] = raw["summary"]
        self.proxies: List[str] = [p["name"] for p in self.header.get("proxies", [])]
        self.larger_is_better: Dict[str, bool] = {
            p["name"]: p["larger_is_better"] for p in self.header.get("proxies", [])
        }
        # The temporary directory lives as long as this result.
        self._keep = keep

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[Dict[str, Any]]:
        return iter(self.rows)

    def __getitem__(self, i: int) -> Dict[str, Any]:
        return self.rows[i]

    @property
    def archs(self) -> List[str]:
        return [r["arch"] for r in self.rows]

    def column(self, name: str) -> np.ndarray:
        """One proxy (or extra) as a float64 array in row order, NaN where missing."""
        return np.asarray(
            [np.nan if r.get(name) is None else r[name] for r in self.rows], dtype=np.float64
        )

    def to_numpy(self) -> np.ndarray:
        """A structured array: ``arch`` (str) and one float64 field per value column."""
        keys = {k for r in self.rows for k in r if k != "arch"}
        # Proxies in the header's order, each followed by its extras (`synflow_log`), as the
        # file's rows list them; then anything else.
        names: List[str] = []
        for p in self.proxies:
            names += [p] if p in keys else []
            names += sorted(k for k in keys if k.startswith(p + "_") and k not in names)
        names += sorted(keys - set(names))
        width = max((len(a) for a in self.archs), default=1)
        dtype = [("arch", f"U{width}")] + [(n, np.float64) for n in names]
        out = np.empty(len(self.rows), dtype=dtype)
        out["arch"] = self.archs
        for n in names:
            out[n] = self.column(n)
        return out

    def to_jsonl(self, path: PathArg) -> None:
        """Copies the score file (header and rows, as ``freedarts score`` writes them)."""
        shutil.copyfile(self.path, path)

    def __repr__(self) -> str:
        return f"ScoreResult({len(self.rows)} architectures, proxies={self.proxies})"


def _tqdm_callback() -> Optional[Callable[[int, int], Any]]:
    try:
        from tqdm.auto import tqdm  # type: ignore
    except ImportError:
        return None
    state: Dict[str, Any] = {}

    def update(done: int, total: int) -> None:
        bar = state.get("bar")
        if bar is None:
            bar = state["bar"] = tqdm(total=total, initial=done, unit="arch")
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return update


def score(
    archs: ArchsArg = "sample:100",
    proxies: Union[str, Sequence[str]] = ("synflow", "params", "flops"),
    data: DataArg = None,
    seed: int = 0,
    space: str = "nb201",
    *,
    output: Optional[PathArg] = None,
    batch_size: Optional[int] = None,
    shuffle_seed: Optional[int] = None,
    cifar_format: Optional[str] = None,
    normalize: Optional[str] = None,
    channels: Optional[int] = None,
    cells_per_stage: Optional[int] = None,
    cells: Optional[int] = None,
    classes: Optional[int] = None,
    input_size: Optional[int] = None,
    shard: str = "0/1",
    jobs: Optional[int] = None,
    device: str = "cpu",
    progress: Progress = False,
) -> ScoreResult:
    """Score architectures with whole-network zero-cost proxies: ``freedarts score`` with
    the same options and the same values.

    - ``archs``: ``"all"`` (the 15,625 NB201 cells), ``"sample:N"``, a file with one
      architecture a line, or a list of NB201 strings / DARTS ``Genotype``s (or their text).
    - ``proxies``: names (``freedarts.proxies()`` lists them), a comma-separated string, or
      ``"all"``.
    - ``data``: as in ``search`` (needed by the proxies that take images).
    - ``output``: the score file (JSON Lines), resumed when it holds rows of the same run;
      without it a temporary file is used.
    - ``progress``: ``True`` for a bar (tqdm when installed, else the CLI's bar on stderr),
      or a callable ``progress(done, total)`` called after every architecture (an exception
      it raises stops the run).

    Ctrl-C stops between networks with ``KeyboardInterrupt``; the rows already written stay
    in ``output`` and a second call resumes after them."""
    keep = None
    if output is None:
        keep = tempfile.TemporaryDirectory(prefix="freedarts-")
        out_path = os.path.join(keep.name, "scores.jsonl")
    else:
        out_path = os.fspath(output)
    if isinstance(archs, (str, os.PathLike)):
        arch_list, is_list = [os.fspath(archs)], False
    else:
        try:
            items = list(archs)
        except TypeError:
            raise TypeError(
                'archs: expected "all", "sample:N", a file path, or a list of architectures'
            ) from None
        arch_list = [a if isinstance(a, str) else genotype_text(a) for a in items]
        is_list = True
    if isinstance(proxies, str):
        names = [p for p in proxies.split(",")] if proxies.strip() != "all" else ["all"]
    else:
        names = [str(p) for p in proxies]
    callback: Optional[Callable[[int, int], Any]] = None
    bar = False
    if callable(progress):
        callback = progress
    elif progress:
        callback = _tqdm_callback()
        bar = callback is None
    kwargs: Dict[str, Any] = dict(
        archs=arch_list,
        archs_is_list=is_list,
        proxy=names,
        output=out_path,
        space=space,
        seed=seed,
        batch_size=batch_size,
        shuffle_seed=shuffle_seed,
        cifar_format=cifar_format,
        normalize=normalize,
        channels=channels,
        cells_per_stage=cells_per_stage,
        cells=cells,
        classes=classes,
        input_size=input_size,
        shard=shard,
        jobs=jobs,
        device_name=device,
        bar=bar,
        progress=callback,
    )
    kwargs.update(data_kwargs(data))
    return ScoreResult(_native.score(**kwargs), out_path, keep)
