"""``pretrained=`` / ``tokenizer=`` that cannot be loaded say why: a
missing directory names itself, a model id that cannot be fetched says
what was tried and how to get it."""

import os.path as osp

import pytest
import torch
from huggingface_hub import constants as hub_constants

from tests.helpers import WORDS, tiny_model_cfg
from vidcap_mm.models import (
    blip2_loading,
    build_word_tokenizer,
    load_blip2,
    load_tokenizer,
)

MODEL_ID = 'vidcap-mm-tests/no-such-blip2'


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No hub and an empty cache (huggingface_hub reads the variables at
    import, so its constants are patched too)."""
    cache = str(tmp_path / 'hub_cache')
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    monkeypatch.setattr(hub_constants, 'HF_HUB_OFFLINE', True)
    monkeypatch.setattr(hub_constants, 'HF_HUB_CACHE', cache)
    return cache


@pytest.mark.parametrize('name', ['./blip2-opt', 'runs/x/blip2-opt'])
def test_missing_relative_directory_names_itself_and_the_cwd(
    name, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError) as error:
        load_blip2(pretrained=name)
    assert str(error.value) == (
        f"pretrained='{name}': there is no directory "
        f'{osp.join(tmp_path, osp.normpath(name))} (relative paths start at '
        f'the current directory, {tmp_path}). Give a directory written by '
        "save_pretrained or a model id such as 'Salesforce/blip2-flan-t5-xl'."
    )


def test_missing_directory_shaped_like_a_model_id(
    offline, tmp_path, monkeypatch
):
    """``runs/blip2`` may be a model id: the hub is tried too, and the
    error names the directory that is not there."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OSError, match='could not be loaded') as error:
        load_blip2(pretrained='runs/blip2')
    assert f'none at {tmp_path / "runs" / "blip2"}' in str(error.value)


def test_missing_absolute_directory(tmp_path):
    missing = str(tmp_path / 'models' / 'blip2-opt')
    for load in (
        lambda: load_blip2(pretrained=missing),
        lambda: load_tokenizer(missing),
        lambda: load_tokenizer(None, missing, subfolder='qformer_tokenizer'),
    ):
        with pytest.raises(FileNotFoundError, match='no directory') as error:
            load()
        assert f'no directory {missing} ' in str(error.value)
    with pytest.raises(FileNotFoundError, match="^tokenizer='/"):
        load_tokenizer(missing)
    with pytest.raises(FileNotFoundError, match="^pretrained='/"):
        load_tokenizer(None, missing)


def test_home_directory_is_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv('HOME', str(tmp_path))
    torch.manual_seed(0)
    saved = load_blip2(blip2_config=tiny_model_cfg('opt')['blip2_config'])
    saved.save_pretrained(tmp_path / 'blip2')
    build_word_tokenizer(words=WORDS).save_pretrained(tmp_path / 'blip2')

    loaded = load_blip2(pretrained='~/blip2')
    assert torch.equal(loaded.query_tokens, saved.query_tokens)
    tokenizer = load_tokenizer(None, '~/blip2')
    assert tokenizer.convert_tokens_to_ids('circle') == (
        build_word_tokenizer(words=WORDS).convert_tokens_to_ids('circle')
    )
    with pytest.raises(FileNotFoundError) as error:
        load_blip2(pretrained='~/elsewhere')
    assert f'no directory {tmp_path / "elsewhere"} ' in str(error.value)


def test_a_file_is_not_a_pretrained_directory(tmp_path):
    checkpoint = tmp_path / 'epoch_3.pth'
    checkpoint.write_bytes(b'')
    with pytest.raises(NotADirectoryError, match='goes to load_from'):
        load_blip2(pretrained=str(checkpoint))


def test_model_id_offline_says_what_was_tried(offline):
    with pytest.raises(OSError) as error:
        load_blip2(pretrained=MODEL_ID)
    message = str(error.value)
    assert message.startswith(f"pretrained='{MODEL_ID}' could not be loaded")
    assert f'none at {osp.abspath(MODEL_ID)}' in message
    assert f'cache ({offline}: no complete copy)' in message
    assert 'hub (not asked: offline mode (HF_HUB_OFFLINE=1))' in message
    assert f'hf download {MODEL_ID} --local-dir DIR' in message
    assert 'set pretrained=DIR' in message

    with pytest.raises(OSError) as error:
        load_tokenizer(MODEL_ID)
    assert str(error.value).startswith(
        f"tokenizer='{MODEL_ID}' could not be loaded"
    )
    assert 'set tokenizer=DIR' in str(error.value)


def test_model_id_online_failure_keeps_the_hub_reason(monkeypatch):
    def unreachable(*args, **kwargs):
        raise OSError("We couldn't connect to 'https://huggingface.co'\nmore")

    monkeypatch.setattr(hub_constants, 'HF_HUB_OFFLINE', False)
    monkeypatch.setattr(
        blip2_loading.AutoConfig, 'from_pretrained', unreachable
    )
    with pytest.raises(OSError) as error:
        load_blip2(pretrained=MODEL_ID)
    assert (
        "the hub (failed: We couldn't connect to 'https://huggingface.co')"
    ) in str(error.value)
