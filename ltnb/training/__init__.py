"""The trainer, by stage: :mod:`.stage1` end to end, :mod:`.features` stage 2 on stored features,
:mod:`.images` stage 2 on images, :mod:`.pruning` pruned training sets; :mod:`.common` and :mod:`.batches`
hold what they share. :func:`ltnb.runs.train.train` picks the stage of a config."""
