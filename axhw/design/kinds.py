"""Kinds of design (a multiplier, a systolic array of them) and the hooks each stage calls.

A design JSON's ``family`` names a multiplier family (kind ``multiplier``) or a kind that
registered itself here with :func:`register_kind` (the systolic array: ``axhw.systolic.kind``).
A stage asks :func:`kind_of` for a design's kind and calls its hook; no stage names a kind, so a
new kind of design (an adder, a MAC) is one module that registers its hooks.

Hooks are ``"module:function"`` strings, imported on first call (this module imports no stage):

=================  ==========================================================================
``load``           ``(path, d, allow_edited) -> Design`` from the design JSON ``d`` at ``path``
``verify``         ``(design, sim, method, samples, seed, timeout, engine) -> [VerifyResult]``
``lut``            ``(design, sim, use_cache) -> ndarray`` (product-scale LUT)
``characterize``   ``(design, library, clock_ns, vectors, seed, activity_file, use_cache,
                   activity_model, error_metrics) -> dict``
``export``         ``(design, fmt, pdk, pdk_root, name, ppa) -> str``
=================  ==========================================================================

A kind may add command-line hooks: ``gen`` ``(bits_a, bits_b, signed, kv, outdir) -> (summary,
json path)`` and ``params_help`` ``() -> str`` for ``axhw gen --type NAME`` (``axhw families``
lists them), ``format_characterization`` ``(result) -> str`` for ``axhw characterize``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["DesignKind", "MULTIPLIER", "PLUGINS", "kind_for_family", "kind_named", "kind_of",
           "kinds", "register_kind"]

STAGE_HOOKS = ("load", "verify", "lut", "characterize", "export")
CLI_HOOKS = ("gen", "params_help", "format_characterization")

# Modules that register further kinds when imported (on the first look-up).
PLUGINS = ("axhw.systolic.kind",)


@dataclass(frozen=True)
class DesignKind:
    """A kind of design: its name, the ``family`` values of its design JSONs (empty: every
    value no other kind claims, i.e. the multiplier families) and its hooks."""

    name: str
    families: tuple[str, ...]
    hooks: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        missing = [h for h in STAGE_HOOKS if h not in self.hooks]
        unknown = [h for h in self.hooks if h not in STAGE_HOOKS + CLI_HOOKS]
        if missing or unknown:
            raise ValueError(f"design kind {self.name}: missing hooks {missing}, unknown {unknown}")

    def has(self, hook: str) -> bool:
        return hook in self.hooks

    def hook(self, hook: str) -> Callable:
        module, fn = self.hooks[hook].split(":")
        return getattr(importlib.import_module(module), fn)

    def call(self, hook: str, *args, **kwargs):
        return self.hook(hook)(*args, **kwargs)


MULTIPLIER = DesignKind("multiplier", (), {
    "load": "axhw.design.record:load_multiplier",
    "verify": "axhw.verify.dispatch:verify_multiplier",
    "lut": "axhw.measure.lut:multiplier_lut",
    "characterize": "axhw.ppa.characterize:characterize_multiplier",
    "export": "axhw.ppa.export:export_multiplier",
})

_KINDS: dict[str, DesignKind] = {MULTIPLIER.name: MULTIPLIER}
_plugins_loaded = False


def register_kind(kind: DesignKind) -> DesignKind:
    """Add a kind (a plug-in module calls this when imported); returns it."""
    taken = [f for k in _KINDS.values() if k.name != kind.name for f in k.families
             if f in kind.families]
    if taken:
        raise ValueError(f"design kind {kind.name}: family {taken[0]} belongs to another kind")
    _KINDS[kind.name] = kind
    return kind


def kinds() -> dict[str, DesignKind]:
    """Every registered kind by name (the plug-ins imported first)."""
    global _plugins_loaded
    if not _plugins_loaded:
        _plugins_loaded = True
        for module in PLUGINS:
            importlib.import_module(module)
    return dict(_KINDS)


def kind_for_family(family: object) -> DesignKind:
    """The kind whose design JSONs carry this ``family`` (default: a multiplier)."""
    for kind in kinds().values():
        if family in kind.families:
            return kind
    return MULTIPLIER


def kind_of(design) -> DesignKind:
    return kind_for_family(design.family)


def kind_named(name: str) -> DesignKind | None:
    """A kind other than the multiplier families (``axhw gen --type NAME``), else None."""
    kind = kinds().get(name)
    return None if kind is MULTIPLIER else kind
