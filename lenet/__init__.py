"""LeNet Studio's library: networks, MNIST, training, preprocessing and inference.

numpy and Keras in, numpy and Keras out; no user interface code lives here.
"""

import os

# TensorFlow's C++ start-up chatter drowns the messages users need to see.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
