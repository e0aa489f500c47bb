"""Stage 3, vectors: the sentence-embedding model (``encoder``), run by torch or by ONNX Runtime
(``onnx``).
"""
