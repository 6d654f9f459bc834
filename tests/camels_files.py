"""Writers of small CAMELS-format files for error-case tests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

FORCING_HEADER = "Year Mnth Day Hr dayl(s) prcp(mm/day) srad(W/m2) swe(mm) tmax(C) tmin(C) vp(Pa)"
ATTRIBUTE_TABLES = {
    "clim": "p_mean;aridity;high_prec_timing\n{}3.1;0.6;son",
    "geol": "geol_1st_class;carbonate_rocks_frac\n{}Acid plutonic rocks;0",
    "hydro": "q_mean;runoff_ratio\n{}1.7;0.5",
    "name": "huc_02;gauge_name\n{}01;Test River, Maine",
    "soil": "soil_depth_pelletier;sand_frac\n{}7.4;27.8",
    "topo": "gauge_lat;gauge_lon;elev_mean;area_gages2\n{}44.8;-67.9;133.0;573.6",
    "vege": "frac_forest;dom_land_cover\n{}0.9;    Mixed Forests",
}


def forcing_lines(start: str = "2000-01-01", days: int = 5) -> list[str]:
    return [
        f"{d.year} {d.month:02d} {d.day:02d} 12\t30000.0\t{i:.2f}\t150.0\t0.00\t{5 + i:.2f}\t{-2 + i:.2f}\t500.0"
        for i, d in enumerate(pd.date_range(start, periods=days, freq="D"))
    ]


def flow_lines(basin: str, start: str = "2000-01-01", days: int = 5) -> list[str]:
    return [
        f"{basin} {d.year} {d.month:02d} {d.day:02d} {100.0 + i:8.2f} A"
        for i, d in enumerate(pd.date_range(start, periods=days, freq="D"))
    ]


def write_basin(
    root: Path,
    basin: str = "01000001",
    huc: str = "01",
    header: list[str] | None = None,
    forcing: list[str] | None = None,
    flow: list[str] | None = None,
) -> tuple[Path, Path]:
    """Write one basin's forcing and flow files; returns their paths."""
    fdir = root / "basin_mean_forcing" / "daymet" / huc
    qdir = root / "usgs_streamflow" / huc
    fdir.mkdir(parents=True, exist_ok=True)
    qdir.mkdir(parents=True, exist_ok=True)
    header = ["  44.80", " 133.00", " 100000000", FORCING_HEADER] if header is None else header
    fpath = fdir / f"{basin}_lump_cida_forcing_leap.txt"
    qpath = qdir / f"{basin}_streamflow_qc.txt"
    fpath.write_text("\n".join(header + (forcing_lines() if forcing is None else forcing)) + "\n")
    qpath.write_text("\n".join(flow_lines(basin) if flow is None else flow) + "\n")
    return fpath, qpath


def write_attributes(root: Path, basins: list[str]) -> None:
    folder = root / "camels_attributes_v2.0"
    folder.mkdir(parents=True, exist_ok=True)
    for name, template in ATTRIBUTE_TABLES.items():
        head, row = template.split("\n")
        body = "\n".join(row.format(f"{b};") for b in basins)
        (folder / f"camels_{name}.txt").write_text(f"gauge_id;{head}\n{body}\n")
