"""Tests for `dgeo.data._download` against a local HTTP server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import re
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from dgeo.data._download import CAMELS_US_ARCHIVES, Archive, download_camels_us
from dgeo.data._errors import DataError

TS_ZIP = "basin_timeseries_v1p2_metForcing_obsFlow.zip"
ATTR_ZIP = "camels_attributes_v2.0.zip"
BASINS = {"01013500": "01", "02011400": "02"}
ATTR_KINDS = ("clim", "geol", "hydro", "name", "soil", "topo", "vege")


def _forcing(gauge: str) -> str:
    header = "Year Mnth Day Hr\tDayl(s)\tprcp(mm/day)\tsrad(W/m2)\ttmax(C)\ttmin(C)\tvp(Pa)"
    rows = [f"1980 01 0{d} 12\t30000\t{d}.5\t150\t{d}\t-{d}\t500" for d in range(1, 4)]
    return "\n".join(["47.2", "250", "2252000000", header, *rows, ""]) + gauge


def _streamflow(gauge: str) -> str:
    return "".join(f"{gauge} 1980 01 0{d} {100 + d}.00 A\n" for d in range(1, 4))


def _timeseries_members() -> dict[str, str]:
    members = {}
    for gauge, huc in BASINS.items():
        forcing = f"basin_mean_forcing/daymet/{huc}/{gauge}_lump_cida_forcing_leap.txt"
        members[forcing] = _forcing(gauge)
        members[f"usgs_streamflow/{huc}/{gauge}_streamflow_qc.txt"] = _streamflow(gauge)
    return members


def _attribute_members() -> dict[str, str]:
    return {
        f"camels_{kind}.txt": "gauge_id;value\n"
        + "".join(f"{g};{i}\n" for i, g in enumerate(BASINS))
        for kind in ATTR_KINDS
    }


def _zip(path: Path, members: dict[str, str], prefix: str = "") -> bytes:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        if prefix:
            zf.writestr(prefix, "")  # the official zips carry their top directory entry
        for name, text in members.items():
            zf.writestr(prefix + name, text)
    return path.read_bytes()


@dataclass
class Server:
    """A tiny file server: records requests, can cut responses short and ignore Range."""

    files: dict[str, bytes] = field(default_factory=dict)
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    cut_after: int | None = None  # bytes of body sent before dropping the connection
    cuts_left: int = 1  # how many requests get cut
    ignore_range: bool = False
    base: str = ""

    def url(self, name: str) -> str:
        return f"{self.base}/{name}"


def _handler(state: Server) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # name fixed by http.server
            state.requests.append((self.path, self.headers.get("Range")))
            data = state.files.get(self.path.lstrip("/"))
            if data is None:
                self.send_error(404, "Not Found")
                return
            start, wanted = 0, self.headers.get("Range")
            if wanted and not state.ignore_range:
                start = int(wanted.removeprefix("bytes=").split("-")[0])
                if start >= len(data):
                    self.send_response(416, "Range Not Satisfiable")
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            body = data[start:]
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if state.cut_after is not None and state.cuts_left > 0:
                state.cuts_left -= 1
                body = body[: state.cut_after]  # the connection closes when we return
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass  # keep test output quiet

    return Handler


@pytest.fixture
def server() -> Iterator[Server]:
    state = Server()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
def camels(server: Server, tmp_path: Path) -> tuple[Archive, Archive]:
    """Serve both archives in the official inner layout; return matching `Archive`s."""
    src = tmp_path / "src"
    src.mkdir()
    server.files[TS_ZIP] = _zip(src / TS_ZIP, _timeseries_members(), "basin_dataset_public_v1p2/")
    server.files[ATTR_ZIP] = _zip(src / ATTR_ZIP, _attribute_members(), "camels_attributes_v2.0/")
    ts, attrs = (replace(a, url=server.url(a.filename)) for a in CAMELS_US_ARCHIVES)
    return ts, attrs


def _check_layout(dest: Path) -> None:
    for name, text in _timeseries_members().items():
        assert (dest / name).read_text() == text
    for name, text in _attribute_members().items():
        assert (dest / "camels_attributes_v2.0" / name).read_text() == text


def test_official_archives() -> None:
    assert [a.filename for a in CAMELS_US_ARCHIVES] == [TS_ZIP, ATTR_ZIP]
    for a in CAMELS_US_ARCHIVES:
        assert a.url == f"https://gdex.ucar.edu/dataset/camels/file/{a.filename}"
        assert a.sha256 is None


def test_full_download(server: Server, camels: tuple[Archive, Archive], tmp_path: Path) -> None:
    dest = tmp_path / "camels"
    assert download_camels_us(dest, archives=camels, progress=False) == dest
    _check_layout(dest)
    assert (dest / TS_ZIP).read_bytes() == server.files[TS_ZIP]
    assert not list(dest.glob("*.part"))
    assert [r[1] for r in server.requests] == [None, None]


def test_progress_prints_hash(
    server: Server, camels: tuple[Archive, Archive], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    download_camels_us(tmp_path / "d", archives=camels, progress=True)
    assert hashlib.sha256(server.files[ATTR_ZIP]).hexdigest() in capsys.readouterr().err


def test_interrupted_download_resumes(
    server: Server, camels: tuple[Archive, Archive], tmp_path: Path
) -> None:
    server.cut_after = 100
    dest = download_camels_us(tmp_path / "d", archives=camels, progress=False)
    assert server.requests[:2] == [(f"/{TS_ZIP}", None), (f"/{TS_ZIP}", "bytes=100-")]
    assert (dest / TS_ZIP).read_bytes() == server.files[TS_ZIP]
    _check_layout(dest)


def test_resume_across_calls(
    server: Server, camels: tuple[Archive, Archive], tmp_path: Path
) -> None:
    server.cut_after, server.cuts_left = 50, 99  # every request is cut: the call gives up
    dest = tmp_path / "d"
    with pytest.raises(DataError, match=r"call again to resume") as err:
        download_camels_us(dest, archives=camels[:1], progress=False)
    assert TS_ZIP in str(err.value)
    assert (dest / f"{TS_ZIP}.part").stat().st_size == 150
    server.cuts_left, server.requests = 0, []
    download_camels_us(dest, archives=camels, progress=False)
    assert server.requests[0] == (f"/{TS_ZIP}", "bytes=150-")
    assert (dest / TS_ZIP).read_bytes() == server.files[TS_ZIP]


def test_server_ignoring_range(
    server: Server, camels: tuple[Archive, Archive], tmp_path: Path
) -> None:
    server.cut_after, server.ignore_range = 100, True
    dest = download_camels_us(tmp_path / "d", archives=camels, progress=False)
    assert server.requests[1] == (f"/{TS_ZIP}", "bytes=100-")
    assert (dest / TS_ZIP).read_bytes() == server.files[TS_ZIP]
    _check_layout(dest)


def test_complete_part_file(
    server: Server, camels: tuple[Archive, Archive], tmp_path: Path
) -> None:
    dest = tmp_path / "d"
    dest.mkdir()
    (dest / f"{TS_ZIP}.part").write_bytes(server.files[TS_ZIP])  # crashed before the rename
    download_camels_us(dest, archives=camels, progress=False)
    assert server.requests[0] == (f"/{TS_ZIP}", f"bytes={len(server.files[TS_ZIP])}-")
    _check_layout(dest)


def test_sha256_checked(server: Server, camels: tuple[Archive, Archive], tmp_path: Path) -> None:
    good = hashlib.sha256(server.files[ATTR_ZIP]).hexdigest()
    ts, attrs = camels
    pinned = replace(attrs, sha256=good.upper())
    download_camels_us(tmp_path / "ok", archives=(ts, pinned), progress=False)

    bad = replace(attrs, sha256="0" * 64)
    dest = tmp_path / "bad"
    with pytest.raises(DataError, match=re.escape(ATTR_ZIP)) as err:
        download_camels_us(dest, archives=(ts, bad), progress=False)
    assert "0" * 64 in str(err.value)
    assert good in str(err.value)
    assert not (dest / ATTR_ZIP).exists()
    assert not (dest / f"{ATTR_ZIP}.part").exists()


def test_http_404(server: Server, tmp_path: Path) -> None:
    url = server.url("missing.zip")
    with pytest.raises(DataError, match="404") as err:
        download_camels_us(tmp_path, archives=[Archive(url, "missing.zip")], progress=False)
    assert url in str(err.value)


def test_connection_refused(tmp_path: Path) -> None:
    url = "http://127.0.0.1:9/x.zip"  # discard port: nothing listens there
    with pytest.raises(DataError, match=re.escape(url)):
        download_camels_us(tmp_path, archives=[Archive(url, "x.zip")], progress=False, timeout=2)


def test_corrupt_zip(server: Server, tmp_path: Path) -> None:
    server.files["junk.zip"] = b"not a zip at all" * 10
    dest = tmp_path / "d"
    archive = Archive(server.url("junk.zip"), "junk.zip")
    with pytest.raises(DataError, match=r"junk\.zip"):
        download_camels_us(dest, archives=[archive], progress=False)
    assert not list(dest.iterdir())


@pytest.mark.parametrize(
    ("member", "prefix"),
    [("../evil.txt", ""), ("p/../../evil.txt", "p/"), ("/tmp/evil.txt", ""), ("a/../../x", "")],
)
def test_path_traversal_refused(server: Server, tmp_path: Path, member: str, prefix: str) -> None:
    src = tmp_path / "evil.zip"
    with zipfile.ZipFile(src, "w") as zf:
        zf.writestr("ok.txt", "fine")
        zf.writestr(member, "pwned")
    server.files["evil.zip"] = src.read_bytes()
    dest = tmp_path / "a" / "dest"
    archive = Archive(server.url("evil.zip"), "evil.zip", strip_prefix=prefix)
    with pytest.raises(DataError, match="escapes"):
        download_camels_us(dest, archives=[archive], progress=False)
    assert not (tmp_path / "a" / "evil.txt").exists()
    assert not (dest / "ok.txt").exists()  # nothing is written from a hostile zip


def test_attributes_at_top_level(
    server: Server, camels: tuple[Archive, Archive], tmp_path: Path
) -> None:
    server.files[ATTR_ZIP] = _zip(tmp_path / "flat.zip", _attribute_members())
    _check_layout(download_camels_us(tmp_path / "d", archives=camels, progress=False))


def test_missing_folders(server: Server, camels: tuple[Archive, Archive], tmp_path: Path) -> None:
    with pytest.raises(DataError, match="basin_mean_forcing/daymet, usgs_streamflow"):
        download_camels_us(tmp_path / "d", archives=camels[1:], progress=False)


def test_second_call_skips_download(
    server: Server, camels: tuple[Archive, Archive], tmp_path: Path
) -> None:
    dest = tmp_path / "d"
    download_camels_us(dest, archives=camels, progress=False)
    assert len(server.requests) == 2
    download_camels_us(str(dest), archives=camels, progress=False)
    assert len(server.requests) == 2
    _check_layout(dest)
    download_camels_us(dest, archives=camels, progress=False, force=True)
    assert len(server.requests) == 4
