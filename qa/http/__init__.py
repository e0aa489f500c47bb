"""The web face: the FastAPI app and JSON API (``api``), the pages (``pages``, ``views``,
``templates/``, ``static/``), administration and uploads (``admin``, ``uploads``) and the
multi-worker server (``server``).
"""
