"""The book's lists of ``(x, y)`` pairs lead back to the arrays they view
(``DataSet.as_pairs`` / ``DataSet.from_pairs``), instead of being stacked again."""

import random

import numpy as np
import pytest

from digits.nn.dataset import DataSet
from digits.data.mnist import load_data_wrapper
from digits.nn.network import Network


def small_data(n=30, n_in=6, n_out=4, seed=0):
    rng = np.random.default_rng(seed)
    return DataSet(rng.random((n, n_in), dtype=np.float32), rng.integers(0, n_out, size=n), n_out)


def test_the_lists_own_pairs_give_back_the_arrays_they_view_without_a_copy():
    data = small_data()
    found = DataSet.from_pairs(data.as_pairs(one_hot=True))
    assert np.shares_memory(found.inputs, data.inputs)
    np.testing.assert_array_equal(found.inputs, data.inputs)
    np.testing.assert_array_equal(found.labels, data.labels)
    assert found.n_out == data.n_out


def test_a_slice_of_the_list_is_a_view_of_those_rows():
    data = small_data()
    found = DataSet.from_pairs(data.as_pairs(one_hot=True)[10:20])
    assert np.shares_memory(found.inputs, data.inputs)
    np.testing.assert_array_equal(found.inputs, data.inputs[10:20])
    np.testing.assert_array_equal(found.labels, data.labels[10:20])


def test_the_list_shuffled_in_place_gives_the_rows_in_its_order():
    data = small_data()
    pairs = data.as_pairs(one_hot=False)
    random.Random(3).shuffle(pairs)
    found = DataSet.from_pairs(pairs, n_out=4)
    np.testing.assert_array_equal(found.inputs, np.stack([x[:, 0] for x, _ in pairs]))
    np.testing.assert_array_equal(found.labels, [y for _, y in pairs])


def test_a_replaced_pair_is_seen_and_the_list_is_stacked_as_it_now_is():
    data = small_data()
    pairs = data.as_pairs(one_hot=True)
    new_x, new_y = np.full((6, 1), 0.5, dtype=np.float32), np.eye(4, dtype=np.float32)[:, [2]]
    pairs[7] = (new_x, new_y)
    found = DataSet.from_pairs(pairs)
    assert not np.shares_memory(found.inputs, data.inputs)
    np.testing.assert_array_equal(found.inputs[7], new_x[:, 0])
    assert found.labels[7] == 2
    np.testing.assert_array_equal(np.delete(found.inputs, 7, axis=0), np.delete(data.inputs, 7, axis=0))


def test_a_plain_list_of_the_same_pairs_gives_the_same_numbers():
    data = small_data()
    found = DataSet.from_pairs(list(data.as_pairs(one_hot=True)))
    np.testing.assert_array_equal(found.inputs, data.inputs)
    np.testing.assert_array_equal(found.labels, data.labels)


def test_int_label_pairs_take_the_number_of_classes_they_are_given():
    data = small_data(n_out=4)
    assert DataSet.from_pairs(data.as_pairs(one_hot=False), n_out=10).n_out == 10


def test_one_hot_columns_are_read_only_so_the_labels_cannot_drift_from_the_arrays():
    _, y = small_data().as_pairs(one_hot=True)[0]
    with pytest.raises(ValueError):
        y[0, 0] = 0.5


def test_an_empty_slice_is_refused_as_an_empty_data_set():
    from digits.system.errors import UsageError
    with pytest.raises(UsageError, match="empty"):
        DataSet.from_pairs(small_data().as_pairs(one_hot=True)[:0])


def test_training_on_a_shuffled_list_equals_training_on_its_rows():
    data = small_data(n=60)
    pairs = data.as_pairs(one_hot=True)
    order = list(range(60))
    random.Random(1).shuffle(order)
    shuffled = pairs[:0]
    shuffled.extend(pairs[i] for i in order)
    from_list, from_rows = Network([6, 5, 4], seed=2), Network([6, 5, 4], seed=2)
    from_list.SGD(shuffled, 2, 10, 0.5)
    from_rows.SGD(data[np.array(order)], 2, 10, 0.5)
    for a, b in zip(from_list.weights + from_list.biases, from_rows.weights + from_rows.biases):
        np.testing.assert_array_equal(a, b)


def test_the_loaders_training_list_leads_back_to_the_loaded_arrays(mnist_data_dir):
    training_data, _, test_data = load_data_wrapper(mnist_data_dir)
    training = DataSet.from_pairs(training_data)
    assert len(training) == 50_000
    assert np.shares_memory(training.inputs, training_data[0][0])
    assert training.labels[0] == 5
    test = DataSet.from_pairs(test_data, n_out=10)
    assert np.shares_memory(test.inputs, test_data[-1][0]) and test.labels[0] == 7
