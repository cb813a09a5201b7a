"""wirestream: a stream processor that turns raw news scrapes into clean, entity-tagged records."""

__version__ = "0.1.0"
