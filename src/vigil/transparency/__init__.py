"""Outputs for oversight: statements of reasons for the EU Transparency Database (sor, submit) and
periodic transparency reports (report)."""
