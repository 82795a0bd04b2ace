"""Imports every table module, so that Base.metadata describes the whole schema."""

from vigil.store import banks, cases, console, keys, ledger, statements  # noqa: F401
