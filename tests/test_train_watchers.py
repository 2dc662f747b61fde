"""What digits train shows while it trains: the stall note, told epoch by epoch."""

from types import SimpleNamespace

from digits.app.train_watchers import StallNote
from digits.nn.training import History


def notes_for(accuracies, capsys, cost="quadratic", n=10000):
    """The lines StallNote prints over a run whose evaluation accuracies are ``accuracies``."""
    history, note = History(n_evaluation=n), StallNote(eta=3.0, cost=cost)
    said_after = []
    for epoch, correct in enumerate(accuracies, start=1):
        history.evaluation_accuracy.append(correct)
        note.on_epoch_end(SimpleNamespace(epoch=epoch, history=history))
        if capsys.readouterr().out:
            said_after.append(epoch)
    return said_after


def test_six_epochs_within_half_a_point_below_90_percent_get_the_note_once(capsys):
    assert notes_for([7000, 8210, 8220, 8230, 8215, 8240, 8235, 8229, 8231], capsys) == [7]


def test_the_note_comes_again_only_after_the_accuracy_has_moved(capsys):
    flat, moved = [8200] * 6, [8600, 8900]
    assert notes_for(flat + moved + [8900] * 5, capsys) == [6, 13]


def test_a_plateau_above_90_percent_is_the_books_normal_end_and_says_nothing(capsys):
    assert notes_for([9500, 9510, 9512, 9508, 9515, 9511, 9513], capsys) == []


def test_an_accuracy_that_climbs_slowly_but_surely_says_nothing(capsys):
    assert notes_for([5000 + 100 * epoch for epoch in range(10)], capsys) == []


def test_the_advice_names_the_books_causes(capsys):
    history, note = History(n_evaluation=100), StallNote(eta=0.25, cost="cross-entropy")
    for epoch in range(1, 7):
        history.evaluation_accuracy.append(50)
        note.on_epoch_end(SimpleNamespace(epoch=epoch, history=history))
    text = capsys.readouterr().out
    assert "chapter 3" in text and "saturated hidden neurons" in text and "eta = 0.25" in text
    assert "--cost cross-entropy" not in text        # the run already uses it


def test_the_progress_bar_counts_every_mini_batch_of_each_epoch(monkeypatch):
    import numpy as np
    import tqdm.auto

    from digits.app.train_watchers import ProgressBar
    from digits.nn.dataset import DataSet
    from digits.nn.network import Network

    bars = []

    class Bar:
        def __init__(self, total, **options):
            self.total, self.n, self.closed = total, 0, False
            bars.append(self)

        def update(self, n):
            self.n += n

        def close(self):
            self.closed = True

    monkeypatch.setattr(tqdm.auto, "tqdm", Bar)
    rng = np.random.default_rng(0)
    data = DataSet(rng.random((23, 4)), rng.integers(0, 2, size=23), 2)
    Network([4, 3, 2], seed=0).SGD(data, 2, 5, 1.0, callbacks=[ProgressBar()])
    assert [(bar.total, bar.n, bar.closed) for bar in bars] == [(5, 5, True), (5, 5, True)]
