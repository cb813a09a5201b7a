"""Native helpers of the plain-text cleaning path (``_speedups.c``); see the callers for what each computes.

Arrays are passed as buffers (numpy arrays of the documented dtypes, C-contiguous); results are bytearrays
read back with ``np.frombuffer``. Every length and index is checked: inconsistent arguments raise
``ValueError`` (or ``TypeError``), never read out of bounds.
"""

from typing import Any

import numpy.typing as npt

Buffer = npt.NDArray[Any]
KeyTable = tuple[int, int, Buffer, Buffer]

def has_control_chars(text: str, /) -> bool: ...
def count_odd_chars(text: str, limit: int, /) -> int: ...
def split_clean_lines(text: str, limit: int, /) -> list[str]: ...
def lower_text(text: str, /) -> str: ...
def sample_spaces(lines: list[str], max_lines: int, max_chars: int, /) -> tuple[int, int]: ...
def str_lengths(items: list[str], /) -> bytearray: ...
def count_classes(text: str, limit: int, table: Buffer, mask: int, value: int, /) -> int: ...
def scan_page(
    joined: str,
    lower_joined: str,
    lengths: Buffer,
    lower_lengths: Buffer,
    table: Buffer,
    alphabet: Buffer,
    multiplier: int,
    shift: int,
    keys: Buffer,
    values: Buffer,
    exact: dict[str, int],
    confirm: int,
    stop: int,
    we: int,
    nav: int,
    byline: int,
    phrase: int,
    folds: Buffer,
    /,
) -> tuple[
    bytearray, bytearray, bytearray, bytearray, bytearray, bytearray, bytearray, bytearray, bytearray, bytearray,
    bytearray, bytearray, bytearray, bytearray, bytearray, bool, bytearray, bytearray, bytearray, bytearray,
    bytearray, bytearray, bytearray,
]: ...
def phrase_starts(
    gate: Buffer,
    line: Buffer,
    key: Buffer,
    length: Buffer,
    bits: Buffer,
    first_class: Buffer,
    firsts: KeyTable,
    seconds: tuple[tuple[int, KeyTable], ...],
    beginnings: tuple[tuple[int, KeyTable], ...],
    phrase_start: int,
    digit_start: bool,
    digit_bit: int,
    /,
) -> bytearray: ...
def line_columns(
    m: Buffer,
    cols: Buffer,
    per_line: tuple[Any, ...],
    per_page: tuple[Buffer, ...],
    table: Buffer,
    log1p: Buffer,
    bits: tuple[int, int, int, int, int, int, int, int],
    /,
) -> tuple[bytearray, bytearray]: ...
def window_means(
    p: Buffer, starts: Buffer, sizes: Buffer, out: Buffer, width: int, column: int, radius: int, /
) -> None: ...
def repeated_lines(lines: list[str], bounds: list[int], /) -> bytearray: ...
def walk_features(
    data: bytes, sizes: Buffer, nextmove: Buffer, rowbase: Buffer, output: Buffer, width: int, depth: int, /
) -> tuple[bytearray, bytearray, list[int]]: ...
def feature_scores(
    keys: Buffer, values: Buffer, cuts: Buffer, weights: Buffer, classes: int, half: bool, /
) -> bytearray: ...
