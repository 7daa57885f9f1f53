"""What the DSE evaluation cache is keyed by: a digest of everything in a task that can change a
measurement — the model's structure (repr, the code of its own module classes, their plain
attributes), its weights and buffers, the calibration and evaluation data, and the metric (its
code, constants, defaults, closure and the globals it reads).

A task holding something this module cannot reduce to bytes (an object that neither it nor pickle
can serialize) gets no fingerprint: :func:`task_fingerprint` returns None and the caller keeps its
cache off rather than answer from a key that misses an input.
"""

from __future__ import annotations

import functools
import hashlib
import pickle
import types

import numpy as np
import torch
from torch import nn

from .. import __version__

__all__ = ["Unhashable", "task_fingerprint"]


class Unhashable(Exception):
    """Something in the task cannot be fingerprinted (the cache must stay off)."""


_PLAIN = (type(None), bool, int, float, complex, str, bytes)


class _Hasher:
    def __init__(self):
        self.h = hashlib.sha256()
        self.seen: set[int] = set()  # functions / code already hashed (recursion, cycles)

    def tag(self, *parts) -> None:
        for p in parts:
            self.h.update(repr(p).encode())
            self.h.update(b"\0")

    def value(self, v, depth: int = 0) -> None:
        if depth > 20:
            raise Unhashable("nested too deeply")
        if isinstance(v, _PLAIN):
            self.tag(type(v).__name__, v)
        elif isinstance(v, torch.Tensor):
            t = v.detach().cpu()
            self.tag("tensor", t.dtype, tuple(t.shape))
            # as raw bytes, flattened: any dtype (bfloat16 too), 0-d buffers too
            self.h.update(t.reshape(-1).contiguous().view(torch.uint8).numpy().tobytes())
        elif isinstance(v, np.ndarray):
            self.tag("ndarray", v.dtype.str, v.shape)
            self.h.update(np.ascontiguousarray(v).tobytes())
        elif isinstance(v, (list, tuple, set, frozenset)):
            items = sorted(v, key=repr) if isinstance(v, (set, frozenset)) else v
            self.tag(type(v).__name__, len(items))
            for x in items:
                self.value(x, depth + 1)
        elif isinstance(v, dict):
            self.tag("dict", len(v))
            for k, x in v.items():
                self.value(k, depth + 1)
                self.value(x, depth + 1)
        elif isinstance(v, types.ModuleType):
            self.tag("module", v.__name__, getattr(v, "__version__", None))
        elif isinstance(v, nn.Module):
            self.module(v)
        elif isinstance(v, type):
            self.tag("class", v.__module__, v.__qualname__)
            self.class_code(v, depth)
        elif isinstance(v, (types.FunctionType, types.MethodType, types.CodeType, functools.partial)) \
                or (callable(v) and not _library_class(type(v))):
            self.function(v, depth)
        else:
            try:
                data = pickle.dumps(v, protocol=4)
            except Exception as exc:  # noqa: BLE001 - any unpicklable object: no fingerprint
                raise Unhashable(f"{type(v).__name__} object") from exc
            self.tag("pickle", type(v).__qualname__)
            self.h.update(data)

    def function(self, fn, depth: int) -> None:
        """A function by its behaviour: bytecode, constants (nested code too), names, defaults,
        closure cells and the module globals it reads."""
        if isinstance(fn, types.MethodType):
            self.value(fn.__self__, depth + 1)
            fn = fn.__func__
        if isinstance(fn, functools.partial):
            self.tag("partial")
            self.value(fn.func, depth + 1)
            self.value(fn.args, depth + 1)
            self.value(fn.keywords, depth + 1)
            return
        if not isinstance(fn, (types.FunctionType, types.CodeType)):  # a callable object
            self.tag("callable", type(fn).__module__, type(fn).__qualname__)
            self.class_code(type(fn), depth)
            self.value(dict(vars(fn)) if hasattr(fn, "__dict__") else None, depth + 1)
            return
        if id(fn) in self.seen:
            self.tag("seen", getattr(fn, "__qualname__", ""))
            return
        self.seen.add(id(fn))
        code = fn if isinstance(fn, types.CodeType) else fn.__code__
        self.code(code)
        if isinstance(fn, types.FunctionType):
            self.value(fn.__defaults__, depth + 1)
            self.value(fn.__kwdefaults__, depth + 1)
            for cell in fn.__closure__ or ():
                try:
                    contents = cell.cell_contents
                except ValueError:  # an empty cell
                    contents = None
                self.value(contents, depth + 1)
            for name in _global_names(code):
                if name in fn.__globals__:
                    self.tag("global", name)
                    self.value(fn.__globals__[name], depth + 1)

    def code(self, code: types.CodeType) -> None:
        self.tag("code", code.co_name, code.co_names, code.co_varnames, code.co_argcount)
        self.h.update(code.co_code)
        for c in code.co_consts:
            if isinstance(c, types.CodeType):
                self.code(c)
            else:
                self.tag(type(c).__name__, c)

    def class_code(self, cls: type, depth: int) -> None:
        """The methods a user's class defines itself (torch's and numpy's own are fixed by their
        versions, which the fingerprint holds)."""
        for klass in cls.__mro__:
            if _library_class(klass) or id(klass) in self.seen:
                continue
            self.seen.add(id(klass))
            self.tag("class", klass.__module__, klass.__qualname__)
            for name, attr in sorted(vars(klass).items()):
                if isinstance(attr, (staticmethod, classmethod)):
                    attr = attr.__func__
                if isinstance(attr, property):
                    attr = attr.fget
                if isinstance(attr, types.FunctionType):
                    self.tag("method", name)
                    self.function(attr, depth + 1)
                elif isinstance(attr, _PLAIN):
                    self.tag("attr", name, attr)

    def module(self, model: nn.Module) -> None:
        self.tag("nn.Module", repr(model))
        for name, m in model.named_modules():
            self.tag("submodule", name, type(m).__module__, type(m).__qualname__, m.training)
            self.class_code(type(m), 0)
            plain = {k: v for k, v in vars(m).items()
                     if not k.startswith("_") and k != "training"
                     and isinstance(v, (*_PLAIN, list, tuple, dict, torch.Tensor, np.ndarray))}
            self.value(plain, 1)
        for name, t in model.state_dict().items():
            self.tag("state", name)
            self.value(t)


def _library_class(cls: type) -> bool:
    return cls.__module__.split(".")[0] in ("builtins", "torch", "numpy", "typing", "abc", "functools")


def _global_names(code: types.CodeType):
    yield from code.co_names
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            yield from _global_names(c)


def task_fingerprint(task, version: str) -> str | None:
    """Digest of everything in `task` a measurement depends on (plus `version`, the cache
    format); None when some part cannot be fingerprinted (then nothing may be cached)."""
    hasher = _Hasher()
    hasher.tag(version, __version__, torch.__version__, np.__version__)
    try:
        hasher.module(task.model)
        hasher.tag("calibration")
        hasher.value(list(task.calibration))
        hasher.tag("evaluation")
        hasher.value(list(task.evaluation))
        hasher.tag("metric")
        hasher.value(task.metric)
    except (Unhashable, RuntimeError, TypeError, ValueError):  # e.g. a sparse or meta tensor
        return None
    return hasher.h.hexdigest()[:24]
