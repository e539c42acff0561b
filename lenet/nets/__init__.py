"""Networks and training: the registered architectures, one training config and `train()`,
hardware settings, the JAX device loop, the compiled inference path, explanations, scores and
model files. Builds on `lenet.images` and `lenet.datasets`, never on jobs or the app.
"""
