"""What the notebooks teach with, on top of the core: layer tables and what they track
(:mod:`.tables`, :mod:`.tracking`, :mod:`.memory`), activation functions measured
(:mod:`.activations`), the paper's colour augmentation and ten-patch test
(:mod:`.augmentation`), networks compared side by side and layer for layer (:mod:`.comparison`,
:mod:`.matching`), a look inside a trained network (:mod:`.inspection`), figures, drawings and
interactive widgets (:mod:`.plots`, :mod:`.diagrams`, :mod:`.widgets`), a photograph that ships
with matplotlib (:mod:`.photos`), the committed reference runs (:mod:`.reference`), the key
terms in English and Chinese (:mod:`.glossary`), the exercises' instant checks (:mod:`.checks`),
and Dive into Deep Learning's helpers on the course's engine (:mod:`.d2l_compat`). Import each
module by name; the package itself imports nothing.
"""
