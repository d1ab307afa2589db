"""What runs the kdtutor series; a learner never needs to read it.

- ``profiles``: the quick and full settings every notebook takes.
- ``artifacts``: the cache of trained models the notebooks and runs share.
- ``results``: the results file every notebook writes its key numbers into.
- ``runner``, ``report``, ``cli``: ``kdtutor run / list / doctor / report / datasets``.

Nothing in :mod:`kdtutor` itself imports this package.
"""
