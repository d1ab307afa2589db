"""The claims the notebooks' prose makes, checked against a run's results.

A lesson states what it measured in words printed from the run; the few sentences that do
not change with the run ("the gain is largest with the fewest labels", "int8 shrinks the
file about four times") are claims. They live in ``notebooks/claims.json`` next to the
notebooks, each with the notebook it belongs to, its sentence, the profiles it is made for,
and a check: a Python expression over the names that notebook recorded in ``results.json``
(``kd_verdict == 'a real gain'``). ``kdtutor run`` and the tests check them and report
each one that fails; nothing in a lesson asserts them.

A check may use names, numbers and strings, comparisons, ``and``/``or``/``not``,
arithmetic, indexing and slicing (``gains[0]``, ``gains[1:]``) and the functions ``abs``,
``min``, ``max``, ``len``, ``all``, ``any``, ``sum``; nothing else is evaluated (no
attributes, no imports).
"""

from __future__ import annotations

import ast
import json
import operator
from pathlib import Path
from typing import NamedTuple

__all__ = ["CLAIMS_FILE", "Claim", "Outcome", "load", "check", "ClaimsFileError"]

CLAIMS_FILE = Path(__file__).resolve().parent.parent.parent / "notebooks" / "claims.json"

_FUNCTIONS = {"abs": abs, "min": min, "max": max, "len": len, "all": all, "any": any, "sum": sum}
_OPERATORS = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.USub: operator.neg, ast.Not: operator.not_,
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge, ast.In: lambda a, b: a in b,
}  # fmt: skip


class ClaimsFileError(ValueError):
    """``claims.json`` is not what :func:`load` expects (the message says where and why)."""


class Claim(NamedTuple):
    notebook: str  # the notebook stem, e.g. "03_distilling_the_student"
    text: str  # the sentence (or its gist) as the notebook states it
    check: str  # an expression over that notebook's recorded names
    profiles: tuple  # the profiles whose runs make this claim


class Outcome(NamedTuple):
    claim: Claim
    holds: bool | None  # None: could not be checked (see `detail`)
    detail: str



def _shown(node: ast.AST) -> str:
    """A node as the check wrote it; an operator has no text of its own (``not in``)."""
    return ast.unparse(node) or {ast.NotIn: "not in", ast.In: "in", ast.Is: "is",
                                 ast.IsNot: "is not"}.get(type(node), type(node).__name__)

def _evaluate(node, names: dict):
    if isinstance(node, ast.Expression):
        return _evaluate(node.body, names)
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        if node.id not in names:
            raise KeyError(node.id)
        return names[node.id]
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_evaluate(item, names) for item in node.elts]
    if isinstance(node, ast.BoolOp):
        values = (_evaluate(value, names) for value in node.values)
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](_evaluate(node.operand, names))
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](_evaluate(node.left, names), _evaluate(node.right, names))
    if isinstance(node, ast.Compare) and all(type(op) in _OPERATORS for op in node.ops):
        left = _evaluate(node.left, names)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = _evaluate(comparator, names)
            if not _OPERATORS[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.Subscript):
        return _evaluate(node.value, names)[_evaluate(node.slice, names)]
    if isinstance(node, ast.Slice):
        return slice(
            *(
                None if part is None else _evaluate(part, names)
                for part in (node.lower, node.upper, node.step)
            )
        )
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCTIONS
        and not node.keywords
    ):
        return _FUNCTIONS[node.func.id](*(_evaluate(arg, names) for arg in node.args))
    raise ClaimsFileError(f"a check may not use {_shown(node)!r} (see kdtutor.series.claims)")


_ALLOWED = (
    ast.Expression, ast.Constant, ast.Name, ast.Load, ast.List, ast.Tuple, ast.BoolOp, ast.And,
    ast.Or, ast.UnaryOp, ast.BinOp, ast.Compare, ast.Subscript, ast.Slice, ast.Call, *_OPERATORS,
)  # fmt: skip


def _parse(check: str, where: str):
    """Parse ``check``, refusing at load time anything :func:`_evaluate` would refuse."""
    try:
        tree = ast.parse(check, mode="eval")
    except SyntaxError as error:
        raise ClaimsFileError(
            f"{where}: the check {check!r} is not an expression: {error.msg}"
        ) from None
    for node in ast.walk(tree):
        called = isinstance(node, ast.Call)
        if (
            not isinstance(node, _ALLOWED)
            or called
            and (
                not isinstance(node.func, ast.Name)
                or node.func.id not in _FUNCTIONS
                or node.keywords
            )
        ):
            raise ClaimsFileError(
                f"{where}: a check may not use {_shown(node)!r}; allowed: names, numbers, "
                f"strings, comparisons, and/or/not, arithmetic, indexing and "
                f"{', '.join(_FUNCTIONS)}"
            )
    return tree


def load(path=None) -> list[Claim]:
    """Read and check ``claims.json``; return its claims in file order.

    The file maps each notebook stem to a list of ``{"claim", "check", "profiles"}``
    objects (default file: :data:`CLAIMS_FILE`). Raises :class:`ClaimsFileError` naming the
    entry and what is wrong with it.
    """
    path = Path(CLAIMS_FILE if path is None else path)
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ClaimsFileError(f"cannot read the claims file {path}: {error}") from None
    if not isinstance(data, dict):
        raise ClaimsFileError(f"{path}: expected an object of notebook stems, got {data!r:.60}")
    claims = []
    for notebook, entries in data.items():
        if notebook.startswith("_"):  # "_comment" and the like
            continue
        for index, entry in enumerate(entries if isinstance(entries, list) else [entries]):
            where = f"{path.name}: {notebook}[{index}]"
            if not isinstance(entry, dict) or set(entry) != {"claim", "check", "profiles"}:
                raise ClaimsFileError(
                    f"{where}: expected an object with the keys claim, check and profiles; "
                    f"got {entry!r:.80}"
                )
            _parse(entry["check"], where)
            claims.append(Claim(notebook, entry["claim"], entry["check"], tuple(entry["profiles"])))
    return claims


def check(results: dict, profile: str, *, notebooks=None, claims=None) -> list[Outcome]:
    """Check the claims made for ``profile`` against ``results`` (a loaded results file).

    Only the claims of ``notebooks`` (stems; default: every notebook in ``results``) are
    checked. A claim whose notebook recorded none of the names its check needs holds
    ``None`` with the reason, so a renamed number shows up instead of passing silently.
    """
    claims = load() if claims is None else claims
    notebooks = set(results) if notebooks is None else set(notebooks)
    outcomes = []
    for claim in claims:
        if profile not in claim.profiles or claim.notebook not in notebooks:
            continue
        names = results.get(claim.notebook)
        if not isinstance(names, dict):
            outcomes.append(Outcome(claim, None, f"{claim.notebook} recorded no results"))
            continue
        try:
            holds = bool(_evaluate(ast.parse(claim.check, mode="eval"), names))
        except KeyError as missing:
            outcomes.append(Outcome(claim, None, f"{claim.notebook} recorded no {missing}"))
            continue
        except (TypeError, IndexError, ValueError, ZeroDivisionError) as error:
            outcomes.append(Outcome(claim, None, f"the check failed: {error}"))
            continue
        outcomes.append(Outcome(claim, holds, "holds" if holds else f"false: {claim.check}"))
    return outcomes
