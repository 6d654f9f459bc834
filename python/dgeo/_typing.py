"""The array shapes and number types of dgeo's signatures, in one place (jaxtyping aliases).

Axis names: `time` is days; `*basin` is any number of basin axes (none for one basin);
`features` the columns a network sees; `attributes` a basin's static attributes. The test
suite checks every annotation at run time (jaxtyping with beartype, `pyproject.toml`), and
with it that an axis name has one length across the arguments and result of a call.
"""

import numpy as np
from jaxtyping import Array, Float

#: Values over basins: a state, forcing, parameter or flux for every basin at one time.
Basins = Float[Array, "*basin"]

#: Daily values over basins, time first: forcing, states or fluxes of every basin on every day.
BasinSeries = Float[Array, "time *basin"]

#: One basin's named daily series (forcings in; discharge, states and fluxes out).
Inputs = dict[str, Float[Array, " time"]]

#: A basin's static attributes, one value each.
Attributes = Float[Array, " attributes"]

#: A multivariate daily series, the input and output of the neural blocks.
FeatureSeries = Float[Array, "time features"]

#: One number held in an array (a loss, a parameter of one basin).
Scalar = Float[Array, ""]

#: An integer from Python or NumPy (indices and counts read from arrays are NumPy integers).
Integer = int | np.integer

#: What a NumPy reduction returns: an array, or a NumPy scalar where it reduced a 1-D series.
NumPyValues = np.ndarray | np.generic
