"""freedarts.score writes the CLI's score file and returns its rows; correlate reads it."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import freedarts

from conftest import ROOT, cifar_arrays


def lines(path):
    return [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]


def test_score_file_is_the_cli_file(cli, cifar, tmp_path):
    args = ["--archs", "sample:12", "--proxy", "synflow,snip,params,flops", "--seed", "4",
            "--data", cifar, "--batch-size", "8", "--quiet"]
    cli.run("score", *args, "--output", tmp_path / "cli.jsonl")
    py = freedarts.score("sample:12", ["synflow", "snip", "params", "flops"], data=cifar,
                         seed=4, batch_size=8, output=tmp_path / "py.jsonl")
    assert (tmp_path / "py.jsonl").read_bytes() == (tmp_path / "cli.jsonl").read_bytes()
    rows = lines(tmp_path / "cli.jsonl")
    assert {"header": py.header} == rows[0] and py.rows == rows[1:]
    assert py.proxies == ["synflow", "snip", "params", "flops"] and len(py) == 12
    table = py.to_numpy()
    assert table.dtype.names == ("arch", "synflow", "synflow_log", "snip", "params", "flops")
    np.testing.assert_array_equal(table["params"], [r["params"] for r in rows[1:]])


def test_list_of_archs_equals_cli_file(cli, tmp_path):
    archs = ["|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
             "|avg_pool_3x3~0|+|none~0|skip_connect~1|+|nor_conv_1x1~0|none~1|avg_pool_3x3~2|"]
    (tmp_path / "archs.txt").write_text("\n".join(archs) + "\n")
    cli.run("score", "--archs", tmp_path / "archs.txt", "--proxy", "synflow,params",
            "--output", tmp_path / "cli.jsonl", "--quiet")
    py = freedarts.score(archs, "synflow,params")
    assert py.rows == lines(tmp_path / "cli.jsonl")[1:]
    assert py.header["archs"] == "list:2"


def test_darts_genotypes_score_like_the_cli(cli, tmp_path):
    cli.run("score", "--space", "darts", "--archs", "sample:2", "--proxy", "params,flops",
            "--channels", "8", "--cells", "5", "--output", tmp_path / "cli.jsonl", "--quiet")
    py = freedarts.score("sample:2", ["params", "flops"], space="darts", channels=8, cells=5)
    assert py.rows == lines(tmp_path / "cli.jsonl")[1:]
    # The Genotype objects of those rows score the same again.
    genotypes = [freedarts.parse_genotype(r["arch"]) for r in py.rows]
    again = freedarts.score(genotypes, ["params", "flops"], space="darts", channels=8, cells=5)
    assert again.rows == py.rows


def test_arrays_equal_file(cifar):
    images, labels = cifar_arrays(cifar, 8)
    a = freedarts.score("sample:3", ["snip", "synflow"], data=cifar, batch_size=8)
    b = freedarts.score("sample:3", ["snip", "synflow"], data=(images, labels))
    assert a.rows == b.rows


def test_batch_fingerprint_is_the_documented_sha256(cifar, tmp_path):
    """The header's batch_sha256 is SHA-256 of the documented layout of the normalised batch,
    recomputed here with numpy and hashlib; a file and the arrays of its records give the same
    one, and a resume with one label changed is refused."""
    images, labels = cifar_arrays(cifar, 8)
    from_file = freedarts.score("sample:1", "snip", data=cifar, batch_size=8)
    out = tmp_path / "arrays.jsonl"
    from_arrays = freedarts.score("sample:2", "snip", data=(images, labels), output=out)
    # NAS-Bench-201's CIFAR-10 constants, each rounded to float32, applied in float32.
    mean = (np.array([125.3, 123.0, 113.9]) / 255).astype(np.float32)[None, :, None, None]
    std = (np.array([63.0, 62.1, 66.7]) / 255).astype(np.float32)[None, :, None, None]
    x = (images.astype(np.float32) / np.float32(255) - mean) / std
    expected = hashlib.sha256(np.array([8, 3, 32, 32], "<u8").tobytes()
                              + x.astype("<f4").tobytes()
                              + labels.astype("<i8").tobytes()).hexdigest()
    assert from_file.header["data"]["batch_sha256"] == expected
    assert from_arrays.header["data"]["batch_sha256"] == expected
    changed = labels.copy()
    changed[0] = (changed[0] + 1) % 10
    with pytest.raises(ValueError, match="batch_sha256"):
        freedarts.score("sample:2", "snip", data=(images, changed), output=out)


def test_progress_callback_and_resume(tmp_path):
    seen = []
    out = tmp_path / "s.jsonl"
    r = freedarts.score("sample:5", "params", output=out, progress=lambda d, t: seen.append((d, t)))
    assert seen[0] == (0, 5) and seen[-1] == (5, 5) and len(r) == 5
    # A second call resumes the file: nothing left to score, same rows.
    seen.clear()
    again = freedarts.score("sample:5", "params", output=out, progress=lambda d, t: seen.append((d, t)))
    assert again.rows == r.rows and seen == [(5, 5)]


def test_callback_exception_stops_the_run():
    def boom(done, total):
        if done >= 2:
            raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        freedarts.score("sample:20", "synflow", progress=boom)


def test_correlate_equals_cli(cli, nb201_csv, tmp_path):
    out = tmp_path / "s.jsonl"
    scores = freedarts.score("sample:40", ["synflow", "params"], output=out)
    cli.run("correlate", out, "--benchmark", nb201_csv, "--output", tmp_path / "cli.json")
    py = freedarts.correlate(scores, nb201_csv)
    want = json.loads((tmp_path / "cli.json").read_text())
    assert json.loads(py.to_json()) == want
    assert py.get("synflow", "cifar10_test")["n"] == 40
    printed = cli.run("correlate", out, "--benchmark", nb201_csv, "--markdown",
                      tmp_path / "cli.md").stdout
    assert str(py) == printed
    assert py.to_markdown() == (tmp_path / "cli.md").read_text()
    assert py.to_markdown(tmp_path / "py.md") == (tmp_path / "py.md").read_text()


def test_correlate_joins_a_second_accuracy_file_like_the_cli(cli, nb201_csv, tmp_path):
    out = tmp_path / "s.jsonl"
    scores = freedarts.score("sample:20", ["params"], output=out)
    extra = nb201_csv.with_name("accuracies_extra.csv")
    cli.run("correlate", out, "--benchmark", nb201_csv, "--benchmark", extra, "--columns",
            "cifar10valid_test,cifar10_test", "--output", tmp_path / "cli.json")
    py = freedarts.correlate(scores, [nb201_csv, extra], columns=["cifar10valid_test",
                                                                   "cifar10_test"])
    assert json.loads(py.to_json()) == json.loads((tmp_path / "cli.json").read_text())
    assert py.raw["joined_benchmarks"] == [str(extra)]
    assert py.get("params", "cifar10valid_test")["n"] == 20


def test_ctrl_c_stops_between_networks(tmp_path):
    out = tmp_path / "s.jsonl"
    script = textwrap.dedent(
        f"""
        import os, signal, threading, time, freedarts
        threading.Timer(1.5, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
        start = time.perf_counter()
        try:
            freedarts.score("all", "synflow", output={str(out)!r}, jobs=1)
        except KeyboardInterrupt:
            print("interrupted after", round(time.perf_counter() - start, 1))
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert "interrupted after" in proc.stdout, proc.stderr
    assert float(proc.stdout.split()[-1]) < 10
    rows = lines(out)[1:]
    assert 0 < len(rows) < 15625
