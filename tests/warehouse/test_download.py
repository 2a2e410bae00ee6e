import hashlib
import http.server
import io
import threading
import zipfile
from functools import partial

import pytest

from recommender.warehouse.download import DownloadError, download
from tests.movielens_fixtures import make_movielens


@pytest.fixture
def grouplens(tmp_path):
    """A local HTTP server with ml-latest-small.zip and its .md5, like files.grouplens.org."""
    site = tmp_path / "site"
    site.mkdir()
    source = make_movielens(tmp_path / "src" / "ml-latest-small")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for f in source.iterdir():
            zf.write(f, f"ml-latest-small/{f.name}")
    payload = buffer.getvalue()
    (site / "ml-latest-small.zip").write_bytes(payload)
    (site / "ml-latest-small.zip.md5").write_text(f"{hashlib.md5(payload).hexdigest()}  ml-latest-small.zip\n")
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield site, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_download_verifies_and_unpacks(grouplens, tmp_path):
    _, url = grouplens
    folder = download("ml-latest-small", tmp_path / "raw", base_url=url, progress=False)
    assert folder == tmp_path / "raw" / "ml-latest-small"
    assert (folder / "ratings.csv").exists() and (folder / "movies.csv").exists()
    assert [p.name for p in (tmp_path / "raw").iterdir()] == ["ml-latest-small"]  # no temp folders left


def test_bad_checksum_leaves_nothing(grouplens, tmp_path):
    site, url = grouplens
    (site / "ml-latest-small.zip.md5").write_text("0" * 32)
    with pytest.raises(DownloadError, match="does not match"):
        download("ml-latest-small", tmp_path / "raw", base_url=url, progress=False)
    assert list((tmp_path / "raw").iterdir()) == []


def test_network_error_leaves_nothing(grouplens, tmp_path):
    _, url = grouplens
    with pytest.raises(DownloadError, match="download failed"):
        download("ml-latest-small", tmp_path / "raw", base_url=url + "/missing", progress=False)
    with pytest.raises(DownloadError, match="download failed"):
        download("ml-latest-small", tmp_path / "raw2", base_url="http://127.0.0.1:9", progress=False)
    assert list((tmp_path / "raw").iterdir()) == []


def test_unknown_dataset():
    with pytest.raises(DownloadError, match="unknown data set"):
        download("ml-1b", "/tmp")


def test_every_edition_unpacks_to_its_own_folder(grouplens, tmp_path):
    """ml-10m's zip holds ml-10M100K/ with ratings.dat: the download returns that folder, and
    a second call finds it there without downloading again."""
    site, url = grouplens
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("ml-10M100K/ratings.dat", "1::1::5::978300760\n")
        zf.writestr("ml-10M100K/movies.dat", "1::Toy Story (1995)::Animation\n")
    payload = buffer.getvalue()
    (site / "ml-10m.zip").write_bytes(payload)
    (site / "ml-10m.zip.md5").write_text(f"{hashlib.md5(payload).hexdigest()}  ml-10m.zip\n")
    folder = download("ml-10m", tmp_path / "raw", base_url=url, progress=False)
    assert folder == tmp_path / "raw" / "ml-10M100K" and (folder / "ratings.dat").exists()
    (site / "ml-10m.zip").unlink()  # found on disk: no second download
    assert download("ml-10m", tmp_path / "raw", base_url=url, progress=False) == folder


def test_an_archive_without_the_editions_ratings_is_refused(grouplens, tmp_path):
    site, url = grouplens
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("ml-1m/README", "no ratings here\n")
    payload = buffer.getvalue()
    (site / "ml-1m.zip").write_bytes(payload)
    (site / "ml-1m.zip.md5").write_text(hashlib.md5(payload).hexdigest())
    with pytest.raises(DownloadError, match=r"has no ml-1m/ratings.dat"):
        download("ml-1m", tmp_path / "raw", base_url=url, progress=False)
    assert list((tmp_path / "raw").iterdir()) == []
