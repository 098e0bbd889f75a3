"""The run folder: stages in order, each with a manifest, skipped when up to date."""

from tunesmith.pipeline.run import STAGES, run_pipeline

__all__ = ["STAGES", "run_pipeline"]
