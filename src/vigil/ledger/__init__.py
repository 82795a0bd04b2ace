"""The tamper-evident decision ledger: an RFC 9162 Merkle log of decisions, appeal outcomes, automated
actions, bank changes and disclosures, with signed checkpoints (merkle, log, checkpoint, verify)."""
