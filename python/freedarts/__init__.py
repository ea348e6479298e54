"""freedarts: training-free differentiable architecture search (FreeDARTS) from Python.

The Rust library does all the work; this package converts arguments and results. The same
settings give the same numbers as the ``freedarts`` command line::

    import freedarts
    result = freedarts.search(space="nb201", proxy="synflow", seed=0)
    print(result.architecture, result.scores["alpha"].values.shape)
    scores = freedarts.score("sample:100", ["synflow", "params"])
    print(freedarts.correlate(scores, "accuracies.csv"))
"""

from typing import List, Tuple

from . import _native
from ._arch import (
    NASLIB_DARTS_OPS,
    NB201_EDGES,
    Genotype,
    genotype_text,
    genotype_to_naslib,
    naslib_to_genotype,
    nb201_ops,
    nb201_string,
    parse_genotype,
)
from ._correlate import CorrelationResult, correlate
from ._score import ScoreResult, score
from ._search import ScoreMatrix, SearchResult, search

__version__: str = _native.__version__


def proxies() -> List[Tuple[str, bool, bool, str]]:
    """Every whole-network proxy ``score`` knows: (name, larger_is_better, needs_data,
    description)."""
    return list(_native.proxies())


__all__ = [
    "CorrelationResult",
    "Genotype",
    "NASLIB_DARTS_OPS",
    "NB201_EDGES",
    "ScoreMatrix",
    "ScoreResult",
    "SearchResult",
    "correlate",
    "genotype_text",
    "genotype_to_naslib",
    "naslib_to_genotype",
    "nb201_ops",
    "nb201_string",
    "parse_genotype",
    "proxies",
    "score",
    "search",
]
