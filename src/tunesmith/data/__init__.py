"""Documents in, Q&A records out: ingest, chunk, generate, split."""
