# digits: the book's networks on MNIST.  `make train` and `make test` are all a fresh
# clone needs; the first target that runs creates .venv and installs the package there.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

# A clone with no internet but a copy of MNIST's four .gz files beside it, in
# ../shared/data/mnist (as on this project's CI machines), downloads from that copy;
# a DIGITS_MNIST_MIRROR of your own is used instead (docs/data.md: mirrors).
SHARED_MNIST := $(wildcard ../shared/data/mnist)
ifneq ($(SHARED_MNIST),)
export DIGITS_MNIST_MIRROR ?= $(abspath $(SHARED_MNIST))
endif

.PHONY: help venv data train test clean
.PHONY: cross-entropy regularised overfitting early-stopping
.PHONY: replicate replicate-ch6
.PHONY: bench
.PHONY: moons xor
.PHONY: draw
.PHONY: conv
.PHONY: serve
.PHONY: watch compare-ch3

help:
	@echo "make train   download MNIST (once) and train the book's [784, 30, 10] network"
	@echo "make test    run the test suite"
	@echo "make data    download and verify the four MNIST files into data/mnist/"
	@echo "make clean   remove .venv, downloads, the saved network and results"
	@echo "chapter 3:   make cross-entropy | regularised | overfitting | early-stopping"
	@echo "make replicate  rerun the book's experiments (about 20 min) and write REPLICATION.md"
	@echo "make replicate-ch6  chapter 6's networks (hours; stopped, it goes on where it was)"
	@echo "make bench   time training and evaluation against the book's per-example loop (about 2 min)"
	@echo "make moons   two moons: decision regions of [2, H, 2] tanh/softmax networks -> docs/images/moons.png"
	@echo "make xor     XOR with a [3, 4, 1] sigmoid network: cost and outputs -> docs/images/xor.png"
	@echo "make draw    draw a digit with the mouse and watch the trained network read it"
	@echo "make conv    train the book's best single network (chapter 6, 99.6%; hours here) -> data/conv.npz"
	@echo "make serve   the same in a browser (mouse, pen or finger) at http://127.0.0.1:8000/"
	@echo "make watch   the book's chapter-1 run with a live page at http://127.0.0.1:8001/"
	@echo "make compare-ch3  three short runs of chapter 3's learning rates, then their curves side by side"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $@

venv: $(STAMP)

data: $(STAMP)
	$(PY) -m digits download

train: data
	$(PY) -m digits train

# Chapter 3 of the book, one script each (python scripts/NAME.py --help for the flags).
cross-entropy: data
	$(PY) scripts/cross_entropy.py

regularised: data
	$(PY) scripts/regularised.py

overfitting: data
	$(PY) scripts/overfitting.py

early-stopping: data
	$(PY) scripts/early_stopping.py

# Every experiment of chapters 1, 3 and 5, three seeds each, on all cores; finished
# experiments are kept in results/ and not rerun, with a copy in replication/ (kept in
# git) from which the report can be redrawn on any clone (scripts/replicate.py --help).
replicate: data
	$(PY) scripts/replicate.py

# Chapter 6's networks (minutes to hours each, about 12 hours of runs in all), a run on
# each core; every run keeps a checkpoint after each epoch in results/ch6/
# and goes on from it, and each finished run is saved in replication/ (kept in git).
# With SCHEDULER=tcp://HOST:8786 the runs go to that Dask cluster's workers instead, with
# CHECKPOINTS=PATH the folder they share (docs/cluster.md; needs pip install -e '.[cluster]').
replicate-ch6: data
	$(PY) scripts/replicate.py --chapter6 $(if $(SCHEDULER),--scheduler $(SCHEDULER)) $(if $(CHECKPOINTS),--checkpoints $(CHECKPOINTS))

# Seconds per epoch beside the book's per-example loop, evaluation, loading, memory;
# prints a table and writes results/bench.json (scripts/bench.py --help).  With
# BOOK=DIR, a clone of the book's repository, its own network.py is timed too; with
# TORCH=PYTHON, the Python of another environment that has PyTorch, the chapter-6
# network in PyTorch as well (scripts/pytorch_reference.py).
bench: data
	$(PY) scripts/bench.py $(if $(BOOK),--book-code $(BOOK)) $(if $(TORCH),--pytorch $(TORCH))

# Problems you can see, no MNIST needed (python scripts/moons.py --help, scripts/xor.py --help).
moons: $(STAMP)
	$(PY) scripts/moons.py

xor: $(STAMP)
	$(PY) scripts/xor.py

# The book's best single network (chapter 6): two conv-pool layers, two fully connected
# layers of 1,000 ReLUs with dropout 0.5, softmax, 40 epochs on the expanded data, eta
# 0.03 and no L2 term (dropout regularises; the book's own call passes no lambda).
# Saved after every epoch: stopped, the same command goes on where it was.
CONV_LAYERS := conv20 conv40 fc1000 fc1000 softmax
conv: data
	$(PY) -m digits train --layers "$(CONV_LAYERS)" --activation relu --dropout 0.5 --expand \
	    --epochs 40 --eta 0.03 --model data/conv.npz --checkpoint data/conv.ckpt.npz

# A window to draw in; needs the network `make train` saved (python -m digits draw --help).
draw: $(STAMP)
	$(PY) -m digits draw

# The same in a browser, on this machine or (with --host) a phone or laptop; needs the
# network `make train` saved (python -m digits serve --help).  Ctrl-C stops it.
serve: $(STAMP)
	$(PY) -m digits serve

# The book's chapter-1 run with its live page (curves, the first layer's weights, learning
# speed, confusion matrix, Stop); docs/watch.md.
watch: data
	$(PY) -m digits train --watch

# Chapter 3's learning rates side by side: three short runs (cross-entropy, lambda 5.0,
# eta 0.025 / 0.25 / 2.5, 5 epochs each, a minute or two in all), drawn to
# results/compare-ch3.png, then the comparison page (Ctrl-C stops it).
CH3_ETAS := 0.025 0.25 2.5
CH3_RUNS := $(CH3_ETAS:%=results/compare-ch3/eta-%.npz)
compare-ch3: data
	@mkdir -p results/compare-ch3
	for eta in $(CH3_ETAS); do \
	    $(PY) -m digits train --cost cross-entropy --lmbda 5.0 --eta $$eta --epochs 5 --monitor \
	        --seed 1 --quiet --model results/compare-ch3/eta-$$eta.npz || exit 1; \
	done
	$(PY) -m digits compare $(CH3_RUNS) --output results/compare-ch3.png
	$(PY) -m digits compare $(CH3_RUNS)

test: $(STAMP)
	$(PY) -m pytest

clean:
	rm -rf $(VENV) data/mnist data/network.npz data/network.json results .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
