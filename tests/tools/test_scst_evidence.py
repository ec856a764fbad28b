"""tools/analysis_tools/scst_evidence.py: which runs it trains, which it
reuses or shares, and how it scores them.

Training and testing are replaced by a stand-in for the two subprocesses
that writes a checkpoint and, as the test captions, one reference phrasing
chosen by what the run's config is (XE: the third phrasing, an SCST run:
the first, unless it runs the seed's reward: the third, a control: the
second), so every score is a known one: the ceilings.
"""

import json
import os.path as osp

import pytest
from mmengine.config import Config

from tests.helpers import REPO, load_script

SCRIPT = osp.join(REPO, 'tools', 'analysis_tools', 'scst_evidence.py')
DEMO_SCST = 'configs/demo/tiny_opt_synthetic_scst.py'
VARIANTS = 'configs/demo/scst_variants'
SIZES = ['--num-train', '8', '--num-val', '4', '--num-test', '4']


@pytest.fixture
def study(monkeypatch, tmp_path):
    module = load_script(SCRIPT)
    trained = []

    def fake_run(command, log):
        config = command[2]
        cfg = Config.fromfile(osp.join(REPO, config))
        if command[1] == 'tools/train.py':
            trained.append(osp.basename(osp.dirname(config)))
            work_dir = command[command.index('--work-dir') + 1]
            open(osp.join(REPO, work_dir, 'best_epoch_1.pth'), 'w').close()
            return
        if cfg.load_from is None:
            phrasing = 2
        elif cfg.model.get('objective') is None:
            phrasing = 1
        else:
            terms = cfg.custom_hooks[0].get('terms') or [{}]
            phrasing = 2 if terms[0].get('mode') == 'seed' else 0
        test_ann = cfg.test_dataloader.dataset.ann_file
        with open(osp.join(REPO, test_ann)) as f:
            records = json.load(f)
        with open(osp.join(REPO, command[-1]), 'w') as f:
            json.dump(
                [
                    dict(
                        image_id=r['image_id'], caption=r['caption'][phrasing]
                    )
                    for r in records
                ],
                f,
            )

    monkeypatch.setattr(module, 'run', fake_run)
    work_dir = str(tmp_path / 'study')

    def main(*variants, rerun_changed=False):
        trained.clear()
        argv = SIZES + ['--seeds', '0', '--work-dir', work_dir]
        argv += ['--variants', *variants]
        if rerun_changed:
            argv.append('--rerun-changed')
        module.main(argv)
        root = osp.join(work_dir, 'opt_synthetic_clips_8_4_4')
        with open(osp.join(root, 'summary.json')) as f:
            return list(trained), json.load(f)

    return main


def test_runs_scores_and_goal(study, capsys):
    trained, summary = study(DEMO_SCST, f'{VARIANTS}/seed_reward.py')
    # The tables list the shared control once.
    rows = [
        line.split('  ')[0] for line in capsys.readouterr().out.split('\n')
    ]
    assert 'control: scst + 1 more' in rows
    assert 'control: seed_reward' not in rows
    # The seed's reward changes only the reward hook, which the control
    # drops: both variants share one control.
    assert trained == ['xe', 'scst', 'scst_control', 'seed_reward']
    ceiling = summary['ceiling']
    assert len(ceiling) == 3 and ceiling[0] > ceiling[1] > ceiling[2]
    runs = summary['results']['0']
    assert runs['XE']['CIDEr'] == ceiling[2]
    assert runs['SCST: scst']['CIDEr'] == ceiling[0]
    assert runs['SCST: scst']['gap_closed'] == 1.0
    assert runs['control: scst'] == runs['control: seed_reward']
    assert runs['control: scst']['gap_closed'] == pytest.approx(
        (ceiling[1] - ceiling[2]) / (ceiling[0] - ceiling[2])
    )
    assert runs['SCST: seed_reward']['gap_closed'] == 0.0
    # Rephrasing only: every run's bound is the first phrasing's CIDEr.
    assert runs['SCST: scst']['first_phrasing'] == 1.0
    assert runs['XE']['first_phrasing'] == 0.0
    for run in runs.values():
        assert run['phrasing_bound'] == ceiling[0]
    for run in runs.values():
        # Every phrasing of the synthetic grammar names the clip right.
        assert run['right'] == 1.0 and run['unreadable'] == 0.0
    assert all(summary['goal']['scst'].values())
    assert summary['goal']['seed_reward'] == {
        'CIDEr above XE on every seed': False,
        'right captions not below XE on average': True,
        'half the gap to the ceiling closed on average': False,
        'CIDEr above the control on every seed': False,
    }


def test_reuses_finished_runs_and_shares_controls_across_studies(study):
    study(DEMO_SCST)
    assert study(DEMO_SCST)[0] == []
    # A later study's variant whose control is the earlier one's trains
    # only its SCST run; another schedule needs its own control.
    trained, _ = study(f'{VARIANTS}/end_token.py', f'{VARIANTS}/lr_5e-4.py')
    assert trained == ['end_token', 'lr_5e-4', 'lr_5e-4_control']


def test_changed_config_stops_unless_rerun_changed(study, tmp_path):
    study(DEMO_SCST)
    # Another config under the name of a finished run.
    changed = tmp_path / 'tiny_opt_synthetic_scst.py'
    changed.write_text(
        f"_base_ = ['{osp.join(REPO, VARIANTS, 'lr_5e-4.py')}']\n"
    )
    with pytest.raises(SystemExit, match='--rerun-changed'):
        study(str(changed))
    trained, _ = study(str(changed), rerun_changed=True)
    assert trained == ['scst', 'scst_control']
