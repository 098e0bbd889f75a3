"""Should we fine-tune at all? ``tunesmith decide``: prompting and RAG baselines with the base
model, the seed's criteria (performance gap, data, non-public knowledge, format, latency), the
cost-benefit and a recommendation; after training, the tuned model beside them.

    from tunesmith.decide import run_decide, check_outcome
    decision = run_decide(config)            # runs/<name>/decide/decision.json
    check_outcome(config, config.run_dir)    # after training: decide/outcome.json

A workflow beside evaluate and plan: it may import config, utils, data, models, inference,
evaluate and plan; pipeline and the CLI call it.
"""

from tunesmith.decide.outcome import check_outcome
from tunesmith.decide.run import BASELINES, run_decide

__all__ = ["BASELINES", "check_outcome", "run_decide"]
