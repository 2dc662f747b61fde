"""The downloader against a real HTTP server on 127.0.0.1 and real folders.

The server (see ``MirrorServer`` in conftest.py) serves the real MNIST files under
``/good/`` and misbehaves in one way under each other prefix.
"""

import functools
import hashlib
import os
import re
import stat

import pytest

import digits.download
import digits.files
from digits.download import (
    DEFAULT_MIRRORS, FILES, MIRROR_ENV, DownloadError, fetch_mnist, mirrors)
from digits.errors import DigitsError

# Short timeouts and no waiting between retries keep the tests quick.
fetch = functools.partial(fetch_mnist, progress=False, timeout=(2, 5), retries=0, backoff=0)

DECOMPRESSED = sorted(name.removesuffix(".gz") for name in FILES)


def assert_complete(folder):
    """The four decompressed files with the right checksums, and nothing else (no temp files)."""
    assert sorted(os.listdir(folder)) == DECOMPRESSED
    for name, sha256 in FILES.items():
        content = (folder / name.removesuffix(".gz")).read_bytes()
        assert hashlib.sha256(content).hexdigest() == sha256, name


def test_fetches_the_four_files_from_a_good_mirror(mirror_server, tmp_path):
    folder = tmp_path / "data" / "mnist"
    assert fetch(folder, [mirror_server.url("good")]) == folder
    assert_complete(folder)
    assert mirror_server.count("good") == 4


def test_downloaded_files_get_the_permissions_of_any_new_file(mirror_server, tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    fetch(tmp_path, [mirror_server.url("good")])
    for name in DECOMPRESSED:
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o666 & ~umask


def test_a_string_data_dir_and_a_single_mirror_string_are_accepted(mirror_server, tmp_path):
    result = fetch(str(tmp_path), mirror_server.url("good"))
    assert result == tmp_path
    assert_complete(tmp_path)


@pytest.mark.parametrize("behaviour", ["missing", "error", "corrupt", "wrong", "html", "drop"])
def test_a_failing_mirror_is_followed_by_the_next(mirror_server, tmp_path, behaviour):
    fetch(tmp_path, [mirror_server.url(behaviour), mirror_server.url("good")])
    assert_complete(tmp_path)
    for name in FILES:
        assert mirror_server.count(behaviour, name) == 1
        assert mirror_server.count("good", name) == 1


def test_a_stalled_mirror_times_out_and_the_next_is_used(mirror_server, tmp_path):
    fetch(tmp_path, [mirror_server.url("stall"), mirror_server.url("good")], timeout=(2, 0.3))
    assert_complete(tmp_path)


def test_a_refused_connection_is_followed_by_the_next_mirror(unused_port_url, mirror_server, tmp_path):
    fetch(tmp_path, [unused_port_url, mirror_server.url("good")])
    assert_complete(tmp_path)


def test_when_every_mirror_fails_the_error_names_each_and_why(mirror_server, unused_port_url, tmp_path):
    tried = [mirror_server.url("missing"), mirror_server.url("corrupt"), mirror_server.url("wrong"),
             mirror_server.url("drop"), unused_port_url, str(tmp_path / "no-such-folder")]
    folder = tmp_path / "mnist"
    with pytest.raises(DownloadError) as raised:
        fetch(folder, tried)
    lines = str(raised.value).splitlines()
    assert lines[0] == "could not fetch train-images-idx3-ubyte.gz from any mirror:"
    assert len(lines) == 1 + len(tried)
    for line, mirror in zip(lines[1:], tried):
        assert line.startswith(f"  {mirror} : ")
    assert lines[1].endswith("HTTP 404 Not Found")
    assert "not valid gzip data" in lines[2]
    assert "wrong checksum" in lines[3]
    assert re.search(r"connection broken after [\d,]+ of 9,719,438 bytes", lines[4])
    assert "refused" in lines[5].lower()
    assert "No such file or directory" in lines[6]
    assert os.listdir(folder) == []  # nothing half-written, no temp files


def test_download_error_is_a_digits_error():
    assert issubclass(DownloadError, DigitsError)


def test_server_errors_are_retried_before_giving_up(mirror_server, tmp_path):
    with pytest.raises(DownloadError, match="HTTP 503"):
        fetch(tmp_path, [mirror_server.url("error")], retries=2)
    assert mirror_server.count("error", "train-images-idx3-ubyte.gz") == 3  # 1 + 2 retries


def test_files_already_valid_are_not_fetched_again(mirror_server, tmp_path):
    fetch(tmp_path, [mirror_server.url("good")])
    modified = {name: (tmp_path / name).stat().st_mtime_ns for name in DECOMPRESSED}
    fetch(tmp_path, [mirror_server.url("good")])
    assert mirror_server.count() == 4
    assert {name: (tmp_path / name).stat().st_mtime_ns for name in DECOMPRESSED} == modified


def test_valid_files_need_no_mirror_at_all(copy_mnist, tmp_path):
    folder = copy_mnist(tmp_path / "mnist")
    assert fetch(folder, []) == folder


@pytest.mark.parametrize("damage", ["truncate", "garble"])
def test_an_existing_invalid_file_is_fetched_again(mirror_server, copy_mnist, tmp_path, damage):
    folder = copy_mnist(tmp_path / "mnist")
    labels = folder / "train-labels-idx1-ubyte"
    content = labels.read_bytes()
    labels.write_bytes(content[:1000] if damage == "truncate" else content[:-1] + b"\xff")
    fetch(folder, [mirror_server.url("good")])
    assert mirror_server.requests == [("good", "train-labels-idx1-ubyte.gz")]
    assert_complete(folder)


def test_a_directory_mirror(shared_mnist_dir, tmp_path):
    folder = tmp_path / "mnist"
    fetch(folder, [str(tmp_path / "empty"), str(shared_mnist_dir)])
    assert_complete(folder)


def test_a_file_url_mirror(shared_mnist_dir, tmp_path):
    folder = tmp_path / "mnist"
    fetch(folder, [shared_mnist_dir.as_uri()])
    assert_complete(folder)


def test_a_directory_mirror_with_a_wrong_file_is_skipped(shared_mnist_dir, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "train-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8b but not really gzip")
    folder = tmp_path / "mnist"
    fetch(folder, [str(bad), str(shared_mnist_dir)])
    assert_complete(folder)


def test_an_unsupported_mirror_scheme_is_reported(tmp_path):
    with pytest.raises(DownloadError, match=r"ftp://example.org/mnist/ : unsupported mirror"):
        fetch(tmp_path, ["ftp://example.org/mnist/"])


def test_an_uncreatable_data_dir_is_a_download_error(tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(DownloadError, match="cannot create"):
        fetch(tmp_path / "a-file" / "mnist", [])


class RecordingBar:
    """Stands in for tqdm: records its settings and the byte counts it is given."""

    made = []

    def __init__(self, **settings):
        self.settings = settings
        self.counted = 0
        RecordingBar.made.append(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, count):
        self.counted += count


class InterruptingBar(RecordingBar):
    """A progress bar during whose first update the user presses Ctrl-C."""

    def update(self, count):
        raise KeyboardInterrupt


def test_progress_is_counted_in_compressed_bytes(monkeypatch, mirror_server, tmp_path):
    RecordingBar.made = []
    monkeypatch.setattr(digits.download, "tqdm", RecordingBar)
    fetch_mnist(tmp_path, [mirror_server.url("good")], progress=True)
    assert [bar.settings["desc"] for bar in RecordingBar.made] == list(FILES)
    for bar in RecordingBar.made:
        size = len(mirror_server.files[bar.settings["desc"]])
        assert bar.settings["total"] == bar.counted == size
        assert bar.settings["unit"] == "B" and bar.settings["unit_scale"]
        assert bar.settings["disable"] is None  # tqdm's own choice: shown on a terminal only


def test_no_progress_bar_when_asked_for_none(monkeypatch, mirror_server, tmp_path):
    RecordingBar.made = []
    monkeypatch.setattr(digits.download, "tqdm", RecordingBar)
    fetch(tmp_path, [mirror_server.url("good")])
    assert all(bar.settings["disable"] is True for bar in RecordingBar.made)


def test_an_interrupted_download_leaves_nothing_behind(monkeypatch, mirror_server, tmp_path):
    monkeypatch.setattr(digits.download, "tqdm", InterruptingBar)
    with pytest.raises(KeyboardInterrupt):
        fetch(tmp_path, [mirror_server.url("good")])
    assert os.listdir(tmp_path) == []


def test_without_mirrors_the_environment_variable_is_used(monkeypatch, mirror_server, tmp_path):
    monkeypatch.setenv(MIRROR_ENV, mirror_server.url("good"))
    fetch(tmp_path)
    assert_complete(tmp_path)
    assert mirror_server.count("good") == 4


# --- the order of the mirrors -------------------------------------------------------

def test_default_mirrors_are_the_public_ones_in_order():
    assert DEFAULT_MIRRORS == [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ]


def test_mirrors_are_the_flag_then_the_environment_then_the_defaults(monkeypatch):
    monkeypatch.setenv(MIRROR_ENV, "/srv/mnist")
    assert mirrors("http://flag.example/mnist/") == ["http://flag.example/mnist/", "/srv/mnist", *DEFAULT_MIRRORS]
    assert mirrors(["http://flag.example/mnist/"]) == ["http://flag.example/mnist/", "/srv/mnist", *DEFAULT_MIRRORS]


def test_mirrors_without_flag_or_environment_are_the_defaults(monkeypatch):
    monkeypatch.delenv(MIRROR_ENV, raising=False)
    assert mirrors() == DEFAULT_MIRRORS
    assert mirrors([None]) == DEFAULT_MIRRORS  # the CLI passes [args.mirror]
    monkeypatch.setenv(MIRROR_ENV, "")
    assert mirrors() == DEFAULT_MIRRORS


def test_mirrors_named_twice_are_tried_once_at_their_first_place(monkeypatch):
    monkeypatch.setenv(MIRROR_ENV, DEFAULT_MIRRORS[1].rstrip("/"))
    assert mirrors(DEFAULT_MIRRORS[2]) == [
        DEFAULT_MIRRORS[2], DEFAULT_MIRRORS[1].rstrip("/"), DEFAULT_MIRRORS[0]]


def test_a_folder_it_may_not_write_in_is_one_clear_error(mirror_server, tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(digits.files.os, "open", refuse)
    with pytest.raises(DownloadError, match="cannot write .*-ubyte: Permission denied"):
        fetch(tmp_path, [mirror_server.url("good")])
    assert os.listdir(tmp_path) == []


def test_a_disk_that_fills_up_midway_leaves_no_file_behind(mirror_server, tmp_path, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(digits.files.os, "fsync", full)
    with pytest.raises(DownloadError, match="cannot write .*: No space left on device"):
        fetch(tmp_path, [mirror_server.url("good")])
    assert os.listdir(tmp_path) == []


def test_the_download_command_says_what_failed_in_one_message_and_exits_1(
        mirror_server, tmp_path, monkeypatch, capsys):
    from digits import cli

    # Only the test's two bad mirrors (--mirror, then the environment's): no public one.
    monkeypatch.setattr(digits.download, "DEFAULT_MIRRORS", ())
    missing, corrupt = mirror_server.url("missing"), mirror_server.url("corrupt")
    monkeypatch.setenv(MIRROR_ENV, corrupt)
    status = cli.main(["download", "--data", str(tmp_path / "mnist"), "--quiet", "--mirror", missing])
    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith("digits download: error: ") and "Traceback" not in err
    assert missing in err and corrupt in err
    assert not (tmp_path / "mnist").exists() or os.listdir(tmp_path / "mnist") == []
