"""Vigil: a counter-extremism content-integrity engine.

Content flows one way: ingest -> signals -> match -> policy -> case -> decision -> ledger -> outputs.
Vigil judges content, never people: the lines it does not cross are in the README ("What Vigil will not do").
"""

__version__ = "0.1.0"
