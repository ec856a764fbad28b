from .caption_visualizer import CaptionVisualizer, picture_visualizer

__all__ = ['CaptionVisualizer', 'picture_visualizer']
