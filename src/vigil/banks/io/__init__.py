"""banks/io."""
