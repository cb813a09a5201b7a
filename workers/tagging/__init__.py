"""Entity tagging: model loading (once per process) and entity merging for news articles."""

from workers.tagging.entities import ArticleText, tag_articles
from workers.tagging.model import load_model

__all__ = ["ArticleText", "load_model", "tag_articles"]
