"""Quality control: spans, PII scan, near-duplicates, semantic validation, leakage (see run.py)."""
