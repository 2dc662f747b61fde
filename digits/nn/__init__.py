"""The networks of the book: activations, costs, layers, the network, its training."""
