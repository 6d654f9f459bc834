"""Figures of a results Dataset (`dgeo.evaluate.results_dataset`): hydrographs with precipitation
(one water year, or one panel per water year), flow duration curves, monthly regimes, a one-page
summary per basin, peaks, skill CDFs, parameters and internal fluxes (in panels that follow
the physical model's declaration recorded in the results); and of snow storage against observed
SWE (`dgeo.evaluate.snow_correlation`). None of them assumes a particular physical model.

Every function returns a `matplotlib.figure.Figure` built without pyplot and without choosing a
backend: in a notebook the figure renders when it is the cell's value (or with ``display(fig)``),
in a script write it with `save`. Single-panel functions also accept ``ax=`` to draw into an
existing axes (the axes' figure is then returned). NaN (gaps, models without a variable) is
drawn as gaps and left out of statistics.

Hydrographs span one water year by default (`WATER_YEAR_START`: October, named by the calendar
year it ends in), the basin's wettest (`default_water_year`); precipitation (the results'
`prcp`, when present) hangs from the top on an inverted twin axis. On log discharge axes zero,
negative and tiny flows are drawn on the axis bottom, which the y label names. A model has the
same colour in every figure (its position among the results' models).
"""

# The constants (`X as X`) are public as `dgeo.plot.X` but, as before the split, not in __all__.
from ._axes import FLOW_ROOM as FLOW_ROOM
from ._axes import PRECIP_COLOR as PRECIP_COLOR
from ._axes import PRECIP_DEPTH as PRECIP_DEPTH
from ._common import DIMENSIONLESS as DIMENSIONLESS
from ._common import EFFICIENCIES as EFFICIENCIES
from ._common import METRIC_UNITS as METRIC_UNITS
from ._common import save
from ._hydrograph import hydrograph, hydrograph_years, peak_zoom
from ._internals import fluxes
from ._signatures import flow_duration, regime
from ._skill import nse_anatomy, nse_cdf, parameters
from ._snow import SNOW_COLORS as SNOW_COLORS
from ._snow import snow_basins, snow_correlations, snow_map, snow_series
from ._summary import basin_summary
from ._years import MIN_OBSERVED as MIN_OBSERVED
from ._years import WATER_YEAR_START as WATER_YEAR_START
from ._years import default_water_year, water_year

__all__ = [
    "basin_summary",
    "default_water_year",
    "flow_duration",
    "fluxes",
    "hydrograph",
    "hydrograph_years",
    "nse_anatomy",
    "nse_cdf",
    "parameters",
    "peak_zoom",
    "regime",
    "save",
    "snow_basins",
    "snow_correlations",
    "snow_map",
    "snow_series",
    "water_year",
]
