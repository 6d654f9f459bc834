"""The one place where configuration strings become dgeo objects: solvers, sensitivity methods
and physical models."""

from __future__ import annotations

import importlib
import inspect

import diffrax

from ..physics import PhysicalModel
from ..solve import Adjoint, Backprop, Checkpoint, Continuous, Discrete, Forward, ImplicitEuler
from ._values import ConfigError

SOLVERS = {
    "discrete": Discrete,
    "tsit5": lambda: Continuous(diffrax.Tsit5()),
    "dopri5": lambda: Continuous(diffrax.Dopri5()),
    "kvaerno5": lambda: Continuous(diffrax.Kvaerno5()),
    "implicit_euler": ImplicitEuler,
}
SENSITIVITIES = {
    "backprop": Backprop,
    "checkpoint": Checkpoint,
    "adjoint": Adjoint,
    "forward": Forward,
}

#: The physical model when a configuration names none.
DEFAULT_PHYSICS = "exphydro"


def _is_model(value) -> bool:
    return (
        isinstance(value, type)
        and issubclass(value, PhysicalModel)
        and not inspect.isabstract(value)
    )


def known_physics() -> dict[str, type[PhysicalModel]]:
    """Lower-case name -> class of every concrete `PhysicalModel` that `dgeo.physics` exports:
    exporting a model from `dgeo.physics` is what makes its name known here."""
    from .. import physics

    classes = (getattr(physics, name) for name in physics.__all__)
    return {cls.__name__.lower(): cls for cls in classes if _is_model(cls)}


def _import_class(spec: str, where: str) -> type:
    module_name, _, class_name = spec.partition(":")
    if not module_name or not class_name.isidentifier():
        raise ConfigError(f"{where} is {spec!r}; an import path is 'package.module:ClassName'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise ConfigError(f"{where}: cannot import module {module_name!r} ({err})") from None
    if not hasattr(module, class_name):
        raise ConfigError(f"{where}: module {module_name} has no {class_name}")
    return getattr(module, class_name)


def _split(spec, where: str):
    """(the name, the options) of a physics spec: a name, or a mapping {name: ..., **options}."""
    if not isinstance(spec, dict):
        return spec, {}
    if "name" not in spec:
        raise ConfigError(
            f"{where} as a mapping needs a `name` (e.g. {{name: hbv, nmul: 16, dynamic: "
            f"[BETA, BETAET]}}), got keys {', '.join(map(str, spec)) or 'none'}"
        )
    return spec["name"], {k: v for k, v in spec.items() if k != "name"}


def physics_class(spec, where: str = "physics") -> type[PhysicalModel]:
    """The `PhysicalModel` subclass `spec` names: a name exported by `dgeo.physics` (any case,
    `exphydro` is `ExpHydro`) or an import path 'package.module:ClassName'; or a mapping of
    such a `name` and the model's options (`{name: hbv, nmul: 16}`)."""
    spec, _ = _split(spec, where)
    known = known_physics()
    if not isinstance(spec, str) or not spec:
        raise ConfigError(
            f"{where} must be a model name ({', '.join(known)}) or an import path "
            f"'package.module:ClassName', got {spec!r}"
        )
    if ":" not in spec:
        if spec.lower() not in known:
            raise ConfigError(
                f"{where} is {spec!r}; known physical models: {', '.join(known)} (those "
                "dgeo.physics exports), or an import path 'package.module:ClassName'"
            )
        return known[spec.lower()]
    cls = _import_class(spec, where)
    if not _is_model(cls):
        raise ConfigError(f"{where}: {spec} is not a concrete dgeo.physics.PhysicalModel subclass")
    return cls


def physics_name(spec, where: str = "physics") -> str | dict:
    """The canonical name of the physical model `spec` names (the lower-case name of a
    dgeo.physics export, else its import path), checked to build without arguments; for a
    mapping `{name: ..., **options}`, the same mapping with the canonical name, checked to
    build with those options (`Hbv(nmul=16, dynamic=["BETA", "BETAET"])`)."""
    name, options = _split(spec, where)
    cls = physics_class(name, where)
    try:
        cls(**options)
    except (TypeError, ValueError) as err:
        how = f"with {options}" if options else "without arguments"
        raise ConfigError(f"{where}: {name} cannot be built {how} ({err})") from None
    known = known_physics()
    name = cls.__name__.lower() if known.get(cls.__name__.lower()) is cls else name
    return {"name": name, **options} if isinstance(spec, dict) else name


def physics_model(spec) -> PhysicalModel:
    """A fresh instance of the physical model `spec` names (with its options, if a mapping)."""
    name, options = _split(spec, "physics")
    return physics_class(name)(**options)
