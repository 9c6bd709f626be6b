"""What every trainer shares above the kernels: :mod:`.scaler` (standardisation),
:mod:`.metrics` (every metric function), :mod:`.estimator` (argument handling of the
estimators), :mod:`.executors` (independent tasks on any executor), and what the tabular
and sequence trainers share: :mod:`.epochs` (the epoch loop, ``TrainState``, its
``on_epoch_end`` hook), :mod:`.split`, :mod:`.runfolder` (run folders and checkpoints) and
:mod:`.status` (a run's events, its status and the HTTP endpoint that serves it)."""
