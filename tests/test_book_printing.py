"""The book's lines come from callbacks of the training loop (digits.book.printing), which
the library's own Network.SGD takes as an option; long epochs get a tqdm.auto bar."""

from __future__ import annotations

import io


def test_the_librarys_sgd_prints_the_books_lines_when_given_the_callback(mnist, capsys):
    from digits.book.printing import Chapter1Lines
    from digits.nn.network import Network
    training, _, test = mnist
    net = Network([784, 10, 10], seed=1)
    history = net.SGD(training[:200], 2, 10, 3.0, test_data=test[:100], callbacks=[Chapter1Lines()])
    assert capsys.readouterr().out.splitlines() == [
        f"Epoch {j}: {history.evaluation_accuracy[j]} / 100" for j in range(2)]


def test_without_the_callback_the_library_prints_nothing(mnist, capsys):
    from digits.nn.network import Network
    training, _, test = mnist
    Network([784, 10, 10], seed=1).SGD(training[:200], 1, 10, 3.0, test_data=test[:100])
    assert capsys.readouterr() == ("", "")


def test_lines_can_go_to_another_file(mnist, capsys):
    from digits.book.printing import Chapter3Lines
    from digits.nn.network import Network
    training, _, test = mnist
    out = io.StringIO()
    Network([784, 10, 10], seed=1).SGD(training[:100], 1, 10, 3.0, callbacks=[Chapter3Lines(file=out)])
    assert out.getvalue() == "Epoch 0 training complete\n\n" and capsys.readouterr().out == ""


def test_a_long_epoch_shows_a_progress_bar_on_stderr_and_removes_it(mnist, capsys):
    from digits.book.printing import Chapter1Lines
    from digits.nn.network import Network
    training, _, _ = mnist
    printer = Chapter1Lines()
    printer.after = 0.0                       # every epoch counts as long
    Network([784, 10, 10], seed=1).SGD(training[:600], 1, 10, 3.0, callbacks=[printer])
    captured = capsys.readouterr()
    assert captured.out == "Epoch 0 complete\n"
    assert "Epoch 0:" in captured.err and "/60 [" in captured.err     # 60 mini-batches
    assert captured.err.endswith(" \r") and printer._bar is None      # closed and wiped


def test_a_short_epoch_shows_no_bar(mnist, capsys):
    from digits.book.printing import Chapter1Lines
    from digits.nn.network import Network
    training, _, _ = mnist
    Network([784, 10, 10], seed=1).SGD(training[:600], 1, 10, 3.0, callbacks=[Chapter1Lines()])
    assert capsys.readouterr().err == ""


def test_the_bar_is_tqdm_auto():
    """tqdm.auto: a widget in Jupyter, a text bar in a terminal."""
    import inspect

    from digits.book import printing
    assert "from tqdm.auto import tqdm" in inspect.getsource(printing.EpochProgress.on_batch_end)


def test_chapter6_lines_count_iterations_over_the_whole_run(capsys):
    from types import SimpleNamespace

    from digits.book.printing import Chapter6Lines
    from digits.nn.training import History
    printer = Chapter6Lines()
    history = History(n_training=7000, n_validation=100, n_evaluation=50)
    run = SimpleNamespace(epoch=1, batch=0, batches_per_epoch=700, history=history)
    for run.epoch in (1, 2):
        printer.on_epoch_begin(run)
        for run.batch in range(1, 701):
            printer.on_batch_end(run)
        history.validation_accuracy.append(90 if run.epoch == 1 else 90)   # a tie is no new best
        history.evaluation_accuracy.append(40 + run.epoch)
        printer.on_epoch_end(run)
    printer.on_train_end(run)
    assert capsys.readouterr().out.splitlines() == [
        "Training mini-batch number 0",
        "Epoch 0: validation accuracy 90.00%",
        "This is the best validation accuracy to date.",
        "The corresponding test accuracy is 82.00%",
        "Training mini-batch number 1000",
        "Epoch 1: validation accuracy 90.00%",
        "Finished training network.",
        "Best validation accuracy of 90.00% obtained at iteration 699",
        "Corresponding test accuracy of 82.00%",
    ]
