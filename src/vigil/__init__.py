"""Vigil: a counter-extremism content-integrity engine.

Content flows one way: ingest -> signals -> match -> policy -> case -> decision -> ledger -> outputs.
Vigil judges content, never people (see SCOPE.md in the project's shared docs).
"""

__version__ = "0.1.0"
