"""The table of the book's experiments: each row's settings, the book's setting in words,
its number, and the check that compares our runs with it.

``EXPERIMENTS`` mirrors ``book.md``, one :class:`Experiment` per id (``ch1-30``,
``ch3-overfit``, ...).  An experiment has one or more *variants* (``ch3-eta`` has one per
learning rate, ``ch3-more-data`` one per training set size), each trained once per seed.
A variant's settings are a plain dict whose ``kind`` names how it runs
(:mod:`digits.replication.kinds`); the builders below (:func:`sgd`, :func:`network3`, ...)
write them in the book's words and names.

Conventions, as in the book: mini-batches of 10; accuracy is measured on the 10,000 test
images after every epoch, and an experiment's headline number is the best epoch's
accuracy, in percent (chapter 6: the test accuracy at the epoch of best validation
accuracy).  Everything runs in float32.

To add a row: write its settings with a builder (or a new ``kind``, registered in
:mod:`digits.replication.kinds`), its check in :mod:`digits.replication.checks`, and put
the :class:`Experiment` in one of the ``*_rows`` functions (or a new one listed in
:func:`rows`).
"""

from __future__ import annotations

from dataclasses import dataclass

from digits.replication import chapter2_speed, chapter4_universality
from digits.replication.checks import (
    below, between, check_chapter6, check_early_stop,
    check_ensemble, check_eta, check_expanded, check_init, check_l2_1000, check_more_data,
    check_overfit, check_schedule, check_speed, check_svm, near)

SEEDS = (1, 2, 3)
FULL_TRAINING_SIZE = 50_000
# The ensemble's five networks are ch6-dropout's runs with these seeds.
ENSEMBLE_SEEDS = (1, 2, 3, 4, 5)
INSTALL_BASELINES = "pip install -e '.[baselines]'"
# How --quick shrinks every run so the whole path takes seconds: at most this many
# training images and epochs, and the first QUICK_EVALUATION test / validation images.
QUICK_TRAINING_SIZE = 200
QUICK_EPOCHS = 3
QUICK_EVALUATION = 500


# -- the settings of one run -----------------------------------------------------------

def sgd(sizes, eta, epochs, cost="cross-entropy", init="large", lmbda=0.0, n_train=FULL_TRAINING_SIZE,
        mini_batch_size=10, monitor=("evaluation_accuracy",), early_stopping_n=0, schedule=None,
        expanded=False):
    """Settings of one network trained by SGD, in the book's words and names.

    ``monitor`` lists the :class:`~digits.nn.network.History` figures recorded after every
    epoch (``evaluation_*`` is the test data); ``n_train`` takes the first ``n_train``
    training images; ``expanded`` trains on them and their four one-pixel shifts.
    """
    return dict(kind="sgd", sizes=list(sizes), cost=cost, init=init, eta=eta, lmbda=lmbda,
                epochs=epochs, mini_batch_size=mini_batch_size, n_train=n_train,
                monitor=list(monitor), early_stopping_n=early_stopping_n, schedule=schedule,
                expanded=expanded)


def chapter1(sizes, eta):
    """Chapter 1's network: quadratic cost, large initialisation, 30 epochs."""
    return sgd(sizes, eta, 30, cost="quadratic", init="large")


def more_data(size):
    """One point of the book's accuracy-vs-training-set-size plot.

    The book's figure script trains every size on the same number of examples,
    1,500,000 (30 epochs of 50,000), with lambda scaled with the size (5.0 at 50,000),
    and measures the accuracy only at the end.  We stop the small sets at 400 epochs
    (the length of the book's overfitting run, which had plateaued long before): 100
    images for 15,000 epochs would cost as much as 50,000 for 30 and change nothing.
    """
    epochs = min(1_500_000 // size, MORE_DATA_MAX_EPOCHS)
    return sgd([784, 30, 10], 0.5, epochs, lmbda=5.0 * size / FULL_TRAINING_SIZE,
               n_train=size, monitor=())


def learning_speed(sizes):
    """Chapter 5's learning-speed run, as the book's figure script made it: the default
    initialisation, cross-entropy, the first 1,000 training images, 500 epochs of
    full-batch gradient descent (one mini-batch of 1,000) with eta 0.1 and lambda 5.0;
    ‖δ‖ = ‖∂C/∂b‖ of every hidden layer, averaged over those images, before each epoch."""
    return dict(kind="speed", sizes=list(sizes), cost="cross-entropy", init="default", eta=0.1,
                lmbda=5.0, epochs=500, mini_batch_size=1000, n_train=1000)


MORE_DATA_MAX_EPOCHS = 400
OVERFIT_MONITOR = ("training_cost", "evaluation_cost", "evaluation_accuracy", "training_accuracy")
EARLY_STOP_MAX_EPOCHS = 60
SCHEDULE_MAX_EPOCHS = 150
EXPANDED_EPOCHS = 6

@dataclass
class Experiment:
    """One row of the report: the book's setting and number, and the runs that test it."""

    id: str
    chapter: int
    setting: str        # the book's setting, in words
    published: str      # what the book publishes
    variants: dict      # variant name -> run settings ("" when there is only one)
    check: object       # check(result) -> list of Claim (digits.replication.checks)
    seeds: tuple = SEEDS
    deviation: str = ""  # where and why our runs differ from the book's setting
    if_differs: str = ""  # our explanation, shown when a check disagrees
    note: str = ""        # what the numbers do not say by themselves
    compare_with: str = ""  # another experiment whose result the check also needs
    # Saved run by run (chapter 6, the SVM) into the results kept in git, as each run
    # finishes; the others are saved whole, when all their runs have finished.
    saved_run_by_run: bool = False
    # Hours of runs: left to ``make replicate-ch6`` (``--chapter6``), not ``make replicate``.
    in_chapter6_target: bool = False
    needs: str = ""         # an optional package the run needs (the SVM's scikit-learn)


# -- the rows, chapter by chapter ------------------------------------------------------
# Settings are the book's (book.md); ``deviation`` says where they are not.

def chapter1_rows() -> list:
    """Chapter 1: the baselines, and the sigmoid network with the quadratic cost."""
    return [
        # Chapter 1: sigmoid network, quadratic cost, large initialisation, eta per row.
        Experiment("baseline-random", 1, "guess a digit uniformly at random", "10%",
                   {"": dict(kind="random")}, check=lambda r: [near(r, 10.0, "final")]),
        Experiment("baseline-darkness", 1,
                   "guess the digit whose mean darkness over the training images is closest",
                   "2,225 / 10,000 = 22.25%", {"": dict(kind="darkness")},
                   check=lambda r: [near(r, 22.25, "final")], seeds=(0,),
                   deviation="deterministic, so one run instead of three seeds"),
        Experiment("ch1-svm", 1,
                   "a support vector machine with scikit-learn's default settings (SVC()), "
                   "trained on the 50,000 training images",
                   "94.35%",
                   {"SVC()": dict(kind="svm", options={}, n_train=FULL_TRAINING_SIZE),
                    "SVC(gamma='auto')": dict(kind="svm", options={"gamma": "auto"},
                                              n_train=FULL_TRAINING_SIZE)},
                   check=lambda r: check_svm(r, 94.35),
                   seeds=(0,), saved_run_by_run=True, needs="scikit-learn",
                   deviation="deterministic, so one run of each; besides today's SVC() we run "
                             "SVC(gamma='auto'), which was SVC()'s default when the book was "
                             "written (scikit-learn 0.22 changed the default gamma from "
                             "1/784 to 1/(784 x the pixels' variance))",
                   if_differs="today's SVC() is not the book's: its default gamma changed in "
                              "scikit-learn 0.22; SVC(gamma='auto') is the book's SVM"),
        Experiment("ch1-30", 1, "[784, 30, 10], quadratic, large init, eta 3.0, 30 epochs",
                   "95.42% at its peak (first epoch about 91%)",
                   {"": chapter1([784, 30, 10], 3.0)},
                   check=lambda r: [near(r, 95.42, "best"), near(r, 91.0, "first")]),
        Experiment("ch1-100", 1, "[784, 100, 10], quadratic, large init, eta 3.0, 30 epochs",
                   "96.59% (readers report much worse runs too)",
                   {"": chapter1([784, 100, 10], 3.0)}, check=lambda r: [near(r, 96.59, "best")],
                   note="the seeds disagree, as the book warns: with the quadratic cost and N(0, 1) "
                        "weights, a run whose hidden neurons start out saturated learns very slowly "
                        "and can stay far below the book's number for all 30 epochs, while another "
                        "reaches it; the verdict passes on the best seed, so read the range"),
        Experiment("ch1-eta-small", 1, "[784, 100, 10], quadratic, large init, eta 0.001, 30 epochs",
                   "poor, well below 90% after 30 epochs",
                   {"": chapter1([784, 100, 10], 0.001)}, check=lambda r: [below(r, 90.0, "final")]),
        Experiment("ch1-eta-large", 1, "[784, 30, 10], quadratic, large init, eta 100.0, 30 epochs",
                   "about 10%: it does not learn",
                   {"": chapter1([784, 30, 10], 100.0)}, check=lambda r: [near(r, 10.0, "best")],
                   if_differs="a network that has stopped learning answers (almost) the same digit "
                              "for every image, so it scores that digit's share of the test set, "
                              "anywhere from 8.9% (fives) to 11.35% (ones), not exactly 10%"),
        Experiment("ch1-no-hidden", 1, "[784, 10], quadratic, large init, eta 3.0, 30 epochs",
                   "not published (an exercise); roughly 91-92% expected",
                   {"": chapter1([784, 10], 3.0)}, check=lambda r: [between(r, 91.0, 92.0, "best")],
                   note="the same slowdown as ch1-100: each output neuron sees all 784 pixels through "
                        "N(0, 1) weights, so it starts saturated, and with the quadratic cost a saturated "
                        "neuron learns slowly (chapter 3's reason for the cross-entropy); runs that escape "
                        "reach the expected 91-92%, runs that do not stay far below it after 30 epochs"),
    ]


def chapter3_cost_and_l2_rows() -> list:
    """Chapter 3: the cross-entropy, overfitting and L2 regularisation."""
    return [
        # Chapter 3: cross-entropy, regularisation, initialisation, learning rates, more data.
        Experiment("ch3-ce-30", 3, "[784, 30, 10], cross-entropy, large init, eta 0.5, 30 epochs",
                   "95.49%", {"": sgd([784, 30, 10], 0.5, 30)},
                   check=lambda r: [near(r, 95.49, "best")]),
        Experiment("ch3-ce-100", 3, "[784, 100, 10], cross-entropy, large init, eta 0.5, 30 epochs",
                   "96.82%", {"": sgd([784, 100, 10], 0.5, 30)},
                   check=lambda r: [near(r, 96.82, "best")]),
        Experiment("ch3-overfit", 3,
                   "[784, 30, 10], cross-entropy, large init, first 1,000 training images, eta 0.5, "
                   "400 epochs",
                   "test accuracy plateaus near 82.27% (around epoch 280); training accuracy "
                   "reaches 100%; test cost starts rising around epoch 15",
                   {"": sgd([784, 30, 10], 0.5, 400, n_train=1000, monitor=OVERFIT_MONITOR)},
                   check=lambda r: check_overfit(r)),
        Experiment("ch3-l2-1000", 3, "as ch3-overfit with L2 regularisation, lambda 0.1",
                   "87.1%, still improving at epoch 400",
                   {"": sgd([784, 30, 10], 0.5, 400, lmbda=0.1, n_train=1000, monitor=OVERFIT_MONITOR)},
                   check=lambda r: check_l2_1000(r)),
        Experiment("ch3-l2-30", 3,
                   "[784, 30, 10], cross-entropy, large init, eta 0.5, lambda 5.0, 30 epochs",
                   "96.49%", {"": sgd([784, 30, 10], 0.5, 30, lmbda=5.0)},
                   check=lambda r: [near(r, 96.49, "best")]),
        Experiment("ch3-l2-100", 3,
                   "[784, 100, 10], cross-entropy, large init, eta 0.5, lambda 5.0, 30 epochs",
                   "97.92%", {"": sgd([784, 100, 10], 0.5, 30, lmbda=5.0)},
                   check=lambda r: [near(r, 97.92, "best")]),
        Experiment("ch3-l2-100-long", 3,
                   "[784, 100, 10], cross-entropy, large init, eta 0.1, lambda 5.0, 60 epochs",
                   "98.04%", {"": sgd([784, 100, 10], 0.1, 60, lmbda=5.0)},
                   check=lambda r: [near(r, 98.04, "best")],
                   deviation="book.md names no cost or initialisation for this run; the book's "
                             "text runs it on from ch3-l2-100, with the cross-entropy cost and "
                             "the large initialisation, and so do we"),
    ]


def chapter3_tuning_rows() -> list:
    """Chapter 3: initialisation, the learning rate, more training data."""
    return [
        Experiment("ch3-init", 3,
                   "[784, 30, 10] and [784, 100, 10], cross-entropy, eta 0.1, lambda 5.0, "
                   "30 epochs: large vs default initialisation",
                   "same final accuracy (about 96% with 30 hidden, about 98% with 100); the default "
                   "init gets there in far fewer epochs",
                   {f"{hidden} hidden, {init} init": sgd([784, hidden, 10], 0.1, 30, lmbda=5.0, init=init)
                    for hidden in (30, 100) for init in ("large", "default")},
                   check=lambda r: check_init(r)),
        Experiment("ch3-eta", 3,
                   "[784, 30, 10], cross-entropy, lambda 5.0, 30 epochs; eta 0.025, 0.25 and 2.5: "
                   "training cost per epoch",
                   "2.5 oscillates, 0.025 is slow, 0.25 is good",
                   {f"eta {eta:g}": sgd([784, 30, 10], eta, 30, lmbda=5.0, init="default",
                                        monitor=("training_cost", "evaluation_accuracy"))
                    for eta in (0.025, 0.25, 2.5)},
                   check=lambda r: check_eta(r),
                   deviation="book.md gives no initialisation; the book's figure script used the "
                             "default (chapter-3) initialisation, and so do we"),
        Experiment("ch3-more-data", 3,
                   "[784, 30, 10] trained on 100 ... 50,000 images: test accuracy vs training set size",
                   "accuracy keeps rising with more data",
                   {f"{size} images": more_data(size)
                    for size in (100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000)},
                   check=lambda r: check_more_data(r),
                   deviation="the settings are those of the book's figure script (cross-entropy, "
                             "large init, eta 0.5, lambda 5.0 x size / 50,000, 1,500,000 examples "
                             f"per size) except that no size trains for more than {MORE_DATA_MAX_EPOCHS} "
                             "epochs (sizes up to 2,000 see fewer examples; they have stopped "
                             "improving long before), to fit the time budget; accuracy on the test "
                             "images, where the script used the validation images (we record both)"),
    ]


def chapter3_stopping_rows() -> list:
    """Chapter 3: early stopping, the eta schedule, the expanded data."""
    return [
        Experiment("ch3-early-stop", 3,
                   "ch3-l2-30's network and settings, stopped when validation accuracy has not "
                   "improved in 10 epochs (no-improvement-in-ten), keeping the best epoch's weights",
                   "an exercise; no number (we compare with ch3-l2-30's 96.49%)",
                   {"": sgd([784, 30, 10], 0.5, EARLY_STOP_MAX_EPOCHS, lmbda=5.0, early_stopping_n=10)},
                   check=lambda r: check_early_stop(r, 96.49),
                   deviation=f"at most {EARLY_STOP_MAX_EPOCHS} epochs (the book's longest run); the "
                             "number is the test accuracy of the weights early stopping keeps"),
        Experiment("ch3-schedule", 3,
                   "as ch3-early-stop, but halve eta each time no-improvement-in-ten triggers; "
                   "stop when eta falls to 1/128 of its start",
                   "an exercise; no number (we compare with ch3-l2-30's 96.49%)",
                   {"": sgd([784, 30, 10], 0.5, SCHEDULE_MAX_EPOCHS, lmbda=5.0, early_stopping_n=10,
                            schedule="halve")},
                   check=lambda r: check_schedule(r, 96.49),
                   deviation=f"at most {SCHEDULE_MAX_EPOCHS} epochs, to fit the time budget"),
        Experiment("ch3-expanded", 3,
                   "ch3-l2-100's network and settings ([784, 100, 10], cross-entropy, large init, "
                   "eta 0.5, lambda 5.0) on the expanded training data: each of the 50,000 images "
                   "and its four one-pixel shifts (250,000 images)",
                   "no number for this network; other papers report 98.4% to 98.9% with 800 hidden "
                   "units (Simard et al. 2003); the book: more data helps",
                   {"": sgd([784, 100, 10], 0.5, EXPANDED_EPOCHS, lmbda=5.0, expanded=True)},
                   check=lambda r, unexpanded: check_expanded(r, unexpanded),
                   compare_with="ch3-l2-100",
                   deviation=f"{EXPANDED_EPOCHS} epochs of 250,000 images: the same 150,000 "
                             "gradient steps as ch3-l2-100's 30 epochs of 50,000, to fit the time "
                             "budget and to compare like with like"),
    ]


def chapter2_rows() -> list:
    """Chapter 2: why backpropagation is fast (digits.replication.chapter2_speed)."""
    return [
        Experiment("ch2-backprop-speed", 2,
                   "the gradient of the cost of one mini-batch of 10 training images, by "
                   "backpropagation and by finite differences (a forward pass per weight), float64, "
                   "[784, 30, 10] (23,860 weights and biases) and [784, 100, 10] (79,510)",
                   "finite differences: a forward pass per weight; backpropagation's backward pass "
                   "costs about as much as its forward pass",
                   chapter2_speed.SPEED_VARIANTS, check=chapter2_speed.check_backprop_speed, seeds=(1,),
                   note="times are processor seconds of the run's own process (one BLAS thread), so "
                        "that other work sharing the machine does not count; the timed finite "
                        "differences are one-sided, (C(w + ε) - C(w))/ε, as the chapter "
                        "describes; the gradients are compared with central differences, "
                        "(C(w + ε) - C(w - ε))/2ε with ε = 1e-4, entry by entry over the gradients at least "
                        "a millionth of the largest (smaller ones are below the rounding of C) and as "
                        "‖a - b‖/(‖a‖ + ‖b‖); the forward pass of a mini-batch of 10 is mostly numpy's "
                        "overhead per call, so backpropagation's time grows far less than the weights",
                   deviation="float64 and one run (timings, not accuracies); the central differences "
                             "on 5,000 parameters of each network drawn at random (the one-sided ones, "
                             "timed, on all of them)"),
        Experiment("ch2-matrix", 2,
                   "the chapter's exercise: the fully matrix-based mini-batch backpropagation against "
                   "the per-example loop, [784, 30, 10], mini-batches of 10, float64",
                   "about twice as fast on the author's machine",
                   {"": chapter2_speed.MATRIX_SETTINGS}, check=chapter2_speed.check_matrix, seeds=(1,),
                   note="the numbers `make bench` measures (digits/replication/bench.py), on 10,000 "
                        "training images for ours and 2,000 for the per-example loop, each scaled to "
                        "an epoch of 50,000, three turns; ours is the library's whole training step "
                        "(arrays made once, in-place arithmetic) as well as the matrix form, so it "
                        "gains more than the exercise alone",
                   deviation="fewer images and turns than `make bench` (which also times float32 and "
                             "other sizes); one run"),
    ]


def chapter4_rows() -> list:
    """Chapter 4: a visual proof that neural nets can compute any function
    (digits.replication.chapter4_universality)."""
    return [
        Experiment("ch4-construction", 4,
                   "f(x) = 0.2 + 0.4x² + 0.3x sin(15x) + 0.05 cos(50x) approximated by a [1, 2N, 1] "
                   "sigmoid network built by hand from N bumps (no training), N = 5 ... 100, step "
                   "weight w = 10, 100, 1,000; average |output - f| on 10,001 points of [0, 1]",
                   "the approximation improves with more bumps (roughly as 1/N); smoother steps "
                   "(smaller w) approximate worse",
                   {"": chapter4_universality.construction_settings()},
                   check=chapter4_universality.check_construction, seeds=(0,),
                   note="each bump's height is f at its centre, and the output neuron is a sigmoid "
                        "(the chapter's σ⁻¹∘f), so its output weight is σ⁻¹ of that height; at N = 100 "
                        "the steps of w = 1,000 are as wide as the bumps and blend into a smoother curve, "
                        "so the deviation falls faster than 1/N there; with w = 10 every step spans "
                        "half the interval and more bumps do not help",
                   deviation="nothing is random, so one run; the chapter's figures give no number but "
                             "the deviation its sliders report"),
        Experiment("ch4-trained", 4,
                   "a [1, n, 1] sigmoid network (sigmoid output, cross-entropy) trained by the library's "
                   "SGD on 200 samples of f (1,000 epochs, mini-batches of 10, eta 1.0, momentum 0.9), "
                   "n = 10 and 20, beside the construction with as many hidden neurons",
                   "not published (the chapter builds, it does not train); a trained network should "
                   "approximate f as well",
                   {f"[1, {hidden}, 1]": chapter4_universality.trained_settings(hidden)
                    for hidden in chapter4_universality.TRAINED_HIDDEN},
                   check=chapter4_universality.check_trained,
                   note="the output is a sigmoid because f lies inside (0, 1) and the construction "
                        "uses one, with the cross-entropy so that a saturated output still learns; "
                        "SGD finds the slow part of f and misses the ripple 0.05 cos(50x), whose mean "
                        "size, 0.05 x 2/π = 0.032, is about all the deviation left"),
    ]


def chapter5_rows() -> list:
    """Chapter 5: why deep networks are hard to train."""
    return [
        # Chapter 5: why deep networks are hard to train.
        Experiment("ch5-speed", 5,
                   "learning speed (‖δ‖ per hidden layer per epoch) in [784, 30, 30, 10], "
                   "[784, 30, 30, 30, 10] and [784, 30, 30, 30, 30, 10]",
                   "earlier layers learn far more slowly (vanishing gradient)",
                   {f"{len(sizes) - 2} hidden layers": learning_speed(sizes)
                    for sizes in ([784, 30, 30, 10], [784, 30, 30, 30, 10], [784, 30, 30, 30, 30, 10])},
                   check=lambda r: check_speed(r),
                   note="after these 500 full-batch steps the deeper networks classify barely better "
                        "than chance (their test accuracy is in the JSON): their early layers have "
                        "hardly moved, which is the chapter's point",
                   deviation="book.md names no setting; we use the book's figure script's (see "
                             "learning_speed in digits/replication/table.py)"),
    ]


def chapter6_rows() -> list:
    """Chapter 6: deep learning, as the book ran it with its network3.py (book.md);
    the number is the test accuracy at the epoch of best validation accuracy."""
    return [
        _chapter6("ch6-fc", "FC(784 -> 100, sigmoid), softmax(100 -> 10); eta 0.1, 60 epochs",
                  97.80, network3("fc100 softmax", 0.1)),
        _chapter6("ch6-conv1", "conv-pool(1 -> 20 filters 5x5, pool 2x2), FC(20x12x12 -> 100), "
                               "softmax; sigmoid, eta 0.1, 60 epochs",
                  98.78, network3("conv20 fc100 softmax", 0.1)),
        _chapter6("ch6-conv2", "conv-pool(20), conv-pool(20 -> 40 filters 5x5, pool 2x2), "
                               "FC(40x4x4 -> 100), softmax; sigmoid, eta 0.1, 60 epochs",
                  99.06, network3("conv20 conv40 fc100 softmax", 0.1)),
        _chapter6("ch6-relu", "ch6-conv2 with rectified linear units everywhere, eta 0.03, "
                              "L2 lambda 0.1, 60 epochs",
                  99.23, network3("conv20 conv40 fc100 softmax", 0.03, activation="relu",
                                  lmbda=BOOK_LAMBDA_0_1)),
        _chapter6("ch6-expanded", "ch6-relu on the expanded training data (the 50,000 images and "
                                  "their four one-pixel shifts: 250,000 images)",
                  99.37, network3("conv20 conv40 fc100 softmax", 0.03, activation="relu",
                                  lmbda=BOOK_LAMBDA_0_1, expanded=True), seeds=(1,)),
        _chapter6("ch6-extra-fc", "ch6-expanded with a second FC layer of 100 ReLUs",
                  99.43, network3("conv20 conv40 fc100 fc100 softmax", 0.03, activation="relu",
                                  lmbda=BOOK_LAMBDA_0_1, expanded=True), seeds=(1,),
                  published="99.43% (300 neurons: 99.46%; 1,000: 99.43%)"),
        _chapter6("ch6-dropout", "ch6-expanded with two FC layers of 1,000 ReLUs each, dropout "
                                 "0.5 on the inputs of both FC layers and of the softmax layer, "
                                 "40 epochs",
                  99.60, network3("conv20 conv40 fc1000 fc1000 softmax", 0.03, epochs=40,
                                  activation="relu", dropout=0.5, expanded=True),
                  seeds=ENSEMBLE_SEEDS,
                  deviation="no L2 regularisation (dropout regularises instead): book.md's row "
                            "reads as ch6-expanded's settings, lambda 0.1 included, but the "
                            "book's own call for this run passes no lambda, and we follow it; "
                            "five seeds instead of three, as they are the ensemble's five networks"),
        _chapter6("ch6-ensemble", "five ch6-dropout networks voting", 99.67,
                  dict(kind="ensemble", members="ch6-dropout", seeds=list(ENSEMBLE_SEEDS)),
                  seeds=(0,),
                  deviation="the five networks are ch6-dropout's own seeds 1 to 5; each votes "
                            "for its digit, and a tie goes to the digit whose voters were the "
                            "surest of it (digits/nn/ensemble.py)",
                  note="the book notes that the ensemble's gain is small"),
    ]


# The book's L2 parameter lambda = 0.1 is per mini-batch: network3.py divides the L2 term
# by the number of mini-batches, n/10.  The library divides by n (chapter 3's lambda/n),
# so the same weight decay is lambda = 0.1 x 10 = 1.0 here.
BOOK_LAMBDA_0_1 = 1.0


def network3(layers, eta, epochs=60, activation="sigmoid", lmbda=0.0, dropout=0.0, expanded=False):
    """Settings of one chapter-6 run in the book's network3.py terms: the layers in the
    short syntax of ``digits train --layers`` (digits/nn/layer_spec.py), network3's
    initialisation, mini-batches of 10, softmax and the log-likelihood cost."""
    return dict(kind="layers", layers=layers, activation=activation, dropout=dropout,
                init="network3", eta=eta, lmbda=lmbda, epochs=epochs, mini_batch_size=10,
                n_train=FULL_TRAINING_SIZE, expanded=expanded)


def _chapter6(experiment_id, setting, number, settings, seeds=SEEDS, published=None, deviation="",
              note=""):
    """One row of chapter 6: checked like the book reports it, at the best validation epoch."""
    ensemble = settings["kind"] == "ensemble"
    return Experiment(experiment_id, 6, setting, published or f"{number:.2f}%", {"": settings},
                      check=lambda r: [(check_ensemble if ensemble else check_chapter6)(r, number)],
                      seeds=seeds, deviation=deviation, note=note, saved_run_by_run=True,
                      in_chapter6_target=True)


def rows() -> list:
    """Every row of the report, in its order."""
    return (chapter1_rows() + chapter2_rows() + chapter3_cost_and_l2_rows() + chapter3_tuning_rows()
            + chapter3_stopping_rows() + chapter4_rows() + chapter5_rows() + chapter6_rows())


EXPERIMENTS = {experiment.id: experiment for experiment in rows()}


def verdict(result, results=None) -> tuple:
    """``(agrees, claims)`` for an experiment's result JSON.

    ``results`` maps experiment ids to their results, for checks that compare with
    another experiment (``compare_with``); the check falls back to the book's numbers
    when that one has not been run.
    """
    experiment = EXPERIMENTS[result["id"]]
    if experiment.compare_with:
        claims = experiment.check(result, (results or {}).get(experiment.compare_with))
    else:
        claims = experiment.check(result)
    return all(claim.agrees for claim in claims), claims


def ensemble_members() -> set:
    """The experiments whose networks an ensemble of the table votes with."""
    return {settings["members"] for experiment in EXPERIMENTS.values()
            for settings in experiment.variants.values() if settings["kind"] == "ensemble"}


def missing_package(experiment_id):
    """The optional package ``experiment_id`` needs and this Python lacks, or None."""
    needs = EXPERIMENTS[experiment_id].needs
    if needs == "scikit-learn":
        try:
            import sklearn.svm  # noqa: F401
        except ImportError:
            return needs
    return None
