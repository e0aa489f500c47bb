"""Stage 1, sources: finding the files of a corpus (``scan``), their metadata (``metadata``) and
reading each format into text (``readers``).
"""
