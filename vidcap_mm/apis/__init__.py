from .inference import (
    CaptionResult,
    VideoInput,
    caption_videos,
    collect_videos,
    init_captioner,
    iter_captions,
)

__all__ = [
    'CaptionResult',
    'VideoInput',
    'caption_videos',
    'collect_videos',
    'init_captioner',
    'iter_captions',
]
