"""docs/seed_fidelity.md is tools/analysis_tools/seed_fidelity.py's output
for today's configs, and our recipes differ from the seed's YAMLs only
where the table says why."""

import os.path as osp
import runpy

from tests.helpers import REPO

TOOL = runpy.run_path(
    osp.join(REPO, 'tools', 'analysis_tools', 'seed_fidelity.py')
)
TRAIN = [y for y in TOOL['SEED_YAMLS'] if y.startswith('train/')]
EVAL = ['eval/caption_msrvtt_flant5xl_eval', 'eval/caption_msvd_flant5xl_eval']

# The differences on purpose: loader workers (throughput only) everywhere,
# AMP in every training YAML, and WebVid in the default MSR-VTT T5 mix.
EXPECTED_DIFFERENCES = (
    {(y, 'run.num_workers') for y in TRAIN + EVAL}
    | {(y, 'run.amp') for y in TRAIN}
    | {
        ('train/caption_msrvtt_flant5xl_ft', field)
        for field in (
            'datasets.webvid_2m_msrvtt.vis_processor.train',
            'datasets.webvid_2m_msrvtt.text_processor.train',
            'run.train_dataset_ratios',
        )
    }
)


def test_document_is_current():
    with open(TOOL['DOC']) as f:
        assert f.read() == TOOL['render'](TOOL['fidelity_table']())


def test_recipes_differ_only_where_known_and_say_why():
    tables = TOOL['fidelity_table']()
    differences = {
        (yaml, row.field)
        for yaml, rows in tables.items()
        for row in rows
        if row.status == TOOL['DIFFERS']
    }
    assert differences == EXPECTED_DIFFERENCES
    for yaml, rows in tables.items():
        for row in rows:
            if row.status in (TOOL['DIFFERS'], TOOL['NOT_APPLICABLE']):
                assert row.why, (yaml, row.field)


def test_every_seed_field_has_a_row():
    # Every field of every YAML of the seed given an config of ours.
    tables = TOOL['fidelity_table']()
    for yaml, seed in TOOL['SEED_YAMLS'].items():
        if seed.config is None:
            continue
        fields = {row.field for row in tables[yaml]}
        wanted = {f'model.{k}' for k in seed.model} | {
            f'datasets.{k}' for k in seed.datasets
        }
        assert wanted <= fields, yaml
        run = {f'run.{k}' for k in seed.run}
        if seed.config.endswith('_eval'):
            run -= {'run.train_splits', 'run.valid_splits'}
        assert run <= fields, yaml


def test_a_changed_config_changes_the_table(monkeypatch):
    # The table reads the configs: a recipe with the old schedule differs.
    from mmengine.config import Config

    original = Config.fromfile

    def old_schedule(path, *args, **kwargs):
        cfg = original(path, *args, **kwargs)
        if path.endswith('vatex_flant5xl_ft.py'):
            cfg.param_scheduler[0].type = 'CosineAnnealingLR'
            cfg.train_dataloader.drop_last = False
        return cfg

    monkeypatch.setattr(Config, 'fromfile', old_schedule)
    rows = TOOL['fidelity_rows'](
        'train/caption_vatex_flant5xl_ft',
        TOOL['SEED_YAMLS']['train/caption_vatex_flant5xl_ft'],
    )
    differing = {row.field for row in rows if row.status == TOOL['DIFFERS']}
    assert {'run.lr_sched', 'code: drop the last partial batch'} <= differing
