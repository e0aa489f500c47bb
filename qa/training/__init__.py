"""Training data and training for qa's own models."""
