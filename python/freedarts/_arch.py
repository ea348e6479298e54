"""Architectures between Python and freedarts: DARTS' ``Genotype`` namedtuple, NAS-Bench-201
strings, and NASLib's compact DARTS encoding. The Rust library reads and prints every one of
them, so the text here is always the text the command line reads and writes."""

from __future__ import annotations

import json
from collections import namedtuple
from typing import Any, List, Sequence, Tuple, Union

from . import _native

# Exactly as DARTS' genotypes.py declares it, so a Genotype from freedarts is a Genotype there
# (and ``eval`` of its text in that module gives an equal one).
Genotype = namedtuple("Genotype", "normal normal_concat reduce reduce_concat")

# The op order of NASLib's compact DARTS encoding (naslib/search_spaces/nasbench301/
# conversions.py): the seven non-zero DARTS ops, as NAS-Bench-301 indexes them.
NASLIB_DARTS_OPS: Tuple[str, ...] = (
    "max_pool_3x3",
    "avg_pool_3x3",
    "skip_connect",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
)

# The NB201 edges in the order of ``nb201_ops``: (to, from).
NB201_EDGES: Tuple[Tuple[int, int], ...] = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))


def _cell(cell: Any) -> List[Tuple[str, int]]:
    return [(str(op), int(node)) for op, node in cell["genes"]]


def _from_native(cells_json: str) -> Genotype:
    cells = json.loads(cells_json)
    return Genotype(
        normal=_cell(cells["normal"]),
        normal_concat=list(cells["normal"]["concat"]),
        reduce=_cell(cells["reduce"]),
        reduce_concat=list(cells["reduce"]["concat"]),
    )


def parse_genotype(text: str) -> Genotype:
    """A ``Genotype`` from its DARTS text (``Genotype(normal=[('sep_conv_3x3', 0), ...],
    normal_concat=[2, 3, 4, 5], ...)``; ``range(2, 6)`` is read too) or a known name
    (``DARTS_V1``, ``DARTS_V2``). Raises ``ValueError`` naming the first problem."""
    if not isinstance(text, str):
        raise TypeError(f"genotype text must be a str, not {type(text).__name__}")
    return _from_native(_native.parse_genotype(text)[1])


def genotype_text(genotype: Union[Genotype, str]) -> str:
    """The canonical text of a genotype, as freedarts prints it (and as ``str()`` of the
    namedtuple prints it when the concat fields are lists). Checks it on the way."""
    text = genotype if isinstance(genotype, str) else repr(tuple_to_genotype(genotype))
    return _native.parse_genotype(text)[0]


def tuple_to_genotype(value: Any) -> Genotype:
    """Any 4-field genotype (DARTS' own namedtuple class, a plain tuple) as this module's
    ``Genotype`` with list fields, so it prints as freedarts' text."""
    if isinstance(value, str):
        return parse_genotype(value)
    try:
        normal, normal_concat, reduce, reduce_concat = value
    except (TypeError, ValueError):
        raise TypeError(
            "expected a Genotype (normal, normal_concat, reduce, reduce_concat) or its text"
        ) from None
    return Genotype(
        normal=[(str(op), int(node)) for op, node in normal],
        normal_concat=[int(n) for n in normal_concat],
        reduce=[(str(op), int(node)) for op, node in reduce],
        reduce_concat=[int(n) for n in reduce_concat],
    )


def naslib_to_genotype(compact: Sequence[Sequence[Sequence[int]]]) -> Genotype:
    """NASLib's compact DARTS encoding ``[[(input, op_index) x 8], [(input, op_index) x 8]]``
    (normal cell, then reduction cell; ops indexed as in ``NASLIB_DARTS_OPS``, the
    NAS-Bench-301 order) as a ``Genotype``, checked by freedarts' parser."""
    try:
        cells = [list(cell) for cell in compact]
    except TypeError:
        raise TypeError("compact: expected two cells of 8 (input, op_index) pairs") from None
    if len(cells) != 2 or any(len(c) != 8 for c in cells):
        raise ValueError(
            "compact: expected two cells of 8 (input, op_index) pairs, got "
            + str([len(c) for c in cells])
        )
    genes = []
    for which, cell in zip(("normal", "reduce"), cells):
        pairs = []
        for k, pair in enumerate(cell):
            try:
                node, op = (int(x) for x in pair)
            except (TypeError, ValueError):
                raise ValueError(f"compact {which}[{k}]: expected (input, op_index), got {pair!r}") from None
            if not 0 <= op < len(NASLIB_DARTS_OPS):
                raise ValueError(
                    f"compact {which}[{k}]: op index {op} is not in 0..{len(NASLIB_DARTS_OPS) - 1} "
                    f"({', '.join(NASLIB_DARTS_OPS)})"
                )
            pairs.append((NASLIB_DARTS_OPS[op], node))
        genes.append(pairs)
    genotype = Genotype(genes[0], [2, 3, 4, 5], genes[1], [2, 3, 4, 5])
    # The library checks inputs (node k reads 0 .. k-1) and everything else.
    return parse_genotype(repr(genotype))


def genotype_to_naslib(genotype: Union[Genotype, str]) -> Tuple[Tuple[Tuple[int, int], ...], ...]:
    """The inverse of ``naslib_to_genotype``: ``((input, op_index) x 8, (input, op_index) x 8)``.
    A genotype using ``none`` has no compact encoding (``ValueError``)."""
    g = parse_genotype(genotype_text(genotype))
    out = []
    for which, cell in (("normal", g.normal), ("reduce", g.reduce)):
        pairs = []
        for op, node in cell:
            if op not in NASLIB_DARTS_OPS:
                raise ValueError(f"{which}: op `{op}` has no index in NASLib's compact encoding")
            pairs.append((node, NASLIB_DARTS_OPS.index(op)))
        out.append(tuple(pairs))
    return tuple(out)


def nb201_ops(arch: str) -> List[str]:
    """The op of each NB201 edge, in ``NB201_EDGES`` order (1<-0, 2<-0, 2<-1, 3<-0, 3<-1,
    3<-2), from an architecture string."""
    return list(_native.parse_nb201(arch)[1])


def nb201_string(ops: Union[str, Sequence[str]]) -> str:
    """The canonical NB201 string of six ops in ``NB201_EDGES`` order (or of a string, which
    is checked and normalised)."""
    if isinstance(ops, str):
        return _native.parse_nb201(ops)[0]
    ops = [str(op) for op in ops]
    if len(ops) != 6:
        raise ValueError(f"ops: an NB201 cell has 6 edges, got {len(ops)} ops")
    text = "+".join(
        "|" + "".join(f"{ops[k]}~{src}|" for k, (dst, src) in enumerate(NB201_EDGES) if dst == node)
        for node in (1, 2, 3)
    )
    return _native.parse_nb201(text)[0]
