"""Training monitor: forecasts loss spikes and sudden drops from quotient observables.

* :class:`ShockMonitor` (:mod:`.core`): drop into any optax training loop.
* :class:`Forecaster`, :class:`Forecast`, :class:`Measurement` (:mod:`.forecaster`): the host-side laws.
* :class:`Translation`, :class:`Scale`, :class:`Rescale`, :class:`GL` (:mod:`.symmetries`): symmetries by
  parameter paths.
* :mod:`.runlog`: the run-directory files of ``qshock train --monitor`` and ``qshock monitor``.
"""

from .core import ShockMonitor
from .forecaster import SOURCES, Forecast, Forecaster, Measurement
from .symmetries import GL, FlatSymmetries, Rescale, Scale, Translation, leaf_paths

__all__ = ["ShockMonitor", "Forecast", "Forecaster", "Measurement", "SOURCES", "Translation", "Scale", "Rescale",
           "GL", "FlatSymmetries", "leaf_paths"]
