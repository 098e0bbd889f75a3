"""Training workflows: each one module, readable top to bottom."""
