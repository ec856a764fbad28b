"""Evaluation metrics of vidcap_mm, registered into mmaction's METRICS."""

from .caption_metric import CaptionMetric

__all__ = ['CaptionMetric']
