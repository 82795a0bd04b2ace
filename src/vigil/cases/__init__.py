"""Notice and action, first half: notices in, grouped into cases, checked once, prioritised and queued."""
