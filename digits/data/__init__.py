"""MNIST: the files, their download and the expanded training set."""
