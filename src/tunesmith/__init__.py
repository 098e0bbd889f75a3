"""tunesmith: fine-tune LLMs that answer from context, abstain when it is not enough,
and prove it."""

__version__ = "0.1.0"
