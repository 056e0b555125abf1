"""entk_ref: independent Python reference implementation for Entk (eNTK feature identification,
arXiv 2510.00468).

Modules: ``models`` (forward passes, seeded init/data), ``ntk`` (Jacobians, kernels, reductions),
``linalg`` (eig_decompose, P-side spectrum, principal angles), ``metrics`` (TMS and Fourier
metrics, Laplacians, rotations), ``train``, ``npyio``, ``bridge`` (C# parity entry points),
``paper_method`` (benchmark of the paper's pipeline).

Importing the package imports nothing heavy; ``linalg``, ``metrics``, ``npyio`` and the numpy-only
bridge functions never import torch.
"""
__version__ = "0.1.0"
