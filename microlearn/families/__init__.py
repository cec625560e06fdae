"""The family registry: one line per family; each family lists the estimators it converts.

Keys are ``"<top-level package>.<ClassName>"`` (``"sklearn.SVC"``, ``"xgboost.XGBClassifier"``),
looked up along the estimator's class hierarchy, so a subclass of a supported estimator is
converted by the same family and two libraries' classes of the same name cannot clash.
Adding a family: a new package here (see ``microlearn/family.py`` for the contract), one
line in :data:`FAMILIES`, and its runtime header.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import Any

from ..family import Family

#: family name -> module defining ``FAMILY`` (a :class:`microlearn.family.Family`)
FAMILIES = {
    "trees": "microlearn.families.trees",
    "linear": "microlearn.families.linear",
    "svm": "microlearn.families.svm",
    "neighbors": "microlearn.families.neighbors",
    "mixture": "microlearn.families.mixture",
    "preprocessing": "microlearn.families.preprocessing",
    "naive_bayes": "microlearn.families.naive_bayes",
    "nets": "microlearn.families.nets",
    "dsp": "microlearn.families.dsp",
}


@cache
def family(name: str) -> Family:
    """The :class:`Family` record of family ``name``."""
    if name not in FAMILIES:
        raise KeyError(f"unknown family {name!r}; known: {', '.join(FAMILIES)}")
    fam = importlib.import_module(FAMILIES[name]).FAMILY
    if fam.name != name:
        raise RuntimeError(f"{FAMILIES[name]}.FAMILY is named {fam.name!r}, expected {name!r}")
    return fam


@cache
def registry() -> dict[str, Family]:
    """Registry key -> family, for every family."""
    table: dict[str, Family] = {}
    ids: dict[int, str] = {}
    for name in FAMILIES:
        fam = family(name)
        if fam.section_id in ids:
            raise RuntimeError(f"families {ids[fam.section_id]} and {name} share section id "
                               f"{fam.section_id}")
        ids[fam.section_id] = name
        for key in fam.estimators:
            if key in table:
                raise RuntimeError(f"{key} is registered by {table[key].name} and {name}")
            table[key] = fam
    return table


def by_section_id(section_id: int) -> Family | None:
    """The family whose model-file sections carry ``section_id``, or None."""
    for name in FAMILIES:
        if family(name).section_id == section_id:
            return family(name)
    return None


def registry_key(cls: type) -> str:
    """``"<top-level package>.<ClassName>"`` of a class."""
    return f"{cls.__module__.split('.')[0]}.{cls.__name__}"


def lookup(estimator: Any) -> Family | None:
    """The family converting ``estimator`` (searched along its class hierarchy), or None."""
    table = registry()
    for cls in type(estimator).__mro__:
        fam = table.get(registry_key(cls))
        if fam is not None:
            return fam
    return None


#: registry keys that are not estimator classes but model files (the nets family reads
#: ``.tflite`` flatbuffers given as a path or as bytes): listed once, under one name
_FILE_SOURCES = {"builtins": ".tflite file", "pathlib": ".tflite file"}


def supported_estimators() -> list[str]:
    """Names of every supported estimator, sorted: scikit-learn (and microlearn.features)
    classes by class name, other libraries' as ``package.ClassName`` (``xgboost.Booster``,
    ``keras.Sequential``), and ``".tflite file"`` for TFLite flatbuffers (path or bytes)."""
    names = set()
    for key in registry():
        package, name = key.split(".", 1)
        if package in _FILE_SOURCES:
            names.add(_FILE_SOURCES[package])
        elif package in ("sklearn", "microlearn"):
            names.add(name)
        else:
            names.add(key)
    return sorted(names)
