"""Vectorization rules (VEC): pure-Python numeric loops that NumPy does in one call."""
