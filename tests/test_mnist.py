"""The IDX parser and the MNIST loader, on small files written here and on the real data."""

import gzip
import struct

import numpy as np
import pytest

from digits.nn.dataset import DataSet
from digits.system.errors import DigitsError, UsageError
from digits.data.mnist import IdxError, MissingDataError, load_data, load_data_wrapper, read_idx


# --- read_idx on small files ------------------------------------------------------

@pytest.mark.parametrize("name", ["images-idx3-ubyte", "images-idx3-ubyte.gz"])
def test_read_idx_reads_images_raw_and_gzipped(write_idx, tiny_images, name):
    images = read_idx(write_idx(name, tiny_images))
    assert images.dtype == np.uint8
    assert images.shape == (3, 4, 5)
    np.testing.assert_array_equal(images, tiny_images)


@pytest.mark.parametrize("name", ["labels-idx1-ubyte", "labels-idx1-ubyte.gz"])
def test_read_idx_reads_labels_raw_and_gzipped(write_idx, name):
    labels = read_idx(write_idx(name, [5, 0, 4, 1, 9]))
    assert labels.dtype == np.uint8
    np.testing.assert_array_equal(labels, [5, 0, 4, 1, 9])


def test_read_idx_returns_a_writable_array(write_idx, tiny_images):
    images = read_idx(write_idx("images-idx3-ubyte", tiny_images))
    images[0, 0, 0] = 7
    assert images[0, 0, 0] == 7


def test_bad_magic_number_is_reported_with_its_value(write_idx, tiny_images):
    # The images' magic number written little-endian, a classic mistake.
    path = write_idx("images-idx3-ubyte", tiny_images, magic=0x03080000)
    with pytest.raises(IdxError, match="magic number 0x03080000"):
        read_idx(path)


@pytest.mark.parametrize("name", ["images-idx3-ubyte", "images-idx3-ubyte.gz"])
def test_truncated_data_is_reported(write_idx, tiny_images, name):
    path = write_idx(name, tiny_images, cut=1)
    with pytest.raises(IdxError, match=r"truncated: the header promises 3 x 4 x 5 bytes"):
        read_idx(path)


def test_truncated_header_is_reported(write_idx):
    path = write_idx("labels-idx1-ubyte", [1, 2, 3], cut=5)  # 8 header bytes + 3, less 5
    with pytest.raises(IdxError, match="truncated: 6 bytes, the header alone takes 8"):
        read_idx(path)


def test_trailing_bytes_are_reported(write_idx):
    path = write_idx("labels-idx1-ubyte", [1, 2, 3], extra=b"\x00\x00")
    with pytest.raises(IdxError, match="2 unexpected trailing bytes"):
        read_idx(path)


@pytest.mark.parametrize("name", ["labels-idx1-ubyte", "labels-idx1-ubyte.gz"])
def test_empty_file_is_reported(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(gzip.compress(b"") if name.endswith(".gz") else b"")
    with pytest.raises(IdxError, match="empty"):
        read_idx(path)


def test_gz_name_that_is_not_gzip_is_reported(write_idx):
    raw = write_idx("labels-idx1-ubyte", [1, 2, 3])
    path = raw.rename(raw.with_name("labels-idx1-ubyte.gz"))  # raw IDX under a .gz name
    with pytest.raises(IdxError, match="not a valid gzip file"):
        read_idx(path)


def test_truncated_gzip_is_reported(write_idx, tiny_images):
    path = write_idx("images-idx3-ubyte.gz", tiny_images)
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(IdxError, match="not a valid gzip file"):
        read_idx(path)


def test_a_header_whose_sizes_overflow_when_multiplied_is_reported(tmp_path):
    # 2**22 x 2**22 x 2**20 is 2**64 bytes: in 64-bit arithmetic it wraps to 0, which
    # matched this file of a header and nothing else.
    path = tmp_path / "images-idx3-ubyte"
    path.write_bytes(struct.pack(">IIII", 0x00000803, 2**22, 2**22, 2**20))
    with pytest.raises(IdxError) as raised:
        read_idx(path)
    assert str(raised.value) == (
        f"{path}: truncated: the header promises 4194304 x 4194304 x 1048576 bytes of data "
        f"(18,446,744,073,709,551,632 bytes in all) but the file has 16")


def test_missing_file_is_reported(tmp_path):
    with pytest.raises(IdxError, match="no such file"):
        read_idx(tmp_path / "nowhere-idx1-ubyte")


@pytest.mark.parametrize("extra, cut, magic", [(b"\x00", 0, None), (b"", 2, None), (b"", 0, 0x0801)])
def test_idx_errors_are_one_line_naming_the_file(write_idx, tiny_images, extra, cut, magic):
    path = write_idx("images-idx3-ubyte", tiny_images, magic=magic, extra=extra, cut=cut)
    with pytest.raises(DigitsError) as raised:
        read_idx(path)
    message = str(raised.value)
    assert str(path) in message
    assert "\n" not in message


# --- read_idx on the real files -----------------------------------------------------

@pytest.mark.parametrize("name, shape", [
    ("train-images-idx3-ubyte.gz", (60_000, 28, 28)),
    ("train-labels-idx1-ubyte.gz", (60_000,)),
    ("t10k-images-idx3-ubyte.gz", (10_000, 28, 28)),
    ("t10k-labels-idx1-ubyte.gz", (10_000,)),
])
def test_real_mnist_files_have_the_published_shapes(shared_mnist_dir, name, shape):
    array = read_idx(shared_mnist_dir / name)
    assert array.shape == shape
    assert array.dtype == np.uint8


def test_real_images_use_the_whole_pixel_range(mnist_data_dir):
    images = read_idx(mnist_data_dir / "train-images-idx3-ubyte")
    assert images.min() == 0 and images.max() == 255
    # White digits on black: the background, the corners of every image, is 0.
    assert not images[:, 0, 0].any() and not images[:, -1, -1].any()


def test_real_labels_are_digits_in_sane_proportions(mnist_data_dir):
    labels = read_idx(mnist_data_dir / "train-labels-idx1-ubyte")
    counts = np.bincount(labels, minlength=10)
    assert len(counts) == 10
    # Each digit is between 9 % and 11.3 % of the training set (5: 5,421; 1: 6,742).
    assert counts.min() == 5_421 and counts.max() == 6_742
    assert labels[0] == 5  # the book's first example is a five
    assert read_idx(mnist_data_dir / "t10k-labels-idx1-ubyte")[0] == 7


# --- load_data --------------------------------------------------------------------
# Files written here are not MNIST's, so loading them takes verify=False (checking
# the real files against MNIST's checksums is pinned in test_data_checks.py).

def test_load_data_gives_the_books_split(mnist):
    training, validation, test = mnist
    assert all(isinstance(data, DataSet) for data in mnist)
    assert [len(training), len(validation), len(test)] == [50_000, 10_000, 10_000]
    for data in mnist:
        assert data.inputs.shape == (len(data), 784)
        assert data.inputs.dtype == np.float32
        assert data.labels.dtype == np.int64
        assert data.n_out == 10


def test_load_data_scales_pixels_to_the_unit_interval(mnist, mnist_data_dir):
    training, validation, test = mnist
    images = read_idx(mnist_data_dir / "train-images-idx3-ubyte").reshape(60_000, 784)
    assert np.array_equal(training.inputs, images[:50_000] / np.float32(255))
    assert training.inputs.min() == 0.0 and training.inputs.max() == 1.0
    # The published mean of the 60,000 training images scaled to [0, 1].
    mean = (training.inputs.sum(dtype=np.float64) + validation.inputs.sum(dtype=np.float64)) / (60_000 * 784)
    assert mean == pytest.approx(0.1307, abs=5e-5)


def test_validation_data_are_the_last_10000_training_images(mnist, mnist_data_dir):
    _, validation, _ = mnist
    images = read_idx(mnist_data_dir / "train-images-idx3-ubyte").reshape(60_000, 784)
    labels = read_idx(mnist_data_dir / "train-labels-idx1-ubyte")
    assert np.array_equal(validation.inputs, images[50_000:] / np.float32(255))
    np.testing.assert_array_equal(validation.labels, labels[50_000:])


def test_test_data_are_the_t10k_files(mnist, mnist_data_dir):
    _, _, test = mnist
    images = read_idx(mnist_data_dir / "t10k-images-idx3-ubyte").reshape(10_000, 784)
    assert np.array_equal(test.inputs, images / np.float32(255))
    np.testing.assert_array_equal(test.labels, read_idx(mnist_data_dir / "t10k-labels-idx1-ubyte"))


def test_load_data_reads_the_gz_files_when_only_those_exist(shared_mnist_dir, mnist):
    training, validation, test = load_data(shared_mnist_dir)
    for loaded, expected in zip((training, validation, test), mnist):
        assert np.array_equal(loaded.inputs, expected.inputs)
        np.testing.assert_array_equal(loaded.labels, expected.labels)


def test_load_data_prefers_the_decompressed_files(copy_mnist, tmp_path):
    folder = copy_mnist(tmp_path / "mnist")
    for name in ("train-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (folder / f"{name}.gz").write_bytes(b"a stale, broken download")
    training, _, test = load_data(folder)
    assert len(training) == 50_000 and len(test) == 10_000


def test_load_data_in_float64(mnist_data_dir, mnist):
    training, _, _ = load_data(mnist_data_dir, dtype=np.float64)
    assert training.inputs.dtype == np.float64
    np.testing.assert_allclose(training.inputs[:100], mnist[0].inputs[:100], atol=1e-7)


def test_load_data_rejects_an_integer_dtype(mnist_data_dir):
    with pytest.raises(UsageError, match="floating-point"):
        load_data(mnist_data_dir, dtype=np.int32)


def test_missing_data_says_how_to_download_it(tmp_path):
    with pytest.raises(MissingDataError) as raised:
        load_data(tmp_path)
    message = str(raised.value)
    assert "make data" in message and "python -m digits download" in message
    assert str(tmp_path) in message


def test_image_and_label_counts_must_agree(write_idx, tiny_images):
    folder = write_idx("train-images-idx3-ubyte", tiny_images).parent
    write_idx("train-labels-idx1-ubyte", [1, 2])
    with pytest.raises(IdxError, match="has 3 images but train-labels-idx1-ubyte has 2 labels"):
        load_data(folder, verify=False)


def test_a_labels_file_in_place_of_images_is_reported(write_idx):
    folder = write_idx("train-images-idx3-ubyte", [1, 2, 3]).parent
    write_idx("train-labels-idx1-ubyte", [1, 2, 3])
    with pytest.raises(IdxError, match="holds labels, not images"):
        load_data(folder, verify=False)


def test_labels_must_be_digits(write_idx, tiny_images):
    folder = write_idx("train-images-idx3-ubyte", tiny_images).parent
    write_idx("train-labels-idx1-ubyte", [1, 10, 3])
    with pytest.raises(IdxError, match="label 10 is not a digit"):
        load_data(folder, verify=False)


def test_too_few_training_images_for_the_books_split(write_idx, tiny_images):
    folder = write_idx("train-images-idx3-ubyte", tiny_images).parent
    write_idx("train-labels-idx1-ubyte", [1, 2, 3])
    write_idx("t10k-images-idx3-ubyte", tiny_images)
    write_idx("t10k-labels-idx1-ubyte", [1, 2, 3])
    with pytest.raises(IdxError, match="needs more than 50,000"):
        load_data(folder, verify=False)


# --- load_data_wrapper: the book's format ---------------------------------------------

def test_load_data_wrapper_gives_the_books_pairs(mnist_data_dir, mnist):
    training_data, validation_data, test_data = load_data_wrapper(mnist_data_dir)
    assert [len(training_data), len(validation_data), len(test_data)] == [50_000, 10_000, 10_000]

    x, y = training_data[0]
    assert x.shape == (784, 1) and x.dtype == np.float32
    assert y.shape == (10, 1)
    assert y.sum() == 1 and y[5, 0] == 1  # the first training image is a five
    np.testing.assert_array_equal(x[:, 0], mnist[0].inputs[0])

    for pairs, expected in ((validation_data, mnist[1]), (test_data, mnist[2])):
        x, y = pairs[-1]
        assert x.shape == (784, 1)
        assert type(y) is int and y == expected.labels[-1]
    assert test_data[0][1] == 7
