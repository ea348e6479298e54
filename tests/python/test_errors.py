"""Every way a call is refused: the exception class, and the CLI's one-line message where the
CLI has one."""

import numpy as np
import pytest

import freedarts

from conftest import cifar_arrays


def same_as_cli(cli, exc_info, *args):
    assert str(exc_info.value) == cli.error(*args)


def test_missing_init_from(cli, tmp_path):
    missing = tmp_path / "missing.safetensors"
    with pytest.raises(FileNotFoundError) as e:
        freedarts.search(init_from=missing)
    same_as_cli(cli, e, "search", "--init-from", missing)
    assert "--init-from" in str(e.value)


def test_missing_data_file(cli, tmp_path):
    missing = tmp_path / "none.bin"
    with pytest.raises(FileNotFoundError) as e:
        freedarts.search(proxy="snip", data=missing)
    same_as_cli(cli, e, "search", "--proxy", "snip", "--data", missing)


def test_proxy_needs_data(cli):
    with pytest.raises(ValueError) as e:
        freedarts.search(proxy="snip")
    same_as_cli(cli, e, "search", "--proxy", "snip")


def test_flag_of_the_other_space(cli):
    with pytest.raises(ValueError) as e:
        freedarts.search(space="darts", cells_per_stage=3)
    same_as_cli(cli, e, "search", "--space", "darts", "--cells-per-stage", "3")
    with pytest.raises(ValueError) as e:
        freedarts.search(cells=5)
    same_as_cli(cli, e, "search", "--cells", "5")


def test_space_sizes(cli):
    with pytest.raises(ValueError) as e:
        freedarts.search(space="darts", channels=3)
    same_as_cli(cli, e, "search", "--space", "darts", "--channels", "3")
    with pytest.raises(ValueError) as e:
        freedarts.search(input_size=30)
    same_as_cli(cli, e, "search", "--input-size", "30")
    with pytest.raises(ValueError, match="channels.*1..=4096"):
        freedarts.search(channels=0)
    with pytest.raises(ValueError, match="batch_size"):
        freedarts.search(proxy="snip", data="synthetic", batch_size=0)


def test_too_large_to_fit(cli):
    with pytest.raises(ValueError) as e:
        freedarts.search(channels=4096, cells_per_stage=1000)
    same_as_cli(cli, e, "search", "--channels", "4096", "--cells-per-stage", "1000")


def test_cross_check_with_iterative(cli):
    with pytest.raises(ValueError) as e:
        freedarts.search(strategy="iterative", cross_check_f64=True)
    same_as_cli(cli, e, "search", "--strategy", "iterative", "--cross-check-f64")


def test_benchmark_needs_nb201(cli, nb201_csv):
    with pytest.raises(ValueError) as e:
        freedarts.search(space="darts", cells=5, benchmark=nb201_csv)
    same_as_cli(cli, e, "search", "--space", "darts", "--cells", "5", "--benchmark", nb201_csv)


def test_unknown_names_list_the_known_ones():
    with pytest.raises(ValueError, match="proxy.*synflow.*snip.*grasp"):
        freedarts.search(proxy="nope")
    with pytest.raises(ValueError, match="strategy.*oneshot.*iterative"):
        freedarts.search(strategy="nope")
    with pytest.raises(ValueError, match="dtype.*f32.*f64"):
        freedarts.search(dtype="f16")
    with pytest.raises(ValueError, match="bn.*train"):
        freedarts.search(bn="maybe")
    with pytest.raises(ValueError, match="space.*nb201.*darts"):
        freedarts.search(space="nb101")
    with pytest.raises(ValueError, match="device.*cpu"):
        freedarts.search(device="tpu")
    with pytest.raises(ValueError, match="preset"):
        freedarts.search(preset="no-such-preset")
    with pytest.raises(ValueError, match="--inits applies to --strategy oneshot only"):
        freedarts.search(inits=2, strategy="iterative")
    with pytest.raises(ValueError, match="--inits 0 is outside"):
        freedarts.search(inits=0)
    with pytest.raises(ValueError, match="go with refine="):
        freedarts.search(refine_inits=2)
    with pytest.raises(ValueError, match="invalid value for refine: `global`"):
        freedarts.search(refine="global")
    with pytest.raises(ValueError, match="nb201"):
        freedarts.search(space="darts", refine="local", channels=4, cells=3)


def test_bad_arrays(cifar):
    images, labels = cifar_arrays(cifar, 4)
    with pytest.raises(ValueError, match="labels"):
        freedarts.search(proxy="snip", data=(images, labels[:3]))
    with pytest.raises(TypeError, match="integers"):
        freedarts.search(proxy="snip", data=(images, labels.astype(float)))
    with pytest.raises(ValueError, match="3 channels"):
        freedarts.search(proxy="snip", data=(images[:, :2], labels))
    with pytest.raises(TypeError, match="uint8"):
        freedarts.search(proxy="snip", data=(images.astype(np.int32), labels))
    with pytest.raises(TypeError, match="data"):
        freedarts.search(proxy="snip", data=[images, labels])
    with pytest.raises(ValueError, match="batch_size"):
        freedarts.search(proxy="snip", data=(images, labels), batch_size=4)
    with pytest.raises(ValueError, match="label 10 of image 0"):
        freedarts.search(proxy="snip", data=(images, labels * 0 + 10))
    with pytest.raises(ValueError, match=r"\[3, 16, 16\]"):
        freedarts.search(proxy="snip", data=(images[:, :, :16, :16], labels))


def test_score_errors(cli, tmp_path):
    with pytest.raises(ValueError) as e:
        freedarts.score("sample:3", ["synflow", "nope"])
    same_as_cli(cli, e, "score", "--archs", "sample:3", "--proxy", "synflow,nope", "-o", tmp_path / "a")
    with pytest.raises(ValueError) as e:
        freedarts.score("sample:3", ["synflow", "synflow"])
    same_as_cli(cli, e, "score", "--archs", "sample:3", "--proxy", "synflow,synflow", "-o", tmp_path / "a")
    missing = tmp_path / "archs.txt"
    with pytest.raises(FileNotFoundError) as e:
        freedarts.score(missing, "params")
    same_as_cli(cli, e, "score", "--archs", missing, "--proxy", "params", "-o", tmp_path / "a")
    with pytest.raises(ValueError) as e:
        freedarts.score("sample:3", "snip")
    same_as_cli(cli, e, "score", "--archs", "sample:3", "--proxy", "snip", "-o", tmp_path / "a")
    with pytest.raises(ValueError) as e:
        freedarts.score("all", "params", space="darts")
    same_as_cli(cli, e, "score", "--space", "darts", "--archs", "all", "--proxy", "params", "-o", tmp_path / "a")
    with pytest.raises(ValueError, match=r"archs\[1\]"):
        freedarts.score(["|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "garbage"], "params")
    with pytest.raises(ValueError, match="listed twice"):
        freedarts.score(["|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"] * 2, "params")
    with pytest.raises(ValueError, match="no architectures"):
        freedarts.score([], "params")
    with pytest.raises(ValueError, match="shard"):
        freedarts.score("sample:3", "params", shard="3/2")


def test_score_file_of_another_run(cli, tmp_path):
    out = tmp_path / "s.jsonl"
    freedarts.score("sample:3", "params", output=out)
    with pytest.raises(ValueError) as e:
        freedarts.score("sample:3", "params", output=out, seed=1)
    same_as_cli(cli, e, "score", "--archs", "sample:3", "--proxy", "params", "--seed", "1", "-o", out)


def test_correlate_errors(cli, nb201_csv, tmp_path):
    missing = tmp_path / "missing.jsonl"
    with pytest.raises(FileNotFoundError) as e:
        freedarts.correlate(missing, nb201_csv)
    same_as_cli(cli, e, "correlate", missing, "--benchmark", nb201_csv)
    scores = freedarts.score("sample:5", "params")
    with pytest.raises(ValueError) as e:
        freedarts.correlate(scores, nb201_csv, columns=["nope"])
    same_as_cli(cli, e, "correlate", scores.path, "--benchmark", nb201_csv, "--columns", "nope")


def test_architecture_errors():
    with pytest.raises(ValueError, match="invalid genotype"):
        freedarts.parse_genotype("Genotype(normal=[('sep_conv_3x3', 7)]")
    with pytest.raises(ValueError, match="invalid NB201"):
        freedarts.nb201_ops("|nor_conv_3x3~0|")
    with pytest.raises(ValueError, match="6 edges"):
        freedarts.nb201_string(["none"] * 5)
    with pytest.raises(ValueError, match="op index 7"):
        freedarts.naslib_to_genotype([[(0, 7)] + [(0, 0)] * 7, [(0, 0)] * 8])
    with pytest.raises(ValueError, match="two cells"):
        freedarts.naslib_to_genotype([[(0, 0)] * 8])
    with pytest.raises(ValueError):
        # Node 2 cannot read node 3.
        freedarts.naslib_to_genotype([[(3, 0)] + [(0, 0)] * 7, [(0, 0)] * 8])
