from __future__ import annotations

import pytest

from tunesmith.config import GuardConfig
from tunesmith.data.schema import QARecord
from tunesmith.evaluate.harness import as_squad_prediction, score_predictions

GUARD = GuardConfig()


@pytest.mark.parametrize(
    ("generated", "expected"),
    [
        ("[No sufficient context]", ""),
        ("  [No sufficient context] because ...", ""),
        ("INSUFFICIENT_CONTEXT", ""),
        ("", ""),
        ("...", ""),  # normalises to nothing: SQuAD treats it as no answer
        (" port 7420 ", "port 7420"),
    ],
)
def test_abstentions_become_the_empty_prediction(generated: str, expected: str) -> None:
    assert as_squad_prediction(generated, GUARD) == expected


def test_score_predictions_matches_squad_definitions() -> None:
    records = [
        QARecord(id="a", question="Which port?", contexts=["It uses port 7420."],
                 answer="7420", answer_start=13),
        QARecord(id="b", question="Which port?", contexts=["Nothing here."], answer=None,
                 kind="unanswerable"),
        QARecord(id="c", question="When?", contexts=["Released in March 2024."],
                 answer="March 2024", answer_start=12),
    ]
    score = score_predictions(records, ["port 7420", "[No sufficient context]", "May 2024"],
                              GUARD, "tuned")
    m = score.metrics
    assert m["HasAns_exact"] == 0.0
    # F1: "port 7420" vs "7420" = 2/3; "May 2024" vs "March 2024" = 1/2
    assert m["HasAns_f1"] == pytest.approx(100 * (2 / 3 + 1 / 2) / 2)
    assert m["NoAns_exact"] == 100.0 and m["total"] == 3
    rows = {r["id"]: r for r in score.rows}
    assert rows["b"]["prediction"] == "" and rows["b"]["exact"] == 1
    assert rows["a"]["f1"] == pytest.approx(2 / 3) and rows["a"]["model"] == "tuned"
    assert "p_no_answer" not in rows["a"]  # no threshold decided: no evidence to keep

    with_p = score_predictions(records, ["port 7420", "[No sufficient context]", "May 2024"],
                               GUARD, "tuned", [0.1234567, 0.93, None])
    kept = {r["id"]: r.get("p_no_answer") for r in with_p.rows}
    assert kept == {"a": 0.123457, "b": 0.93, "c": None}
