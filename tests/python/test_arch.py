"""Genotype namedtuple, NB201 strings and NASLib's compact encoding."""

import os
import subprocess
import sys
from collections import namedtuple

import freedarts

from conftest import ROOT

# DARTS' genotypes.py, verbatim in what matters: the field names and their order.
DartsGenotype = namedtuple("Genotype", "normal normal_concat reduce reduce_concat")

DARTS_V2 = (
    "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), "
    "('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), "
    "('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), "
    "('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
    "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])"
)


def test_genotype_is_darts_namedtuple():
    assert freedarts.Genotype._fields == DartsGenotype._fields
    assert freedarts.Genotype.__name__ == "Genotype"


def test_genotype_prints_our_text():
    g = freedarts.parse_genotype("DARTS_V2")
    assert str(g) == repr(g) == DARTS_V2
    assert freedarts.genotype_text(g) == DARTS_V2
    # DARTS' own namedtuple (with range concat, as genotypes.py writes it) reads the same.
    theirs = DartsGenotype(g.normal, range(2, 6), g.reduce, range(2, 6))
    assert freedarts.genotype_text(theirs) == DARTS_V2
    assert freedarts.parse_genotype(repr(theirs)) == g
    assert eval(DARTS_V2, {"Genotype": DartsGenotype}) == DartsGenotype(*g)


def test_naslib_compact_round_trip():
    g = freedarts.parse_genotype("DARTS_V2")
    compact = freedarts.genotype_to_naslib(g)
    # sep_conv_3x3 is op 3, skip_connect 2, max_pool_3x3 0, dil_conv_3x3 5 in NAS-Bench-301.
    assert compact[0][:2] == ((0, 3), (1, 3)) and compact[0][7] == (2, 5)
    assert compact[1][0] == (0, 0) and compact[1][2] == (2, 2)
    assert freedarts.naslib_to_genotype(compact) == g
    assert freedarts.naslib_to_genotype([list(map(list, c)) for c in compact]) == g


def test_nb201_helpers():
    text = "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|"
    ops = freedarts.nb201_ops(text)
    assert ops == ["nor_conv_3x3", "nor_conv_1x1", "skip_connect", "avg_pool_3x3", "none", "nor_conv_3x3"]
    assert freedarts.nb201_string(ops) == text
    assert freedarts.nb201_string(" " + text + " ") == text


def test_proxies_listed():
    names = [p[0] for p in freedarts.proxies()]
    assert {"synflow", "snip", "params", "flops"} <= set(names)


def test_imports_in_a_fresh_interpreter(tmp_path):
    """The installed package imports on its own (not from the source tree): an isolated
    interpreter started elsewhere finds it in site-packages."""
    code = "import freedarts, os; print(freedarts.__version__); print(os.path.dirname(freedarts.__file__))"
    proc = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True,
                          cwd=tmp_path, timeout=60)
    assert proc.returncode == 0, proc.stderr
    version, where = proc.stdout.split()
    assert version == freedarts.__version__
    # A development install (`maturin develop`) imports from the tree; ./test.sh installs
    # with `pip install .` and checks the real thing.
    if not os.environ.get("FREEDARTS_DEV_INSTALL"):
        assert "site-packages" in where and not where.startswith(str(ROOT / "python")), where
