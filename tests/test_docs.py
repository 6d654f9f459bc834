"""The documentation: every public name is in the API reference, and the results pages and the
README show the numbers in benchmarks/results/.

The API check builds the site with mkdocs (the `docs` extra) and reads the inventory that
mkdocstrings writes; the others need only the generator, docs/_gen/results.py.
"""

import importlib
import importlib.util
import json
import os
import re
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

import dgeo

REPOSITORY = Path(__file__).resolve().parents[1]
DOCS = REPOSITORY / "docs"
RESULTS = REPOSITORY / "benchmarks" / "results"
SUBPACKAGES = (
    "config",
    "data",
    "distributed",
    "evaluate",
    "models",
    "nn",
    "physics",
    "plot",
    "runs",
    "solve",
    "train",
)


def _generator():
    spec = importlib.util.spec_from_file_location("dgeo_docs_results", DOCS / "_gen" / "results.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _public_names() -> list[tuple[str, str]]:
    """(package, name) for every name in dgeo.__all__ and its subpackages' __all__."""
    names = [("dgeo", name) for name in dgeo.__all__]
    for sub in SUBPACKAGES:
        module = importlib.import_module(f"dgeo.{sub}")
        names += [(f"dgeo.{sub}", name) for name in module.__all__]
    return names


@pytest.fixture(scope="module")
def inventory(tmp_path_factory) -> set[str]:
    """The identifiers the built site documents (mkdocstrings' objects.inv)."""
    pytest.importorskip("mkdocs", reason="the site needs the docs extra: pip install -e '.[docs]'")
    pytest.importorskip("mkdocstrings", reason="the docs extra: pip install -e '.[docs]'")
    site = tmp_path_factory.mktemp("site")
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert build.returncode == 0, build.stderr[-3000:]
    raw = (site / "objects.inv").read_bytes()
    body = zlib.decompress(raw.split(b"\n", 4)[4]).decode()
    return {line.split()[0] for line in body.splitlines() if line.strip()}


def test_every_public_name_in_the_api_reference(inventory):
    api_dgeo = (DOCS / "api" / "dgeo.md").read_text()
    missing = []
    for package, name in _public_names():
        if f"{package}.{name}" in inventory:
            continue
        # dgeo re-exports names documented where they are defined, and links to them.
        obj = getattr(dgeo, name) if package == "dgeo" else None
        if package == "dgeo" and name in SUBPACKAGES and (DOCS / "api" / f"{name}.md").exists():
            continue
        if obj is not None:
            home = obj.__module__.split("._")[0]
            if f"{home}.{name}" in inventory and f"[`dgeo.{name}`][{home}.{name}]" in api_dgeo:
                continue
        missing.append(f"{package}.{name}")
    assert not missing, f"not in the API reference: {missing}"


def test_every_api_page_is_in_the_navigation():
    nav = (REPOSITORY / "mkdocs.yml").read_text()
    for sub in SUBPACKAGES:
        page = DOCS / "api" / f"{sub}.md"
        assert f"::: dgeo.{sub}" in page.read_text()
        assert f"api/{sub}.md" in nav


def test_results_pages_fill_from_the_files():
    results = _generator()
    pages = sorted((DOCS / "results").glob("*.md")) + [DOCS / "index.md"]
    for page in pages:
        text = results.fill(page.read_text())
        assert not results.PLACEHOLDER.search(text), page
    jiang = json.loads((RESULTS / "jiang_local.json").read_text())
    table = results.fill("{{ table:jiang_local }}")
    assert f"| hybrid | {jiang['hybrid']['nse']['median']:.3f} |" in table


def test_unfillable_placeholders_fail():
    results = _generator()
    for text in (
        "{{ table:no_such_table }}",
        "{{ value:jiang_local.json:hybrid/nope:.3f }}",
        "{{ value:nope.json:a:.1f }}",
    ):
        with pytest.raises(results.ResultsError):
            results.fill(text)
    assert results.fill("`{{ table:NAME }}`") == "`{{ table:NAME }}`"  # shown, not filled


def test_readme_results_are_the_files_numbers():
    """The README's copy of the headline results agrees with benchmarks/results/."""
    results = _generator()
    readme = (REPOSITORY / "README.md").read_text()
    readme_rows = dict(
        re.findall(
            r"^\| (?:\*\*)?([^|*]+?)(?:\*\*)? \| (?:\*\*)?([-0-9.]+)(?:\*\*)? \|$", readme, re.M
        )
    )
    headline = results.fill("{{ table:headline_per_basin }}")
    for label, value in re.findall(r"^\| ([^|]+?) \| ([-0-9.]+) \|$", headline, re.M):
        key = "δHBV per basin (`dpl`, a short first run)" if label.startswith("δHBV") else label
        assert readme_rows.get(key) == value, (label, value)
    regional = results.fill("{{ table:headline_regional }}")
    for value in re.findall(r"\b0\.\d{3}\b", regional):
        assert value in readme, value
