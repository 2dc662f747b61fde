"""digits: the handwritten-digit networks of Michael Nielsen's book
"Neural Networks and Deep Learning", written afresh, tested and fast."""

__version__ = "0.1.0"
