"""``freedarts.correlate``: how well each proxy ranks architectures against NAS-Bench-201
accuracies, the same call as ``freedarts correlate``."""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Optional, Sequence, Union

from . import _native
from ._score import ScoreResult

PathArg = Union[str, "os.PathLike[str]"]
ScoresArg = Union[ScoreResult, PathArg, Sequence[Union[ScoreResult, PathArg]]]


class CorrelationResult:
    """The metrics table: ``results`` holds one dict per (proxy, accuracy column) with
    ``kendall_tau``, ``spearman``, ``pearson``, ``precision_at`` and ``best_in_top`` (at the
    ``top_fractions``), ``n`` and ``skipped``. ``str()`` is the CLI's table, ``to_json()`` its
    ``--output`` file, ``to_markdown()`` its ``--markdown`` file."""

    def __init__(self, json_text: str, table: str, markdown: str):
        self._json = json_text
        self._table = table
        self._markdown = markdown
        raw = json.loads(json_text)
        self.raw: Dict[str, Any] = raw
        self.results: List[Dict[str, Any]] = raw["results"]
        self.top_fractions: List[float] = raw["top_fractions"]
        self.unmatched: int = raw["unmatched"]

    def get(self, proxy: str, column: str) -> Dict[str, Any]:
        """The metrics of one proxy against one accuracy column."""
        for r in self.results:
            if r["proxy"] == proxy and r["column"] == column:
                return r
        raise KeyError((proxy, column))

    def to_json(self, path: Optional[PathArg] = None) -> str:
        if path is not None:
            with open(path, "w", encoding="utf-8") as f:
                f.write(self._json)
        return self._json

    def to_markdown(self, path: Optional[PathArg] = None) -> str:
        """The tables as Markdown: every metric per accuracy column, then Spearman's rho of
        every proxy against every column."""
        if path is not None:
            with open(path, "w", encoding="utf-8") as f:
                f.write(self._markdown)
        return self._markdown

    def __str__(self) -> str:
        return self._table

    def __repr__(self) -> str:
        return f"CorrelationResult({len(self.results)} results)"


def correlate(
    scores: ScoresArg,
    accuracies: Union[PathArg, Sequence[PathArg]],
    columns: Optional[Sequence[str]] = None,
) -> CorrelationResult:
    """Rank correlation of scores (a ``ScoreResult``, a score file, or several: shards of one
    run) with an NB201 accuracy CSV (``arch`` plus any of ``cifar10_valid`` ...
    ``imagenet16_test``). Several CSVs join the later files' columns to the first's, on
    ``arch`` or, in a file without it, on ``index`` (the CLI's repeated ``--benchmark``).
    ``columns`` picks accuracy columns (default: every standard one); a column outside the
    six standard names is read only when named here."""
    items = scores if isinstance(scores, (list, tuple)) else [scores]
    paths = [s.path if isinstance(s, ScoreResult) else os.fspath(s) for s in items]
    tables = accuracies if isinstance(accuracies, (list, tuple)) else [accuracies]
    json_text, table, markdown = _native.correlate(
        paths, [os.fspath(t) for t in tables], [str(c) for c in (columns or [])]
    )
    return CorrelationResult(json_text, table, markdown)
