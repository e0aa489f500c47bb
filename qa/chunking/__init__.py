"""Stage 2, chunking: headings and sections (``headings``), sentences (``sentences``) and the
passages built from them (``passages``).
"""
