"""Reviewer web console."""
