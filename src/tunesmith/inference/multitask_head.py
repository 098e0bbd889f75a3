"""The multitask answerability head (trained by ``train/multitask.py``): its module and loading.

One linear layer (2 classes: unanswerable, answerable) over the causal LM's final hidden state
at the last prompt token. It is saved beside the adapter (``train/answerability_head.*``); at
inference its P(unanswerable) is the ``multitask_head`` gate's signal.
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file
from torch import nn

from tunesmith.utils.io import read_json

HEAD_FILE = "answerability_head.safetensors"
HEAD_CONFIG = "answerability_head.json"


class AnswerabilityHead(nn.Module):
    def __init__(self, hidden_size: int):
        super().__init__()
        self.proj = nn.Linear(hidden_size, 2)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.proj(hidden.float())


def load_head(directory: Path) -> AnswerabilityHead | None:
    """The head saved beside the adapter, or None if this run did not train one."""
    if not (directory / HEAD_FILE).exists():
        return None
    head = AnswerabilityHead(int(read_json(directory / HEAD_CONFIG)["hidden_size"]))
    head.load_state_dict(load_file(str(directory / HEAD_FILE)))
    head.eval()
    return head
