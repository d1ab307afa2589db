"""What runs the kdtutor series; a learner never needs to read it.

- ``profiles``: the quick and full settings every notebook takes.
- ``artifacts``: the cache of trained models the notebooks and runs share.
- ``results``: the results file every notebook writes its key numbers into.
- ``cli``: the ``kdtutor`` command's arguments; ``commands``: what ``kdtutor run / list /
  datasets / report / handout`` do and print, ``run_summary`` the end of a run (claims,
  times); ``doctor``: ``kdtutor doctor``'s checks.
- ``runner`` and ``report``: run the notebooks, and report on a run; ``runner`` builds on
  ``notebooks`` (the notebooks and their typed parameters), ``progress``, ``engine``
  (papermill), ``html_export``, ``failures``, ``machine`` and ``overhead``; ``files`` writes
  files atomically.
- ``handout``: ``kdtutor handout``, built on ``notebook_transforms`` (student and nbgrader
  notebooks), ``handout_texts`` (READMEs, nbgrader config) and ``class_install`` (the wheel
  and requirements); ``autograde`` and ``answer_key`` serve the instructor.
- ``setup``: the notebooks' one-call setup; ``claims``: the prose's claims, checked.

Nothing in :mod:`kdtutor` itself imports this package.
"""
