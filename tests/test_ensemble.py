"""Several networks voting (digits.nn.ensemble), the rule classify, evaluate and serve share."""

import numpy as np

from digits.nn.ensemble import answers_and_shares, vote, vote_answers


def outputs_reading(*digits, sure=0.9):
    """One (10, 1) output per network, each reading its digit with the given sureness."""
    columns = []
    for digit in digits:
        column = np.full((10, 1), (1 - sure) / 9)
        column[digit] = sure
        columns.append(column)
    return columns


def test_the_digit_most_networks_read_wins():
    assert vote(outputs_reading(7, 7, 3)).tolist() == [7]


def test_a_tie_goes_to_the_digit_its_voters_were_surer_of():
    unsure_seven = outputs_reading(7, sure=0.4)[0]
    sure_three = outputs_reading(3, sure=0.95)[0]
    assert vote([unsure_seven, sure_three]).tolist() == [3]
    assert vote([unsure_seven, sure_three, outputs_reading(7, sure=0.3)[0]]).tolist() == [7]


def test_each_column_is_voted_on_by_itself():
    first = np.hstack(outputs_reading(1, 2))
    second = np.hstack(outputs_reading(1, 5))
    third = np.hstack(outputs_reading(4, 5))
    assert vote([first, second, third]).tolist() == [1, 5]


def test_a_vote_counted_from_answers_and_shares_is_the_vote_of_the_outputs():
    # Four networks on 2,000 examples of three digits: many two-two ties to break.
    rng = np.random.default_rng(3)
    outputs = [rng.random((10, 2000)) * (np.arange(10) < 3)[:, None] for _ in range(4)]
    votes = [answers_and_shares(output) for output in outputs]
    from_votes = vote_answers([a for a, _ in votes], [s for _, s in votes])
    assert np.array_equal(from_votes, vote(outputs))
    # And the shares, rounded to six decimals as the replication keeps them, change nothing.
    rounded = vote_answers([a for a, _ in votes], [np.round(s, 6) for _, s in votes])
    assert np.array_equal(rounded, vote(outputs))
    answers, shares = votes[0]
    assert np.array_equal(answers, outputs[0].argmax(axis=0))
    assert np.allclose(shares, outputs[0].max(axis=0) / outputs[0].sum(axis=0))
