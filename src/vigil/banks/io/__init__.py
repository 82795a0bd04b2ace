"""Readers and writers for the hash-list formats banks are shared in: one module per format.

A reader turns file bytes into `Record`s and `Rejection`s (one per unusable line, never an exception
for bad content), so one bad line never sinks an import. A writer turns records back into bytes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from importlib import import_module
from types import ModuleType
from typing import Callable, Iterable, Iterator

from vigil.errors import InvalidInput


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
    """The module reading and writing `fmt`; InvalidInput names the known formats."""
    if fmt not in FORMAT_NAMES:
        raise InvalidInput(f"unknown format {fmt!r}; use one of: {', '.join(FORMAT_NAMES)}", field="format")
    return import_module(f"vigil.banks.io.{fmt}")


def decode_text(data: bytes) -> tuple[str | None, Rejection | None]:
    """The file as text, or a rejection saying where the bytes stop being UTF-8."""
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        return None, Rejection(line, f"not UTF-8 text (byte {e.start}); save the file as UTF-8 and import again")


@dataclass(frozen=True)
class BadJson:
    """An item that is not JSON; `fatal` when nothing after it can be located (inside one document)."""

    reason: str
    fatal: bool


def json_items(text: str, list_key: str) -> Iterator[tuple[int, object]]:
    """(line, item) for each item of a JSON array, of a document's `list_key` array, or of JSON Lines.

    Items are decoded one at a time so each carries the line it starts on. A syntax error inside a
    document ends the walk (fatal BadJson); in JSON Lines it only costs its own line.
    """
    decoder = json.JSONDecoder()
    start = len(text) - len(text.lstrip())
    if start == len(text):
        return
    if text[start] == "{":
        found = re.compile(r'"' + re.escape(list_key) + r'"\s*:\s*\[').search(text)
        if found is None:
            yield from _json_lines(text)
            return
        start = found.end() - 1
    elif text[start] != "[":
        yield from _json_lines(text)
        return
    pos, line, counted = start + 1, 1 + text.count("\n", 0, start), start
    while True:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(text) or text[pos] == "]":
            return
        line += text.count("\n", counted, pos)
        counted = pos
        try:
            item, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as e:
            yield text.count("\n", 0, e.pos) + 1, BadJson(f"JSON syntax error: {e.msg}; nothing after it was read", True)
            return
        except RecursionError:
            yield line, BadJson("JSON nested too deeply; nothing after it was read", True)
            return
        yield line, item


def _json_lines(text: str) -> Iterator[tuple[int, object]]:
    for number, raw in enumerate(text.splitlines(), 1):
        if raw.strip():
            try:
                item = json.loads(raw)
            except json.JSONDecodeError as e:
                item = BadJson(f"not JSON: {e.msg}", False)
            except RecursionError:
                item = BadJson("JSON nested too deeply", False)
            yield number, item


def read_json(data: bytes, list_key: str, records: Callable[[int, object], Iterable[Record | Rejection]]) -> Iterator[Record | Rejection]:
    """The JSON formats' shared reader: decode, walk the items, turn each into records; a broken item is one rejection."""
    text, bad = decode_text(data)
    if bad is not None:
        yield bad
        return
    for line, item in json_items(text, list_key):
        if isinstance(item, BadJson):
            yield Rejection(line, item.reason)
            if item.fatal:
                return
            continue
        yield from records(line, item)

