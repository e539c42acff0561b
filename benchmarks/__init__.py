"""Measurements behind `scripts/benchmark.py`: training recipes, serving speed, sample inputs.

Not part of the library: these modules use it as a user would, and time it.
"""
