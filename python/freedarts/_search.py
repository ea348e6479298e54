"""``freedarts.search``: one FreeDARTS search, the same call as ``freedarts search``."""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np

from . import _native
from ._arch import Genotype
from ._data import DataArg, data_kwargs

PathArg = Union[str, "os.PathLike[str]"]


class ScoreMatrix:
    """One alpha group's scores: rows are edges (``'3<-1'``), columns ops, as in the CLI's
    score table. ``values`` is what the derivation read; ``alpha``, ``grad``, ``normalised``
    (row-normalised) and ``rank`` (1 = best in its row) have the same shape."""

    def __init__(self, group: Dict[str, Any]):
        self.name: str = group["name"]
        self.rows: List[str] = list(group["rows"])
        self.cols: List[str] = list(group["cols"])
        shape = (len(self.rows), len(self.cols))

        def matrix(key: str, dtype: Any = np.float64) -> Optional[np.ndarray]:
            if key not in group:
                return None
            # JSON null stands for NaN in score files and results alike.
            flat = [np.nan if v is None else v for v in group[key]]
            return np.asarray(flat, dtype=dtype).reshape(shape)

        self.values: np.ndarray = matrix("score")
        self.alpha = matrix("alpha")
        self.grad = matrix("grad")
        self.normalised = matrix("normalised")
        self.rank = matrix("rank", np.int64) if "rank" in group else None

    def __getitem__(self, key: Any) -> Any:
        """``m['3<-1', 'nor_conv_3x3']`` by labels, or any NumPy index of ``values``."""
        if isinstance(key, tuple) and len(key) == 2 and all(isinstance(k, str) for k in key):
            return self.values[self.rows.index(key[0]), self.cols.index(key[1])]
        return self.values[key]

    def __repr__(self) -> str:
        return f"ScoreMatrix({self.name!r}, {len(self.rows)} edges x {len(self.cols)} ops)"


class SearchResult:
    """What a search found, with everything the CLI's ``--json`` holds.

    ``architecture`` is the NB201 string or the DARTS ``Genotype(...)`` text; ``genotype`` the
    DARTS ``Genotype`` namedtuple (``None`` in NB201 and with per-cell alphas, where ``cells``
    lists every derived cell); ``scores`` maps each alpha group to a ``ScoreMatrix``;
    ``decisions`` is the derivation (winner, runner-up and margin of every edge); ``warnings``,
    ``benchmark``, ``timings`` and ``provenance`` are as in the JSON. ``str()`` is the CLI's
    report; ``to_json()`` the CLI's file, byte for byte in layout."""

    def __init__(self, json_text: str, report: str):
        self._json = json_text
        self._report = report
        raw = json.loads(json_text)
        self.raw: Dict[str, Any] = raw
        self.schema: str = raw["schema"]
        self.space: str = raw["space"]
        self.architecture: str = raw["architecture"]
        self.proxy: str = raw["proxy"]["proxy"]
        self.objective: Optional[float] = raw["proxy"].get("objective")
        self.scores: Dict[str, ScoreMatrix] = {
            g["name"]: ScoreMatrix(g) for g in raw["proxy"]["groups"]
        }
        self.decisions: Dict[str, Any] = raw["derivation"]
        self.strategy: Optional[Dict[str, Any]] = raw.get("strategy")
        self.warnings: List[Dict[str, Any]] = raw["warnings"]
        self.benchmark: Optional[Dict[str, Any]] = raw.get("benchmark")
        self.timings: Dict[str, float] = raw["timings"]
        self.provenance: Dict[str, Any] = raw["provenance"]
        self.parameters: int = raw["parameters"]
        derivation = raw["derivation"]
        # DARTS: every derived cell as (alpha group, [(op, input) x 8], concat); with one
        # shared alpha these are the normal and the reduction cell of `genotype`.
        self.cells: List[Tuple[str, List[Tuple[str, int]], List[int]]] = [
            (c["group"], [(g["op"], g["input"]) for g in c["genes"]["genes"]], c["genes"]["concat"])
            for c in derivation.get("cells", [])
        ]
        self.genotype: Optional[Genotype] = None
        g = derivation.get("genotype")
        if g:
            self.genotype = Genotype(
                normal=[(x["op"], x["input"]) for x in g["normal"]["genes"]],
                normal_concat=list(g["normal"]["concat"]),
                reduce=[(x["op"], x["input"]) for x in g["reduce"]["genes"]],
                reduce_concat=list(g["reduce"]["concat"]),
            )

    def to_json(self, path: Optional[PathArg] = None) -> str:
        """The result as the CLI's ``--json`` writes it; also written to ``path`` if given."""
        if path is not None:
            with open(path, "w", encoding="utf-8") as f:
                f.write(self._json)
        return self._json

    def __str__(self) -> str:
        return self._report

    def __repr__(self) -> str:
        return f"SearchResult(space={self.space!r}, proxy={self.proxy!r}, architecture={self.architecture!r})"


def search(
    space: Optional[str] = None,
    proxy: Optional[str] = None,
    seed: int = 0,
    *,
    strategy: Optional[str] = None,
    preset: Optional[str] = None,
    perturb_proxy: Optional[str] = None,
    edge_order: Optional[str] = None,
    inits: Optional[int] = None,
    refine: Optional[str] = None,
    refine_proxy: Optional[str] = None,
    refine_inits: Optional[int] = None,
    refine_steps: Optional[int] = None,
    data: DataArg = None,
    dtype: Optional[str] = None,
    bn: Optional[str] = None,
    alpha_abs: Optional[bool] = None,
    procedure: Optional[str] = None,
    channels: Optional[int] = None,
    cells_per_stage: Optional[int] = None,
    cells: Optional[int] = None,
    alpha_per_cell: bool = False,
    classes: Optional[int] = None,
    input_size: Optional[int] = None,
    init_from: Optional[PathArg] = None,
    batch_size: Optional[int] = None,
    shuffle_seed: Optional[int] = None,
    cifar_format: Optional[str] = None,
    normalize: Optional[str] = None,
    augment_seed: Optional[int] = None,
    benchmark: Optional[PathArg] = None,
    cross_check_f64: bool = False,
    export_weights: Optional[PathArg] = None,
    device: str = "cpu",
    verbose: bool = False,
) -> SearchResult:
    """Score every candidate op of a supernet at initialisation and derive an architecture:
    ``freedarts search`` with the same options (``--init-from`` is ``init_from=`` and so on;
    the defaults are the CLI's).

    - ``space``: ``"nb201"`` (default), ``"darts"``, ``"darts-imagenet"``.
    - ``proxy``: ``"synflow"`` (default), ``"snip"``, ``"grasp"``, or any alpha proxy of this
      build. ``strategy``: ``"oneshot"`` (default), ``"iterative"``, ``"perturb"`` (with
      ``perturb_proxy``: a network proxy such as ``"synflow"`` or ``"nwot"``, or a rank
      aggregate ``"a+b"`` / ``"a*b"``; ``edge_order`` ``"random"``/``"fixed"``). ``inits``: a
      one-shot search scored at that many weight initialisations, scores the mean ln
      saliency (``--inits``). ``refine="local"``: a local search over standalone networks
      from the derived cell (``--refine local``; ``refine_proxy``, ``refine_inits``,
      ``refine_steps`` as the CLI's ``--refine-*``). ``preset``:
      ``"freedarts"`` or ``"best"``, settings that the other arguments override (``best``
      generates its images when ``data`` is not given). Names go to the library as they are.
    - ``data``: a CIFAR binary file or directory, ``"synthetic"``, or ``(images, labels)``
      NumPy arrays (uint8 pixels are normalised like file records; floats are used as they
      are; the whole array is the batch).
    - ``dtype`` ``"f32"``/``"f64"``, ``bn`` ``"train"``/``"eval"``/``"none"``, ``procedure``
      ``"defined"``/``"official"``, and the skeleton sizes, as the CLI's flags.

    Raises ``ValueError`` for a bad setting, ``FileNotFoundError`` (or another ``OSError``)
    for a path that cannot be read, with the CLI's one-line message. The GIL is released
    while the library computes; Ctrl-C raises ``KeyboardInterrupt``."""
    kwargs: Dict[str, Any] = dict(
        space=space,
        proxy=proxy,
        strategy=strategy,
        preset=preset,
        perturb_proxy=perturb_proxy,
        edge_order=edge_order,
        inits=inits,
        refine=refine,
        refine_proxy=refine_proxy,
        refine_inits=refine_inits,
        refine_steps=refine_steps,
        seed=seed,
        dtype=dtype,
        bn=bn,
        alpha_abs=alpha_abs,
        procedure=procedure,
        channels=channels,
        cells_per_stage=cells_per_stage,
        cells=cells,
        alpha_per_cell=alpha_per_cell,
        classes=classes,
        input_size=input_size,
        init_from=None if init_from is None else os.fspath(init_from),
        batch_size=batch_size,
        shuffle_seed=shuffle_seed,
        cifar_format=cifar_format,
        normalize=normalize,
        augment_seed=augment_seed,
        benchmark=None if benchmark is None else os.fspath(benchmark),
        cross_check_f64=cross_check_f64,
        export_weights=None if export_weights is None else os.fspath(export_weights),
        device_name=device,
        verbose=verbose,
    )
    kwargs.update(data_kwargs(data))
    json_text, report = _native.search(**kwargs)
    return SearchResult(json_text, report)
