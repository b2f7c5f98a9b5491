"""CMSIS-NN: INT8 models compiled to plain C calls into Arm's CMSIS-NN kernels."""
