"""The construction mix: unanswerable (hard negatives), adversarial and multi-hop records."""

from tunesmith.data.construct.mix import construct_mix, construct_split, shares

__all__ = ["construct_mix", "construct_split", "shares"]
