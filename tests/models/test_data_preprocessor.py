"""The captioner's data preprocessor is BLIP-2's image processor, exactly.

The pretrained ViT only sees what transformers' ``BlipImageProcessor``
would give it if our preprocessor, as the configs build it, normalises the
decoded frames in the same way: rescale by 1/255, then the CLIP mean and
std (``preprocessor_config.json`` of the Salesforce BLIP-2 checkpoints).
"""

import glob
import os.path as osp
from functools import lru_cache

import pytest
import torch
from mmaction.models import ActionDataPreprocessor
from mmaction.registry import MODELS
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.structures import BaseDataElement
from transformers import BlipImageProcessor
from transformers.image_utils import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD

from tests.helpers import REPO
from vidcap_mm.models import CaptionerDataPreprocessor

MODEL_CONFIGS = sorted(
    glob.glob(osp.join(REPO, 'configs', '_base_', 'models', '*.py'))
)
TINY_MODEL_CONFIG = osp.join(
    REPO, 'configs', '_base_', 'models', 'tiny_blip2_opt.py'
)
DATASET_CONFIGS = sorted(
    glob.glob(osp.join(REPO, 'configs', '_base_', 'datasets', '*.py'))
)
#: Real camera footage (see demo/examples/README.md): frames with
#: every channel value in play, unlike the flat colours of synthetic clips.
REAL_CLIP = osp.join(REPO, 'demo', 'examples', 'bikes_h264.mp4')
# How many pipeline steps decode the frames; the rest only reshape and pack.
NUM_DECODE_STEPS = 3


@lru_cache(maxsize=None)
def config_preprocessor(model_config):
    """The data preprocessor of the captioner that ``model_config`` builds.

    A config of a real checkpoint cannot be built offline: the tiny model
    stands in for the checkpoint, and the preprocessor still comes from the
    config (its own ``data_preprocessor`` or the captioner's default).
    """
    model = Config.fromfile(model_config).model
    if model.get('pretrained') is not None:
        tiny = Config.fromfile(TINY_MODEL_CONFIG).model
        model = dict(tiny, data_preprocessor=model.get('data_preprocessor'))
    return MODELS.build(model).data_preprocessor


def blip2_image_processor():
    """``BlipImageProcessor`` as BLIP-2's checkpoints configure it, without
    the resize: the frames arrive at the model's size from the pipeline."""
    return BlipImageProcessor(
        do_resize=False,
        do_rescale=True,
        rescale_factor=1 / 255,
        do_normalize=True,
        image_mean=OPENAI_CLIP_MEAN,
        image_std=OPENAI_CLIP_STD,
        do_convert_rgb=True,
    )


@pytest.mark.parametrize('dataset_config', DATASET_CONFIGS, ids=osp.basename)
@pytest.mark.parametrize('model_config', MODEL_CONFIGS, ids=osp.basename)
def test_preprocessor_equals_blip_image_processor(
    model_config, dataset_config, mmaction_scope
):
    pipeline = Config.fromfile(dataset_config).test_pipeline
    assert [step['type'] for step in pipeline[:NUM_DECODE_STEPS]] == [
        'DecordVideoInit',
        'EvenlySpacedSample',
        'DecordVideoDecode',
    ], 'the test pipeline changed: update NUM_DECODE_STEPS'
    decoded = Compose(pipeline[:NUM_DECODE_STEPS])(
        dict(filename=REAL_CLIP, video_id='bikes', caption='bikes')
    )
    frames = decoded['imgs']  # (T, H, W, 3) uint8, RGB
    assert frames.dtype.name == 'uint8' and frames.shape[-1] == 3
    # Distinct frames, with most byte values present even at 32 x 32.
    assert len({frame.tobytes() for frame in frames}) == len(frames)
    assert len(set(frames.reshape(-1).tolist())) > 150

    packed = Compose(pipeline[NUM_DECODE_STEPS:])(dict(decoded))
    ours = config_preprocessor(model_config)(
        pseudo_collate([packed]), training=False
    )['inputs']
    reference = blip2_image_processor()(
        images=list(frames), return_tensors='pt'
    ).pixel_values

    assert ours.dtype == torch.float32
    assert ours.shape == (1, *reference.shape)
    torch.testing.assert_close(ours[0], reference, rtol=0, atol=1e-6)


class _Copied(BaseDataElement):
    """A data element that records how it was copied to the device."""

    def to(self, *args, **kwargs):
        self.set_field(kwargs, 'copy_options', field_type='metainfo')
        return self


def test_captioners_preprocessor_copies_without_blocking():
    """The captioner's default preprocessor is mmaction's with MMEngine's
    ``non_blocking``, which mmaction's own does not take: batches reach the
    GPU without a host synchronisation. Off when asked, as in MMEngine."""
    preprocessor = config_preprocessor(TINY_MODEL_CONFIG)
    assert type(preprocessor) is CaptionerDataPreprocessor
    assert isinstance(preprocessor, ActionDataPreprocessor)
    sample = preprocessor.cast_data(dict(data_samples=[_Copied()]))
    assert sample['data_samples'][0].copy_options == dict(non_blocking=True)

    blocking = MODELS.build(
        dict(type='CaptionerDataPreprocessor', non_blocking=False)
    )
    sample = blocking.cast_data(dict(data_samples=[_Copied()]))
    assert sample['data_samples'][0].copy_options == dict(non_blocking=False)
    plain = MODELS.build(dict(type='ActionDataPreprocessor'))
    sample = plain.cast_data(dict(data_samples=[_Copied()]))
    assert sample['data_samples'][0].copy_options == dict(non_blocking=False)
