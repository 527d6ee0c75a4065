"""File formats at the edges: the manifest, Label Studio exports and configs, predictions files."""
