"""`qshock experiment NAME`: one module per study, a shared item store and driver.

Studies: see :data:`STUDIES`. Each study module has ``NAME``, a frozen ``Config`` dataclass,
``run(cfg, seeds, store, log)`` and ``figures(run_dir, doc, formats)``.
"""

from .driver import STUDIES, StudyConfig, StudyResult, load_config, resolve_name, run_study
from .store import ItemStore

__all__ = ["STUDIES", "StudyConfig", "StudyResult", "ItemStore", "load_config", "resolve_name", "run_study"]
