"""tapegrad's benchmark suite, side by side with PyTorch and hand-written NumPy: ``python -m benchmarks``.

Importing this package imports nothing heavy (no NumPy, no torch): the runner may still have to
re-execute itself with a clean BLAS environment before NumPy loads. See ``benchmarks/README.md``.
"""

#: The workload modules, in the order the runner runs them.
WORKLOADS = ("w1_small_ops", "w2_mlp", "w3_grad_ratio", "w4_deep_chain_memory", "w5_hvp",
             "w6_control_flow", "w7_cnn")
