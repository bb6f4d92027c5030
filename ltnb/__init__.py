"""ltnb: tested kernels and one trainer for a reproducibility book of long-tailed recognition."""
__version__ = "0.1.0"
