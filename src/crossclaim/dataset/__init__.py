"""annotations/ → dataset/: gold, splits, tables, card and docs, with ``build`` orchestrating them.

The committed dataset is a pure function of the annotations.
"""
