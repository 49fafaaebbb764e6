"""Scores on held-out shards: metrics, baselines, uncertainty; no training here."""
