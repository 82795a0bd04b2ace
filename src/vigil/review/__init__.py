"""Notice and action, second half: decisions on whole cases, appeals, disclosures, and retention."""
