"""Data sets: the IDX file format and MNIST, shipped with the package."""
