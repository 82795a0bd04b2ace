"""Readers and writers for the hash-list formats banks are shared in: one module per format.

A reader turns file bytes into `Record`s and `Rejection`s (one per unusable line, never an exception
for bad content), so one bad line never sinks an import. A writer turns records back into bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import ModuleType


@dataclass(frozen=True)
class Record:
    """One entry as a format carries it; `deleted` marks a tombstone (TAT's `deleted: true`)."""

    line: int
    signal_type: str
    value: str
    labels: dict = field(default_factory=dict)
    source: str = ""
    note: str = ""
    metadata: dict = field(default_factory=dict)
    deleted: bool = False


@dataclass(frozen=True)
class Rejection:
    line: int
    reason: str


FORMAT_NAMES = ("te_csv", "tat_json", "hma")


def format_module(fmt: str) -> ModuleType:
    """The module reading and writing `fmt`; ValueError names the known formats."""
    if fmt not in FORMAT_NAMES:
        raise ValueError(f"unknown format {fmt!r}; use one of: {', '.join(FORMAT_NAMES)}")
    from importlib import import_module

    return import_module(f"vigil.banks.io.{fmt}")
