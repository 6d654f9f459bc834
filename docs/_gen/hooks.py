"""mkdocs hooks: what the site takes from outside docs/, and maths without a CDN.

- The example notebooks (examples/*.ipynb, committed without outputs) become the tutorial
  pages, each with a note and the figures of its last full run (examples/figures/) put after
  its title. They are not executed: a quick run takes a minute or more, too long for the build.
- The figures in examples/figures/ and benchmarks/results/ are copied to assets/, so pages
  link to the committed files themselves.
- Placeholders in pages (`{{ table:... }}`, `{{ value:... }}`, `{{ include:... }}`) are filled
  from benchmarks/results/ (docs/_gen/results.py): the numbers on the site are the files'.
- `$...$` and `$$...$$` (pymdownx.arithmatex, generic mode) become MathML when the page is
  built, which browsers draw without JavaScript, so the site needs no MathJax or KaTeX.
"""

from __future__ import annotations

import html
import importlib.util
import json
import re
import tempfile
from pathlib import Path

from latex2mathml.converter import convert as latex_to_mathml
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File

HERE = Path(__file__).resolve().parent
REPOSITORY = HERE.parents[1]

_spec = importlib.util.spec_from_file_location("dgeo_docs_results", HERE / "results.py")
results = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(results)

#: Each notebook and the figures its full run writes to examples/figures/.
NOTEBOOKS = {
    "camels_runoff": ("runoff_hydrograph.png", "runoff_nse_cdf.png"),
    "snow_inference": ("snow_basin_mean.png", "snow_map.png"),
}

NOTE = """\
> **About this page.** This is `examples/{name}.ipynb` as committed: its code and text, without
> outputs. The site does not run it (even its quick mode takes longer than the whole docs
> build), so nothing here can be stale: the figures below are the files its last full run
> wrote to `examples/figures/`, committed with it. To run it:
> `DGEO_QUICK=1 jupyter execute examples/{name}.ipynb --output /tmp/{name}_run` (quick) or
> `jupyter lab examples/` (full; see `examples/README.md`).

{figures}
"""


def _tutorial(name: str, figures: tuple[str, ...], folder: Path) -> Path:
    """A copy of the notebook with the note and its figures after the title cell."""
    notebook = json.loads((REPOSITORY / "examples" / f"{name}.ipynb").read_text())
    images = "\n".join(f"![{f}](../../assets/examples/{f})" for f in figures)
    cell = {
        "cell_type": "markdown",
        "id": "dgeo-docs-note",
        "metadata": {},
        "source": NOTE.format(name=name, figures=images).splitlines(keepends=True),
    }
    notebook["cells"].insert(1, cell)
    path = folder / "tutorials" / f"{name}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(notebook))
    return path


@event_priority(100)  # before mkdocs-jupyter turns .ipynb files into pages
def on_files(files, config):
    folder = Path(tempfile.gettempdir()) / "dgeo-docs-notebooks"
    folder.mkdir(exist_ok=True)
    for name, figures in NOTEBOOKS.items():
        _tutorial(name, figures, folder)
        # A plain File with a source folder, as mkdocs-jupyter expects of a page it renders.
        files.append(
            File(
                f"tutorials/{name}.ipynb",
                src_dir=str(folder),
                dest_dir=config.site_dir,
                use_directory_urls=config.use_directory_urls,
            )
        )
    for source, target in (
        (REPOSITORY / "examples" / "figures", "assets/examples"),
        (results.RESULTS, "assets/results"),
    ):
        for png in sorted(source.glob("*.png")):
            files.append(File.generated(config, f"{target}/{png.name}", abs_src_path=str(png)))
    return files


def on_page_markdown(markdown, page, config, files):
    if "{{" in markdown:
        return results.fill(markdown)
    return markdown


_MATH = re.compile(
    r'<(span|div) class="arithmatex">\s*(?:\\\((?P<inline>.*?)\\\)|\\\[(?P<block>.*?)\\\])\s*</\1>',
    re.DOTALL,
)


def _mathml(match: re.Match) -> str:
    block = match.group("block") is not None
    tex = html.unescape(match.group("block") if block else match.group("inline"))
    return latex_to_mathml(tex.strip(), display="block" if block else "inline")


def on_page_content(content, page, config, files):
    return _MATH.sub(_mathml, content)
