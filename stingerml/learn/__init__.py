"""What every trainer shares above the kernels: :mod:`.scaler` (standardisation),
:mod:`.metrics` (every metric function), :mod:`.estimator` (argument handling of the
estimators), :mod:`.executors` (independent tasks on any executor)."""
