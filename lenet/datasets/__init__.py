"""Datasets: MNIST found and verified wherever it is, real writers' digits, synthesized pen
strokes, and the derived training arrays made from them once and cached.
"""
