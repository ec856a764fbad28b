from .inference import (
    CaptionResult,
    caption_videos,
    init_captioner,
    iter_captions,
)
from .video_inputs import VideoInput, collect_videos

__all__ = [
    'CaptionResult',
    'VideoInput',
    'caption_videos',
    'collect_videos',
    'init_captioner',
    'iter_captions',
]
