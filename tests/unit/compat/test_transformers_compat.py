import warnings

import pytest
from trl import SFTConfig

from tunesmith.compat.transformers import checkpointing_kwargs


@pytest.mark.parametrize("enabled", [True, False])
def test_checkpointing_switch_takes_effect_without_deprecation_warning(
    enabled: bool, tmp_path
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        args = SFTConfig(output_dir=str(tmp_path), use_cpu=True, bf16=False,
                         report_to="none", **checkpointing_kwargs(enabled))
    assert args.gradient_checkpointing is enabled
