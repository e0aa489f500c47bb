"""Measuring answers against question sets (``metrics``), fitting the scoring model by cross-
validation (``fitting``) and its report (``report``).
"""
