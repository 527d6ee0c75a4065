"""Scoring: counts per document, metrics with confidence intervals, and the ``score`` entry point."""
