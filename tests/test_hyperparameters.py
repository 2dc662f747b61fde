"""One table of hyperparameter limits, read by the library and the command line alike."""

import pytest

from digits.nn.hyperparameters import LIMITS, check, check_run
from digits.system.errors import UsageError


@pytest.mark.parametrize("name, good, bad", [
    ("epochs", [1, 30], [0, -1, 2.5, True]),
    ("mini_batch_size", [1, 10], [0, 1.0]),
    ("eta", [0.1, 3, 1e-9], [0, -1.0, float("nan"), float("inf"), "3"]),
    ("lmbda", [0, 5.0], [-0.1, float("inf")]),
    ("l1", [0.0, 1], [-1]),
    ("momentum", [0, 0.9], [1.0, -0.5]),
    ("early_stopping_n", [0, 10], [-1, 1.5]),
    ("schedule", [None, "halve"], ["double"]),
    ("seed", [None, 0, 12], [-1, 1.5]),
    ("dropout", [0, 0.5], [1.0, -0.1]),
])
def test_each_setting_allows_what_the_table_says_and_nothing_else(name, good, bad):
    for value in good:
        check({name: value})
    for value in bad:
        with pytest.raises(UsageError, match=LIMITS[name][0].split()[-1]):
            check({name: value})


def test_the_command_line_names_the_flag_and_the_library_the_books_name():
    with pytest.raises(UsageError, match=r"^the learning rate eta must be a positive number, got -1.0$"):
        check({"eta": -1.0})
    with pytest.raises(UsageError, match=r"^--eta must be a positive number, got -1.0$"):
        check({"eta": -1.0}, {"eta": "--eta"})


def test_settings_that_need_each_other_are_checked_together():
    with pytest.raises(UsageError, match="early stopping needs validation data"):
        check_run({"early_stopping_n": 3}, has_validation=False)
    with pytest.raises(UsageError, match="--schedule halve needs --early-stopping N"):
        check_run({"schedule": "halve", "early_stopping_n": 0}, has_validation=True,
                  flags={"schedule": "--schedule", "early_stopping_n": "--early-stopping"})
