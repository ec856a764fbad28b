from .inference import (
    CaptionResult,
    caption_videos,
    init_captioner,
    iter_captions,
)
from .shots import Shots
from .video_inputs import VideoInput, collect_videos

__all__ = [
    'CaptionResult',
    'Shots',
    'VideoInput',
    'caption_videos',
    'collect_videos',
    'init_captioner',
    'iter_captions',
]
