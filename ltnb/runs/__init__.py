"""Runs above the trainer: a config trained once and reused (:mod:`.train`), arrays computed from a run's files
(:mod:`.derived`, which cannot train), several runs at once (:mod:`.parallel`), how long runs take (:mod:`.budget`) and
the recordings kept with the repository (:mod:`.recordings`)."""
