"""Design-space exploration: which approximate multiplier goes where in a DNN (issue 12).

``axhw dse search`` / :func:`search` choose a per-layer / per-filter / per-kernel assignment of
library designs under an energy budget or an accuracy floor (methods: ilp (FAMES), nsga2
(MAx-DNN/ALWANN), greedy, random, uniform; more via :func:`register_method`), measure it, and
write the assignment, the Pareto table and report, and the verified hardware. :func:`apply` turns
an assignment.json back into an approximate model. Built-in tasks (the seed papers' architectures
on MNIST) and :func:`train_task` (the same architectures on your CIFAR-10 or image folder) give
models to explore; every accuracy carries a Wilson interval and every comparison a paired McNemar
test (:mod:`axhw.dse.stats`). See docs/dse.md.
"""

from __future__ import annotations

from .apply import apply, load_assignment
from .builtins import ARCHITECTURES, train_task
from .library import Library, LibraryDesign, load_library
from .run import evaluate_assignment, search
from .search import METHODS, Search, register_method
from .task import Task, cifar, image_folder, load_task

__all__ = ["ARCHITECTURES", "METHODS", "Library", "LibraryDesign", "Search", "Task", "apply", "cifar",
           "evaluate_assignment", "image_folder", "load_assignment", "load_library", "load_task",
           "register_method", "search", "train_task"]
