"""LeNet Studio's library: networks, MNIST, training, preprocessing and inference.

numpy and Keras in, numpy and Keras out; no user interface code lives here.
"""

import os

# TensorFlow's C++ start-up chatter drowns the messages users need to see. On a machine with no
# NVIDIA device at all its one "error" is a failed cuInit (a newcomer's first server log line):
# nothing is wrong there, so its C++ errors are kept out too (Python still raises every failure).
_NO_GPU = not any(os.path.exists(p) for p in ("/dev/nvidia0", "/dev/nvidiactl", "/proc/driver/nvidia"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3" if _NO_GPU else "2")
# TensorFlow turns its oneDNN kernels on by itself only on CPUs with AVX512-VNNI, bf16 or AMX.
# On an AVX2-only CPU it falls back to Eigen's: measured on a 2-core EPYC limited to AVX2, a
# LeNet-5 epoch took 6.4 s with Eigen and 2.3-2.5 s with oneDNN; on the newer CPUs this changes
# nothing. A value the user set wins. (Read once, when TensorFlow is imported.)
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
