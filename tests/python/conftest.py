"""Shared fixtures: the `freedarts` binary built by `cargo test --release` (or `cargo build
--release`) and the shared data beside the repository, as the Rust tests find them."""

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
CIFAR = SHARED / "data" / "cifar10" / "train_first200_exact.bin"
NB201_CSV = SHARED / "data" / "nb201" / "accuracies.csv"


def binary() -> Path:
    path = Path(os.environ.get("FREEDARTS_BIN", ROOT / "target" / "release" / "freedarts"))
    if not path.is_file():
        pytest.fail(f"{path} is missing: run `cargo build --release` first (./test.sh does)")
    return path


class Cli:
    """Runs the `freedarts` binary."""

    def __init__(self, path: Path):
        self.path = path

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            [str(self.path), *map(str, args)], capture_output=True, text=True, timeout=600
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"freedarts {' '.join(map(str, args))} failed: {proc.stderr}")
        return proc

    def error(self, *args: str) -> str:
        """The one-line message of a failing command, without `error: `."""
        proc = self.run(*args, check=False)
        assert proc.returncode != 0, f"expected freedarts {args} to fail"
        line = proc.stderr.strip()
        assert line.startswith("error: "), line
        return line[len("error: "):]

    def search_json(self, tmp_path: Path, *args: str) -> dict:
        out = tmp_path / "cli.json"
        self.run("search", *args, "--json", out)
        return json.loads(out.read_text())


@pytest.fixture(scope="session")
def cli() -> Cli:
    return Cli(binary())


@pytest.fixture(scope="session")
def cifar() -> Path:
    if not CIFAR.is_file():
        pytest.fail(f"{CIFAR} is missing (the shared data sits beside the repository)")
    return CIFAR


@pytest.fixture(scope="session")
def nb201_csv() -> Path:
    if not NB201_CSV.is_file():
        pytest.fail(f"{NB201_CSV} is missing (the shared data sits beside the repository)")
    return NB201_CSV


def cifar_arrays(path: Path, n: int):
    """The first `n` records of a CIFAR-10 binary file as (uint8 NCHW images, int labels)."""
    import numpy as np

    raw = np.fromfile(path, dtype=np.uint8, count=n * 3073).reshape(n, 3073)
    return raw[:, 1:].reshape(n, 3, 32, 32).copy(), raw[:, 0].astype(np.int64)


# What differs between two runs of the same search: clocks, memory, and how it was started.
VOLATILE = ("timings", "peak_rss_mb")
VOLATILE_PROVENANCE = ("command_line",)


def stable(result: dict) -> dict:
    out = {k: v for k, v in result.items() if k not in VOLATILE}
    out["provenance"] = {
        k: v for k, v in result["provenance"].items() if k not in VOLATILE_PROVENANCE
    }
    return out
