"""Indicator formulas: arithmetic over metric names, evaluated with simpleeval (never
``eval``): numbers, ``+ - * / ( )``, comparisons, ``x if c else y`` and the functions
``min``, ``max``, ``abs`` and ``round``. Names are metric keys (``assessments.metrics``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping

from django.core.exceptions import ValidationError
from django.utils.translation import gettext, gettext_noop
from simpleeval import EvalWithCompoundTypes, InvalidExpression, SimpleEval

MSG_SYNTAX = gettext_noop("The formula is not an expression: %(error)s")
MSG_UNKNOWN = gettext_noop("Unknown metrics in the formula: %(names)s.")
MSG_EMPTY = gettext_noop("The formula names no metric.")

FUNCTIONS = {"min": min, "max": max, "abs": abs, "round": round}
# Safety limits: a formula is short arithmetic.
MAX_LENGTH = 300


def names_in(formula: str) -> list[str]:
    """The metric names a formula uses, in order of first use (functions excluded).
    Raises ``ValidationError`` when it does not parse."""
    try:
        tree = ast.parse(formula.strip(), mode="eval")
    except SyntaxError as error:
        raise ValidationError(gettext(MSG_SYNTAX) % {"error": error.msg}) from None
    out: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id not in FUNCTIONS and node.id not in out:
            out.append(node.id)
    return out


def check_formula(formula: str, known: Iterable[str]) -> list[str]:
    """The metric names of a valid formula; ``ValidationError`` for one that does not parse,
    names unknown metrics, names none or is too long."""
    if len(formula) > MAX_LENGTH:
        raise ValidationError(gettext(MSG_SYNTAX) % {"error": f"> {MAX_LENGTH}"})
    names = names_in(formula)
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise ValidationError(gettext(MSG_UNKNOWN) % {"names": ", ".join(unknown)})
    if not names:
        raise ValidationError(gettext(MSG_EMPTY))
    evaluate(formula, dict.fromkeys(names, 1.0))  # it evaluates (no unsupported syntax)
    return names


def evaluate(formula: str, values: Mapping[str, float]) -> float | None:
    """The formula's value over ``values``. ``ValidationError`` for an expression simpleeval
    refuses (attribute access, calls to other functions, ...); None where one subject's
    figures make the arithmetic fail (a division by zero, an overflow): that indicator is
    not assessable for them, and the others' scores are computed as ever."""
    evaluator: SimpleEval = EvalWithCompoundTypes(names=dict(values), functions=FUNCTIONS)
    try:
        result = evaluator.eval(formula.strip())
    except (ZeroDivisionError, OverflowError):
        return None
    except (InvalidExpression, SyntaxError, TypeError, ValueError) as error:
        raise ValidationError(gettext(MSG_SYNTAX) % {"error": str(error)[:100]}) from None
    if isinstance(result, bool) or not isinstance(result, int | float):
        raise ValidationError(gettext(MSG_SYNTAX) % {"error": type(result).__name__})
    return float(result)
