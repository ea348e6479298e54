#!/usr/bin/env bash
# The whole test suite, as CI runs it: the Rust tests, then the Python package installed with
# `pip install .` into a fresh virtual environment (under target/, which git ignores) and its
# pytest tests, which compare it with the `freedarts` binary. Reads ../shared, as the Rust
# tests do. PYTHON picks the interpreter (default python3, 3.9 or later).
set -euo pipefail
cd "$(dirname "$0")"

cargo test --release
# The binary the Python tests compare with (the Rust tests have built it; this is a no-op).
cargo build --release

PYTHON="${PYTHON:-python3}"
VENV=target/python-test-venv
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
# A fresh environment with nothing but the package and its test dependency: this is also the
# check that `pip install .` works on a fresh machine.
"$VENV/bin/python" -m pip install --quiet ".[test]"
FREEDARTS_BIN="$PWD/target/release/freedarts" "$VENV/bin/python" -m pytest -q -p no:cacheprovider tests/python
