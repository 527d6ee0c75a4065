"""CrossClaim: an annotated news dataset and benchmark for cross-document claim extraction."""

__version__ = "0.1.0"
