"""Config handling shared by tools/train.py and tools/test.py."""

import pytest
from mmengine.config import Config

from vidcap_mm.engine.launch import resolve_load_from


def test_load_from_pattern_names_exactly_one_file(tmp_path):
    (tmp_path / 'best_caption_CIDEr_epoch_4.pth').write_bytes(b'')
    cfg = Config(dict(load_from=str(tmp_path / 'best_*.pth')))
    resolve_load_from(cfg)
    assert cfg.load_from == str(tmp_path / 'best_caption_CIDEr_epoch_4.pth')

    plain = Config(dict(load_from='not/a/pattern.pth'))
    resolve_load_from(plain)
    assert plain.load_from == 'not/a/pattern.pth'

    (tmp_path / 'best_caption_CIDEr_epoch_6.pth').write_bytes(b'')
    with pytest.raises(ValueError, match='matches 2 files'):
        resolve_load_from(Config(dict(load_from=str(tmp_path / 'best_*'))))
    with pytest.raises(FileNotFoundError, match='matches no file'):
        resolve_load_from(Config(dict(load_from=str(tmp_path / 'x_*.pth'))))
