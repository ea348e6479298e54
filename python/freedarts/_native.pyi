# Type stubs of the extension module (python/src/*.rs). The public, documented API is the
# `freedarts` package; these functions take and return the CLI's JSON text.
from typing import List, Optional, Sequence, Tuple, Callable, Any

__version__: str

def search(
    *,
    space: Optional[str] = ...,
    proxy: Optional[str] = ...,
    strategy: Optional[str] = ...,
    preset: Optional[str] = ...,
    perturb_proxy: Optional[str] = ...,
    edge_order: Optional[str] = ...,
    inits: Optional[int] = ...,
    refine: Optional[str] = ...,
    refine_proxy: Optional[str] = ...,
    refine_inits: Optional[int] = ...,
    refine_steps: Optional[int] = ...,
    seed: int = ...,
    dtype: Optional[str] = ...,
    bn: Optional[str] = ...,
    alpha_abs: Optional[bool] = ...,
    procedure: Optional[str] = ...,
    channels: Optional[int] = ...,
    cells_per_stage: Optional[int] = ...,
    cells: Optional[int] = ...,
    alpha_per_cell: bool = ...,
    classes: Optional[int] = ...,
    input_size: Optional[int] = ...,
    init_from: Optional[str] = ...,
    data: Optional[str] = ...,
    pixels: Optional[bytes] = ...,
    floats: Optional[bytes] = ...,
    labels: Optional[Sequence[int]] = ...,
    image_size: Optional[Tuple[int, int]] = ...,
    batch_size: Optional[int] = ...,
    shuffle_seed: Optional[int] = ...,
    cifar_format: Optional[str] = ...,
    normalize: Optional[str] = ...,
    augment_seed: Optional[int] = ...,
    benchmark: Optional[str] = ...,
    cross_check_f64: bool = ...,
    export_weights: Optional[str] = ...,
    device_name: str = ...,
    verbose: bool = ...,
) -> Tuple[str, str]:
    """(result JSON as `search --json` writes it, the report the CLI prints)."""

def score(
    *,
    archs: Sequence[str],
    archs_is_list: bool,
    proxy: Sequence[str],
    output: str,
    space: str = ...,
    seed: int = ...,
    data: Optional[str] = ...,
    pixels: Optional[bytes] = ...,
    floats: Optional[bytes] = ...,
    labels: Optional[Sequence[int]] = ...,
    image_size: Optional[Tuple[int, int]] = ...,
    batch_size: Optional[int] = ...,
    shuffle_seed: Optional[int] = ...,
    cifar_format: Optional[str] = ...,
    normalize: Optional[str] = ...,
    channels: Optional[int] = ...,
    cells_per_stage: Optional[int] = ...,
    cells: Optional[int] = ...,
    classes: Optional[int] = ...,
    input_size: Optional[int] = ...,
    shard: str = ...,
    jobs: Optional[int] = ...,
    device_name: str = ...,
    bar: bool = ...,
    progress: Optional[Callable[[int, int], Any]] = ...,
) -> str:
    """The whole score file as JSON: {"header": {...}, "rows": [...], "summary": {...}}."""

def correlate(
    scores: Sequence[str], benchmark: str, columns: Sequence[str] = ...
) -> Tuple[str, str, str]:
    """(report JSON as `correlate --output` writes it, the CLI's table, its `--markdown`)."""

def parse_genotype(text: str) -> Tuple[str, str]:
    """(canonical Genotype text, cells as JSON)."""

def parse_nb201(text: str) -> Tuple[str, List[str]]:
    """(canonical NB201 string, the op of each of the 6 edges)."""

def proxies() -> List[Tuple[str, bool, bool, str]]: ...
