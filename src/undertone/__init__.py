"""undertone: interview transcripts that keep how things were said."""

__version__ = "0.1.0"
