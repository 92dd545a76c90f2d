"""Data sets besides Fashion-MNIST, on disk under the same data root and rules as :mod:`alexnet_lib.data`
(verified, found or downloaded unless offline, one clear error when missing or damaged) and
batched by its ``BatchLoader``: Oxford Flowers102, the colour photographs of many AlexNet
tutorials (:mod:`.flowers102`); and Fashion-MNIST checked against its published md5s, as the
``doctor`` command does (:mod:`.fashion_mnist`). Import each module by name; the package itself
imports nothing.
"""
