"""freedarts.search gives the CLI's result for the same settings, from files and arrays."""

import json
import threading
import time

import numpy as np
import pytest

import freedarts

from conftest import cifar_arrays, stable


def test_nb201_synflow_equals_cli(cli, tmp_path):
    py = freedarts.search(space="nb201", proxy="synflow", seed=3)
    assert stable(json.loads(py.to_json())) == stable(cli.search_json(tmp_path, "--seed", "3"))
    # The result object reads the same JSON.
    assert py.architecture == py.raw["architecture"]
    assert py.architecture.startswith("|") and py.genotype is None
    m = py.scores["alpha"]
    assert m.values.shape == (6, 5) and m.rows[0] == "1<-0" and m.cols[0] == "none"
    assert m.rank.dtype == np.int64 and m.rank.min() == 1
    assert m["1<-0", "none"] == m.values[0, 0]
    assert "architecture: " + py.architecture in str(py)


def test_darts_space_equals_cli(cli, tmp_path):
    args = dict(space="darts", cells=5, bn="eval", seed=1)
    py = freedarts.search(**args)
    want = cli.search_json(tmp_path, "--space", "darts", "--cells", "5", "--bn", "eval", "--seed", "1")
    assert stable(json.loads(py.to_json())) == stable(want)
    # The namedtuple prints exactly the Genotype text of the result.
    assert str(py.genotype) == py.architecture == want["architecture"]
    assert isinstance(py.genotype, freedarts.Genotype)
    assert py.scores["normal"].values.shape == (14, 8)


def test_snip_on_file_equals_cli_and_arrays_equal_file(cli, cifar, tmp_path):
    want = cli.search_json(tmp_path, "--proxy", "snip", "--data", cifar, "--batch-size", "16")
    from_file = freedarts.search(proxy="snip", data=cifar, batch_size=16)
    assert stable(json.loads(from_file.to_json())) == stable(want)
    images, labels = cifar_arrays(cifar, 16)
    from_arrays = freedarts.search(proxy="snip", data=(images, labels))
    assert from_arrays.architecture == from_file.architecture
    assert from_arrays.raw["proxy"] == from_file.raw["proxy"]
    assert from_arrays.raw["derivation"] == from_file.raw["derivation"]
    prov = from_arrays.provenance
    assert prov["batch_indices"] == list(range(16)) and prov["input_shape"] == [16, 3, 32, 32]
    assert prov["preprocessing"] == from_file.provenance["preprocessing"]
    # Channels-last arrays are the same images.
    nhwc = freedarts.search(proxy="snip", data=(images.transpose(0, 2, 3, 1), labels))
    assert nhwc.raw["proxy"] == from_file.raw["proxy"]


def test_float_arrays_are_used_as_given(cifar):
    images, labels = cifar_arrays(cifar, 8)
    # NB201's CIFAR-10 constants, rounded to float32 as the library rounds them; the same
    # float32 operations as the file reader then give the same batch bit for bit.
    mean = (np.array([125.3, 123.0, 113.9]) / 255).astype(np.float32)[:, None, None]
    std = (np.array([63.0, 62.1, 66.7]) / 255).astype(np.float32)[:, None, None]
    floats = (images.astype(np.float32) / np.float32(255) - mean) / std
    a = freedarts.search(proxy="snip", data=(floats, labels))
    b = freedarts.search(proxy="snip", data=(images, labels))
    assert a.raw["proxy"] == b.raw["proxy"]
    # Floats are not normalised again, and recorded as unnormalised.
    assert a.provenance.get("preprocessing") is None
    assert b.provenance["preprocessing"]["normalization"] == "nb201-cifar10"


def test_iterative_strategy_equals_cli(cli, tmp_path):
    py = freedarts.search(strategy="iterative", seed=2)
    want = cli.search_json(tmp_path, "--strategy", "iterative", "--seed", "2")
    assert stable(json.loads(py.to_json())) == stable(want)
    assert py.strategy is not None


def test_presets_and_perturb_equal_cli(cli, tmp_path):
    small = ["--channels", "4", "--cells-per-stage", "1"]
    py = freedarts.search(preset="best", channels=4, cells_per_stage=1)
    want = cli.search_json(tmp_path, "--preset", "best", *small)
    assert stable(json.loads(py.to_json())) == stable(want)
    assert py.raw["provenance"]["options"]["preset"] == "best"
    py = freedarts.search(
        strategy="perturb", perturb_proxy="synflow+params", edge_order="fixed",
        channels=4, cells_per_stage=1, seed=1,
    )
    want = cli.search_json(
        tmp_path, "--strategy", "perturb", "--perturb-proxy", "synflow+params",
        "--edge-order", "fixed", "--seed", "1", *small,
    )
    assert stable(json.loads(py.to_json())) == stable(want)


def test_inits_equal_cli(cli, tmp_path):
    small = ["--channels", "4", "--cells-per-stage", "1"]
    py = freedarts.search(inits=3, seed=2, channels=4, cells_per_stage=1)
    want = cli.search_json(tmp_path, "--inits", "3", "--seed", "2", *small)
    assert stable(json.loads(py.to_json())) == stable(want)
    assert py.raw["provenance"]["options"]["inits"] == 3
    # The DARTS space's best preset scores eight initialisations.
    py = freedarts.search(space="darts", preset="best", channels=4, cells=3)
    assert py.raw["provenance"]["options"]["inits"] == 8


def test_refine_equal_cli(cli, tmp_path):
    small = ["--channels", "4", "--cells-per-stage", "1"]
    py = freedarts.search(
        refine="local", refine_proxy="synflow", refine_inits=2, refine_steps=2,
        seed=3, channels=4, cells_per_stage=1,
    )
    want = cli.search_json(
        tmp_path, "--refine", "local", "--refine-proxy", "synflow", "--refine-inits", "2",
        "--refine-steps", "2", "--seed", "3", *small,
    )
    assert stable(json.loads(py.to_json())) == stable(want)
    assert py.raw["refine"]["arch"] == py.architecture
    assert py.raw["provenance"]["options"]["refine"]["inits"] == 2


def test_same_seed_same_result_and_json_file(tmp_path):
    a = freedarts.search(seed=5)
    b = freedarts.search(seed=5)
    assert stable(a.raw) == stable(b.raw)
    path = tmp_path / "r.json"
    a.to_json(path)
    assert path.read_text() == a.to_json() and a.to_json().endswith("}\n")


def test_benchmark_lookup(nb201_csv):
    r = freedarts.search(benchmark=nb201_csv)
    assert r.benchmark is not None and r.benchmark["arch"] == r.architecture


def test_gil_is_released_during_a_search():
    ticks = []
    stop = threading.Event()

    def count():
        while not stop.is_set():
            ticks.append(1)
            time.sleep(0.001)

    t = threading.Thread(target=count)
    t.start()
    start = time.perf_counter()
    freedarts.search(space="darts", cells=5)
    took = time.perf_counter() - start
    stop.set()
    t.join()
    # A thread starved of the GIL would not tick at all while the search runs; with the GIL
    # free it ticks about every millisecond (less on a loaded machine, hence the margin).
    assert len(ticks) > max(20, 0.1 * took / 0.001), (len(ticks), took)


def test_per_cell_alphas_list_every_cell(cli, tmp_path):
    py = freedarts.search(space="darts", cells=4, alpha_per_cell=True, bn="none")
    want = cli.search_json(tmp_path, "--space", "darts", "--cells", "4", "--alpha-per-cell", "--bn", "none")
    assert stable(py.raw) == stable(want)
    assert py.genotype is None
    assert [c[0] for c in py.cells] == ["cell0", "cell1", "cell2", "cell3"]
    assert all(len(genes) == 8 and concat == [2, 3, 4, 5] for _, genes, concat in py.cells)
