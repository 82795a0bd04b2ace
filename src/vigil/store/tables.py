"""Imports every table module, so that Base.metadata describes the whole schema."""

from vigil.store import banks, cases, keys, ledger, statements  # noqa: F401
