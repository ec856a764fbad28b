from .caption_visualizer import CaptionVisualizer

__all__ = ['CaptionVisualizer']
