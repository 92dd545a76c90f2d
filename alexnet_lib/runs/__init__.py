"""Runs from the command line and on disk: ``python -m alexnet_lib COMMAND`` (:mod:`.cli`); run
folders that never overwrite each other (:mod:`.folders`); and checkpoints and histories written
atomically and read back with ``weights_only=True`` (:mod:`.checkpoints`); a recipe trained once,
its model reused while nothing it depends on changes (:mod:`.cache`). Import each module by name;
the package itself imports nothing.
"""
