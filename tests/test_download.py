"""The downloader against a real HTTP server on 127.0.0.1 and real folders.

The server (see ``MirrorServer`` in conftest.py) serves the real MNIST files under
``/good/`` and misbehaves in one way under each other prefix.
"""

import contextlib
import functools
import hashlib
import os
import re
import signal
import stat
import subprocess
import sys
import time
import zlib

import pytest

import digits.data.download
import digits.system.files
from digits.data.download import (
    DEFAULT_MIRRORS, FILES, HOW_TO_MIRROR, MIRROR_ENV, DownloadError, fetch_mnist, mirrors)
from digits.system.errors import DigitsError
from digits.data.mnist import SIZES, STAMP

# Short timeouts and no waiting between retries keep the tests quick.
fetch = functools.partial(fetch_mnist, progress=False, timeout=(2, 5), retries=0, backoff=0)

DECOMPRESSED = sorted(name.removesuffix(".gz") for name in FILES)


def assert_complete(folder):
    """The four decompressed files with the right checksums, the stamp that records them
    as checked, and nothing else (no temporary files)."""
    assert sorted(os.listdir(folder)) == sorted([*DECOMPRESSED, STAMP])
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


@pytest.mark.parametrize("behaviour", ["missing", "corrupt", "wrong", "html", "drop", "long"])
def test_a_failing_mirror_is_followed_by_the_next(mirror_server, tmp_path, behaviour):
    fetch(tmp_path, [mirror_server.url(behaviour), mirror_server.url("good")])
    assert_complete(tmp_path)
    for name in FILES:
        assert mirror_server.count(behaviour, name) == 1
        assert mirror_server.count("good", name) == 1


def test_a_stalled_mirror_times_out_and_the_next_is_used(mirror_server, tmp_path):
    fetch(tmp_path, [mirror_server.url("stall"), mirror_server.url("good")], timeout=(2, 1))
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
    message = str(raised.value)
    assert "\n" not in message
    start = "could not fetch train-images-idx3-ubyte.gz from any mirror: "
    assert message.startswith(start)
    # Each mirror in turn, with what went wrong there.
    said = message[len(start):].split("; ")
    assert len(said) == len(tried)
    for part, mirror in zip(said, tried):
        assert part.startswith(f"{mirror}: ")
    assert said[0].endswith(": HTTP 404 Not Found")
    assert "not valid gzip data" in said[1]
    assert "wrong checksum" in said[2]
    size = len(mirror_server.files["train-images-idx3-ubyte.gz"])
    assert re.search(rf"connection broken after [\d,]+ of {size:,} bytes", said[3])
    assert "refused" in said[4].lower()
    assert "No such file or directory" in said[5]
    assert os.listdir(folder) == []  # nothing half-written, no temp files


def test_download_error_is_a_digits_error():
    assert issubclass(DownloadError, DigitsError)


def test_server_errors_are_retried_before_giving_up(mirror_server, tmp_path):
    with pytest.raises(DownloadError, match="HTTP 503"):
        fetch(tmp_path, [mirror_server.url("error")], retries=2)
    assert mirror_server.count("error", "train-images-idx3-ubyte.gz") == 3  # 1 + 2 retries


def test_a_mirror_failing_with_server_errors_is_not_asked_for_the_other_files(mirror_server, tmp_path):
    fetch(tmp_path, [mirror_server.url("error"), mirror_server.url("good")], retries=1)
    assert_complete(tmp_path)
    assert mirror_server.count("error") == 2    # the first file, and its one retry
    assert mirror_server.count("good") == 4


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
    with pytest.raises(DownloadError, match=r"ftp://example.org/mnist/: unsupported mirror"):
        fetch(tmp_path, ["ftp://example.org/mnist/"])


def test_a_data_dir_inside_a_file_is_one_clear_error(tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(DownloadError) as raised:
        fetch(tmp_path / "a-file" / "mnist", [])
    assert str(raised.value) == (f"cannot keep MNIST in {tmp_path}/a-file/mnist: "
                                 f"{tmp_path}/a-file is a file, not a folder")


def test_a_data_dir_that_is_a_file_is_one_clear_error(tmp_path, capsys):
    from digits.app import cli

    (tmp_path / "mnist").write_text("not a folder")
    assert cli.main(["download", "--data", str(tmp_path / "mnist"), "--quiet"]) == 1
    assert capsys.readouterr().err == (f"digits download: error: cannot keep MNIST in "
                                       f"{tmp_path}/mnist: it is a file, not a folder\n")


def test_an_uncreatable_data_dir_is_a_download_error(tmp_path, monkeypatch):
    def refuse(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(digits.data.download.Path, "mkdir", refuse)
    with pytest.raises(DownloadError, match="cannot create .*/mnist: Permission denied"):
        fetch(tmp_path / "mnist", [])


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
    monkeypatch.setattr(digits.data.download, "tqdm", RecordingBar)
    fetch_mnist(tmp_path, [mirror_server.url("good")], progress=True)
    assert [bar.settings["desc"] for bar in RecordingBar.made] == list(FILES)
    for bar in RecordingBar.made:
        size = len(mirror_server.files[bar.settings["desc"]])
        assert bar.settings["total"] == bar.counted == size
        assert bar.settings["unit"] == "B" and bar.settings["unit_scale"]
        assert bar.settings["disable"] is None  # tqdm's own choice: shown on a terminal only


def test_no_progress_bar_when_asked_for_none(monkeypatch, mirror_server, tmp_path):
    RecordingBar.made = []
    monkeypatch.setattr(digits.data.download, "tqdm", RecordingBar)
    fetch(tmp_path, [mirror_server.url("good")])
    assert all(bar.settings["disable"] is True for bar in RecordingBar.made)


def test_an_interrupted_download_leaves_nothing_behind(monkeypatch, mirror_server, tmp_path):
    monkeypatch.setattr(digits.data.download, "tqdm", InterruptingBar)
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
    monkeypatch.setattr(digits.system.files.os, "open", refuse)
    with pytest.raises(DownloadError, match="cannot write .*-ubyte: Permission denied"):
        fetch(tmp_path, [mirror_server.url("good")])
    assert os.listdir(tmp_path) == []


def test_a_disk_that_fills_up_midway_leaves_no_file_behind(mirror_server, tmp_path, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(digits.system.files.os, "fsync", full)
    with pytest.raises(DownloadError, match="cannot write .*: No space left on device"):
        fetch(tmp_path, [mirror_server.url("good")])
    assert os.listdir(tmp_path) == []


def test_the_download_command_says_what_failed_in_one_message_and_exits_1(
        mirror_server, tmp_path, monkeypatch, capsys):
    from digits.app import cli

    # Only the test's two bad mirrors (--mirror, then the environment's): no public one.
    monkeypatch.setattr(digits.data.download, "DEFAULT_MIRRORS", ())
    missing, corrupt = mirror_server.url("missing"), mirror_server.url("corrupt")
    monkeypatch.setenv(MIRROR_ENV, corrupt)
    status = cli.main(["download", "--data", str(tmp_path / "mnist"), "--quiet", "--mirror", missing])
    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith("digits download: error: could not fetch ") and "Traceback" not in err
    assert missing in err and corrupt in err
    assert not (tmp_path / "mnist").exists() or os.listdir(tmp_path / "mnist") == []


# --- a mirror that accepts connections and never answers ---------------------------

def test_a_mirror_that_never_answers_is_waited_for_once_per_run(silent_server, mirror_server, tmp_path):
    fetch(tmp_path, [silent_server.url(), mirror_server.url("good")], timeout=(1, 1), retries=3)
    assert_complete(tmp_path)
    assert silent_server.connections == 1     # not once per file, nor once per retry
    assert mirror_server.count("good") == 4


def test_the_wait_for_a_silent_mirror_is_announced_with_its_limit(silent_server, mirror_server, tmp_path):
    notes = []
    fetch(tmp_path, [silent_server.url(), mirror_server.url("good")], timeout=(1, 1),
          notify=notes.append, notice_after=0.1)
    host = f"127.0.0.1:{silent_server.port}"
    # (The good mirror may be announced too, when a busy machine slows it past 0.1 s.)
    assert [note for note in notes if host in note or silent_server.url() in note] == [
        f"train-images-idx3-ubyte.gz: waiting for {host} to answer (giving up after 2 s)",
        f"train-images-idx3-ubyte.gz from {silent_server.url()}: no answer within 1 s; "
        f"not asking it again in this run",
    ]


def test_a_mirror_that_answers_at_once_is_not_announced(mirror_server, tmp_path):
    notes = []
    fetch(tmp_path, [mirror_server.url("good")], notify=notes.append, notice_after=2)
    assert notes == []


def test_a_mirror_given_up_is_named_in_the_error_of_a_later_file(
        silent_server, mnist_gz_files, tmp_path):
    partial = tmp_path / "partial"          # a mirror with the first file only
    partial.mkdir()
    (partial / "train-images-idx3-ubyte.gz").write_bytes(mnist_gz_files["train-images-idx3-ubyte.gz"])
    with pytest.raises(DownloadError) as raised:
        fetch(tmp_path / "mnist", [silent_server.url(), str(partial)], timeout=(1, 1))
    assert str(raised.value) == (
        "could not fetch train-labels-idx1-ubyte.gz from any mirror: "
        f"{silent_server.url()}: no answer within 1 s (not asked again); "
        f"{partial}: cannot open {partial}/train-labels-idx1-ubyte.gz: No such file or directory. "
        f"{HOW_TO_MIRROR}")
    assert silent_server.connections == 1


# --- no more than MNIST's size -------------------------------------------------------

class CountingFile:
    """Wraps a file being written and keeps, per target, the most bytes written to it."""

    written: dict = {}

    def __init__(self, file, target):
        self.file, self.target = file, target
        CountingFile.written.setdefault(target, 0)

    def write(self, data):
        CountingFile.written[self.target] += len(data)
        return self.file.write(data)


def test_a_copy_longer_than_mnists_file_is_stopped_at_the_first_byte_past_its_size(
        mirror_server, tmp_path, monkeypatch):
    real_atomic_file = digits.data.download.atomic_file

    @contextlib.contextmanager
    def counted(target, **kwargs):
        with real_atomic_file(target, **kwargs) as file:
            yield CountingFile(file, target.name)

    CountingFile.written = {}
    monkeypatch.setattr(digits.data.download, "atomic_file", counted)
    with pytest.raises(DownloadError) as raised:
        fetch(tmp_path, [mirror_server.url("long")])
    assert str(raised.value).endswith(
        f"{mirror_server.url('long')}: decompresses to more than the 47,040,016 bytes of "
        f"MNIST's file (stopped at the first byte past them). {HOW_TO_MIRROR}")
    assert list(CountingFile.written) == ["train-images-idx3-ubyte"]
    assert CountingFile.written["train-images-idx3-ubyte"] <= 47_040_016     # never past it
    assert os.listdir(tmp_path) == []


def test_a_mirror_announcing_more_than_a_gzip_of_mnist_can_take_is_not_read(mirror_server, tmp_path):
    with pytest.raises(DownloadError) as raised:
        fetch(tmp_path, [mirror_server.url("bloated")])
    assert str(raised.value).endswith(
        f"{mirror_server.url('bloated')}: announces 3,000,000,000 bytes, more than a gzip of "
        f"MNIST's 47,040,016 can take (47,109,160). {HOW_TO_MIRROR}")


def test_a_small_gzip_that_expands_enormously_is_decompressed_a_piece_at_a_time():
    bomb = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    data = bomb.compress(bytes(100 << 20)) + bomb.flush()        # 100 MB of zeros in 100 kB
    gunzip = digits.data.download._Gunzip(limit=10 << 20)
    pieces = []
    with pytest.raises(digits.data.download._MirrorFailed, match="more than the 10,485,760 bytes"):
        for piece in gunzip.feed(data):
            pieces.append(len(piece))
    assert max(pieces) <= digits.data.download.CHUNK_SIZE
    assert sum(pieces) <= 10 << 20


# --- interrupted downloads leave no hidden files ------------------------------------

def temporaries(folder):
    return [name for name in os.listdir(folder) if name.endswith(".part")]


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGHUP])
def test_a_download_ended_by_a_signal_leaves_no_temporary_file(mirror_server, tmp_path, signal_number):
    folder = tmp_path / "mnist"
    command = [sys.executable, "-m", "digits", "download", "--data", str(folder), "--quiet",
               "--mirror", mirror_server.url("stall")]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while not (mirror_server.count("stall") and folder.is_dir() and temporaries(folder)):
            assert time.monotonic() < deadline and process.poll() is None, "the download did not start"
            time.sleep(0.02)
        process.send_signal(signal_number)
        assert process.wait(timeout=20) == -signal_number     # ended by the signal, as before
    finally:
        if process.poll() is None:
            process.kill()
    assert temporaries(folder) == []


def test_temporary_files_left_by_a_killed_download_are_swept_by_the_next(mirror_server, tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])        # a PID that no longer runs
    gone.wait()
    alive = os.getppid()
    left = tmp_path / f".train-images-idx3-ubyte.{gone.pid}.0123456789abcdef.part"
    old_style = tmp_path / ".train-labels-idx1-ubyte.0123456789abcdef.part"
    in_progress = tmp_path / f".t10k-images-idx3-ubyte.{alive}.0123456789abcdef.part"
    for path in (left, old_style, in_progress):
        path.write_bytes(b"half a file")
    hours_ago = time.time() - 2 * 3600
    os.utime(old_style, (hours_ago, hours_ago))
    fetch(tmp_path, [mirror_server.url("good")])
    assert temporaries(tmp_path) == [in_progress.name]    # its writer still runs
