"""Reading pictures: untrusted files decoded safely, MNIST-style preprocessing in named steps,
ink pieces grouped into digits, a `Reading` of a picture's digits, and pictures for people.

Depends only on `lenet.config`, `lenet.errors` and `lenet.storage`; nothing here knows Keras.
"""
