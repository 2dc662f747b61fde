"""Saved networks and training checkpoints."""
