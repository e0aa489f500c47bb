"""Stage 5, answering: the question (``questions``), candidate retrieval (``retrieval``), excerpt
windows (``excerpts``), the fitted scoring model (``scoring``, ``scoring.json``), highlights
(``highlight``) and the service that ties them together (``service``).
"""
