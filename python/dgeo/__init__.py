"""dgeo: differentiable geoscientific modelling (physics + neural network hybrids in JAX)."""

__version__ = "0.1.0"
