"""Language helpers shared by indexing and answering: the tokenizer and stop words (``lexical``),
place-name aliases (``aliases``) and named entities (``entities``).
"""
