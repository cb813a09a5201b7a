"""Cleaning stage: pure article extraction from plain-text scrapes and HTML pages."""

from workers.cleaning.boilerplate import line_fingerprint
from workers.cleaning.extract import Extraction, extract_article

__all__ = ["Extraction", "extract_article", "line_fingerprint"]
