"""The README's own SCST reward term (section "SCST"), run as it stands.

Its two Python blocks (a module ``my_rewards.py`` and a config that adds
its term to the demo's SCST reward) are written into a scratch folder laid
out like the repository; the config is read the way ``tools/train.py``
reads it (its ``custom_imports`` import the module), its reward hook is
built and scores one SCST step of a tiny captioner.
"""

import os
import re
import sys
import textwrap

import numpy as np
import pytest
from mmaction.registry import HOOKS, TASK_UTILS
from mmengine.config import Config

from tests.engine.test_scst_reward_hook import (
    REFERENCES,
    caption_dataset,
    runner_for,
    training_step_rewards,
)
from tests.helpers import REPO, scst_captioner
from vidcap_mm.evaluation import CiderDReward

HEADING = '### SCST'
MODULE = 'my_rewards.py'
CONFIG = 'configs/demo/tiny_opt_synthetic_scst_short.py'


def readme_blocks() -> dict:
    """The section's Python blocks by the path on their first line."""
    with open(os.path.join(REPO, 'README.md'), encoding='utf-8') as f:
        text = f.read()
    start = text.index(f'\n{HEADING}\n')
    end = text.index('\n### ', start + 1)
    blocks = {}
    for block in re.findall(
        r'^( *)```python\n(.*?)^\1```', text[start:end], re.S | re.M
    ):
        code = textwrap.dedent(block[1])
        first = code.splitlines()[0]
        if first.startswith('# ') and first.endswith('.py'):
            blocks[first[2:]] = code
    return blocks


@pytest.fixture()
def workspace(tmp_path):
    os.makedirs(tmp_path / 'configs' / 'demo')
    for name in os.listdir(os.path.join(REPO, 'configs', 'demo')):
        os.symlink(
            os.path.join(REPO, 'configs', 'demo', name),
            tmp_path / 'configs' / 'demo' / name,
        )
    os.symlink(
        os.path.join(REPO, 'configs', '_base_'),
        tmp_path / 'configs' / '_base_',
    )
    for path, code in readme_blocks().items():
        (tmp_path / path).write_text(code)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path)
        patch.syspath_prepend(str(tmp_path))
        yield tmp_path
    sys.modules.pop('my_rewards', None)
    TASK_UTILS._module_dict.pop('ShortCaptionBonus', None)


def test_the_section_shows_the_module_and_the_config():
    assert sorted(readme_blocks()) == sorted([CONFIG, MODULE])


def test_the_readme_term_joins_the_reward(workspace, tmp_path):
    cfg = Config.fromfile(CONFIG)  # custom_imports: imports my_rewards
    assert 'ShortCaptionBonus' in TASK_UTILS
    (hook_cfg,) = cfg.custom_hooks
    hook = HOOKS.build(hook_cfg)
    captioner = scst_captioner('opt', num_candidates=3)
    dataset = caption_dataset(tmp_path, REFERENCES)
    hook.before_train(runner_for(captioner, dataset))
    captions, samples, values = training_step_rewards(
        captioner, dataset, [0, 2]
    )
    video_ids = [s.metainfo['video_id'] for s in samples]
    cider = CiderDReward(REFERENCES, end_token=True)(captions, video_ids)
    short = np.array([len(c.split()) <= 8 for c in captions], float)
    expected = np.where([bool(c) for c in captions], cider + 0.5 * short, 0)
    np.testing.assert_allclose(values, expected, rtol=0, atol=1e-12)
    assert set(captioner.objective.reward_term_means()) == {'cider_d', 'short'}
