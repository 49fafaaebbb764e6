"""Matplotlib figures of the report, made from our data and models (PNG).

Importing sets no state: the commands that draw pick the Agg backend when they run
(:func:`~pipeline.figures.common.headless`), and a notebook keeps its own.
"""
