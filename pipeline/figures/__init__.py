"""Matplotlib figures of the report, made from our data and models (Agg backend, PNG)."""

import matplotlib

matplotlib.use("Agg")
