"""SMOOTH, DELAY, TREND and FORECAST as the stocks they are, for loop analysis.

A stateful function inside an equation (:class:`~sdkit.ir.core.HiddenStock`) holds
stocks that the model's equations do not name.  Loops That Matter scores links
into and out of stocks, so :func:`expand` writes each function's stocks and
output into a copy of the IR (:class:`LoopIR`) as ordinary stocks and
variables, named after the function and its variable (``"DELAY3 in
'arrivals' stock 1"``), and :func:`sdkit.loops.hidden_values.reconstruct`
computes their values over a run from the run's saved values, integrating them
as PySD does (Euler, the same operations), so that every link through them is
scored like the link of a model written with explicit stocks.

Per construct (``n`` the order, ``T`` the smoothing or delay time):

* ``SMOOTH``, ``SMOOTHI`` (n = 1), ``SMOOTH3``, ``SMOOTH3I`` (n = 3), ``SMOOTH N``
  (n constant): n stocks in a chain; stock 1 adjusts to the input, stock i to
  stock i-1, each at the rate ``(target - stock) * n / T``; the last stock is
  the output;
* ``DELAY1``, ``DELAY1I``, ``DELAY3``, ``DELAY3I``, ``DELAY N``: n stocks in a
  chain and their n outflows, as Vensim defines DELAY3 (stocks ``LV1..LV3``,
  flows ``RT1``, ``RT2`` and the output): the outflow of stage i is
  ``flow_i = stock_i / T`` and flows into stage i+1; stage i's rate is
  ``(flow_(i-1) - flow_i) * n`` (``flow_0`` the input; PySD's state is n
  times the material of a stage); the output is the last outflow.  ``DELAY N``
  needs a constant order, and a delay time that does not change during the run
  (PySD's DELAY N otherwise gives each stage the delay time of when its
  material entered, which has no stock-and-flow form);
* ``TREND``, ``FORECAST``: one stock, the average ``(input - average) / T``;
  the output is the function of input and average that Vensim defines;
* ``INITIAL``: a constant after the start; no link leads into it;
* ``DELAY FIXED`` (a pipeline: the input of ``T`` ago, no stock) and ``SAMPLE IF
  TRUE`` (a sample held while a condition is false, no flow): their values are
  reconstructed so that the equations using them can be evaluated, but a loop
  through them cannot be scored; :func:`refusal` gives the one-line reason.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from pathlib import Path  # noqa: F401  (in the annotations LoopIR inherits from ModelIR)

from sdkit.ir.core import BinOp, Call, Expr, HiddenStock, IRVariable, ModelIR, Num, Ref, Stock

__all__ = ["Structure", "LoopIR", "expand", "refusal", "STATUS", "SMOOTH", "DELAY",
           "AVERAGE", "TIME"]

#: What loop analysis does with each construct (docs and messages).
STATUS = {
    "SMOOTH": "scored: one stock",
    "SMOOTHI": "scored: one stock",
    "SMOOTH3": "scored: three stocks in a chain",
    "SMOOTH3I": "scored: three stocks in a chain",
    "SMOOTH N": "scored: n stocks in a chain (constant order)",
    "DELAY1": "scored: one stock and its outflow",
    "DELAY1I": "scored: one stock and its outflow",
    "DELAY3": "scored: three stocks in a chain and the outflow",
    "DELAY3I": "scored: three stocks in a chain and the outflow",
    "DELAY N": "scored: n stocks in a chain (constant order and delay time)",
    "TREND": "scored: one stock (the average)",
    "FORECAST": "scored: one stock (the average)",
    "INITIAL": "a constant: no loop passes through it",
    "DELAY FIXED": "refused: a pipeline delay has no stock, so a loop through it has no "
                   "link score; write it as DELAY N or with explicit stocks",
    "SAMPLE IF TRUE": "refused: a held sample has no flow, so a loop through it has no "
                      "link score",
}
#: The kinds written out as a chain of stocks, a delay chain, and an average.
SMOOTH, DELAY, AVERAGE = ("smooth", "smooth_n"), ("delay", "delay_n"), ("trend", "forecast")
_NAMES = {"smooth_n": "SMOOTH N", "delay_n": "DELAY N", "delay_fixed": "DELAY FIXED",
          "trend": "TREND", "forecast": "FORECAST", "sample_if_true": "SAMPLE IF TRUE",
          "initial": "INITIAL"}
#: The argument holding each kind's smoothing, delay or averaging time.
TIME = {"smooth": "smooth_time", "smooth_n": "smooth_time", "delay": "delay_time",
        "delay_n": "delay_time", "delay_fixed": "delay_time", "trend": "average_time",
        "forecast": "average_time"}


@dataclass(frozen=True)
class Structure:
    """The stocks and output of one stateful function.

    Attributes
    ----------
    py_name : str
        The function's py name (``_delay_arrivals``): its output, which the owner's
        equation references.
    kind : str
        :attr:`~sdkit.ir.core.HiddenStock.kind`.
    construct : str
        As written in Vensim: ``"DELAY3"``, ``"SMOOTH N"``...
    label : str
        ``"DELAY3 in 'arrivals'"``: the output's name in the causal graph.
    owner : str
        py name of the variable whose equation holds the function.
    stocks : tuple of str
        py names of its stocks in chain order (empty: no stocks).
    flows : tuple of str
        py names of a DELAY's stage outflows (the last is ``py_name``; empty otherwise).
    order : int
        Number of stocks of a SMOOTH or DELAY (0 otherwise).
    refused : str
        Why no loop through it can be scored (empty: it can).
    args : dict of str to Expr
        The function's arguments (:attr:`~sdkit.ir.core.HiddenStock.args`).
    """

    py_name: str
    kind: str
    construct: str
    label: str
    owner: str
    stocks: tuple[str, ...] = ()
    flows: tuple[str, ...] = ()
    order: int = 0
    refused: str = ""
    args: dict[str, Expr] = field(default_factory=dict, compare=False)


@dataclass
class LoopIR(ModelIR):
    """A :class:`~sdkit.ir.core.ModelIR` whose stateful functions are written out.

    ``hidden`` is empty; every function is a :class:`Structure` in ``structures``
    (by its py name) with its stocks in ``stocks`` and its output in ``variables``.
    """

    structures: dict[str, Structure] = field(default_factory=dict)

    def structure_of(self, py_name: str) -> Structure | None:
        """The function a py name (its output, one of its stocks or flows) belongs to."""
        index = self.__dict__.get("_members")
        if index is None:
            index = self.__dict__["_members"] = {
                member: s for s in self.structures.values()
                for member in (s.py_name, *s.stocks, *s.flows)}
        return index.get(py_name)


def _construct(hidden: HiddenStock, order: int, others: Collection[str]) -> str:
    """The function as written: ``SMOOTH3I`` when an initial value is given (PySD repeats
    a function nested in the input for the initial value: ``others`` are their names)."""
    if hidden.kind in ("smooth", "delay"):
        name = ("SMOOTH" if hidden.kind == "smooth" else "DELAY") + \
            ("3" if order == 3 else "1" if hidden.kind == "delay" else "")
        shapes = [re.sub(r"name='([^']*)'", lambda m: "name=''" if m[1] in others else m[0],
                         repr(hidden.args.get(key))) for key in ("initial", "input")]
        return name + ("I" if shapes[0] != shapes[1] else "")
    return _NAMES.get(hidden.kind, hidden.kind.upper().replace("_", " "))


def _order(ir: ModelIR, hidden: HiddenStock) -> int | None:
    """The order as a number, from a literal or a constant; None when it is neither."""
    expr = hidden.args.get("order")
    if isinstance(expr, Ref) and expr.name in ir.variables \
            and ir.variables[expr.name].kind == "constant":
        expr = ir.variables[expr.name].equation
    if isinstance(expr, Num):
        return int(expr.value)
    return None


def _chain(hidden: HiddenStock, stocks: tuple[str, ...], flows: tuple[str, ...],
           order: int) -> list[Expr]:
    """The net rates of a SMOOTH's or DELAY's stocks, with PySD's operations."""
    time, source = hidden.args[TIME[hidden.kind]], hidden.args["input"]
    rates: list[Expr] = []
    for i, stock in enumerate(stocks):
        if hidden.kind in SMOOTH:
            target = source if i == 0 else Ref(stocks[i - 1])
            rates.append(BinOp("/", BinOp("*", BinOp("-", target, Ref(stock)), Num(order)),
                               time))
        else:
            inflow = source if i == 0 else Ref(flows[i - 1])
            rates.append(BinOp("*", BinOp("-", inflow, Ref(flows[i])), Num(order)))
    return rates


def _output(hidden: HiddenStock, stocks: tuple[str, ...]) -> Expr:
    """The output of a TREND or FORECAST from its stock."""
    args = hidden.args
    average, source, time = Ref(stocks[0]), args["input"], args["average_time"]
    gap = BinOp("-", source, average)
    if hidden.kind == "trend":
        return Call("zidz", (gap, BinOp("*", time, Call("abs", (average,)))))
    change = Call("zidz", (gap, BinOp("*", time, average)))
    return BinOp("*", source, BinOp("+", Num(1), BinOp("*", change, args["horizon"])))


def _initial(hidden: HiddenStock) -> Expr:
    """The initial value of each of the function's stocks (PySD's state)."""
    args = hidden.args
    if hidden.kind in DELAY:
        return BinOp("*", args["initial"], args["delay_time"])
    if hidden.kind in AVERAGE:
        trend = args["initial_trend"]
        if hidden.kind == "trend":
            trend = BinOp("*", trend, args["average_time"])
        return BinOp("/", args["input"], BinOp("+", Num(1), trend))
    return args["initial"]


def _variable(name: str, py_name: str, kind: str, owner: str,
              equation: Expr | None = None) -> IRVariable:
    return IRVariable(name=name, py_name=py_name, kind=kind, units="", limits=(None, None),
                      comment=f"written out by sdkit for loop analysis ({owner})",
                      equation=equation)


def _labels(ir: ModelIR) -> dict[str, tuple[str, int]]:
    """Each function's label and order, numbered when a variable holds several alike."""
    seen: dict[tuple[str, str], int] = {}
    out = {}
    for py_name, hidden in ir.hidden.items():
        order = _order(ir, hidden) if hidden.kind in SMOOTH + DELAY else 0
        construct = _construct(hidden, order or 0, ir.hidden)
        owner = ir.variables[hidden.owner].name if hidden.owner in ir.variables \
            else hidden.owner
        count = seen[(hidden.owner, construct)] = seen.get((hidden.owner, construct), 0) + 1
        number = f" #{count}" if count > 1 else ""
        out[py_name] = (f"{construct}{number} in '{owner}'", order or 0)
    return out


def _write_out(base: Structure, hidden: HiddenStock, variables: dict[str, IRVariable],
               stocks: dict[str, Stock]) -> Structure:
    """Add the stocks and flows of a SMOOTH, DELAY, TREND or FORECAST; its structure."""
    count = 1 if hidden.kind in AVERAGE else base.order
    py_name, label = base.py_name, base.label
    names = tuple(f"{py_name}__stage{i + 1}" for i in range(count))
    flows: tuple[str, ...] = ()
    if hidden.kind in SMOOTH:
        names = (*names[:-1], py_name)
    elif hidden.kind in DELAY:
        flows = (*(f"{py_name}__flow{i + 1}" for i in range(count - 1)), py_name)
        for i, flow in enumerate(flows):
            variables[flow] = _variable(label if flow == py_name else f"{label} flow {i + 1}",
                                        flow, "flow", label,
                                        BinOp("/", Ref(names[i]), hidden.args["delay_time"]))
    else:
        variables[py_name] = _variable(label, py_name, "flow", label, _output(hidden, names))
    rates = _chain(hidden, names, flows, count) if hidden.kind not in AVERAGE else [
        BinOp("/", BinOp("-", hidden.args["input"], Ref(names[0])),
              hidden.args["average_time"])]
    for i, (stock, rate) in enumerate(zip(names, rates, strict=True)):
        name = label if stock == py_name else f"{label} average" if hidden.kind in AVERAGE \
            else f"{label} stock" + (f" {i + 1}" if count > 1 else "")
        variables[stock] = _variable(name, stock, "stock", label)
        inflows = (flows[i - 1],) if flows and i > 0 else ()
        stocks[stock] = Stock(name, stock, _initial(hidden), rate, inflows,
                              (flows[i],) if flows else ())
    return replace(base, stocks=names, flows=flows, order=count)


def expand(ir: ModelIR) -> LoopIR:
    """A copy of ``ir`` with every stateful function written out (see the module docstring).

    Parameters
    ----------
    ir : ModelIR

    Returns
    -------
    LoopIR
        ``ir`` itself when it is one already.
    """
    if isinstance(ir, LoopIR):
        return ir
    variables, stocks = dict(ir.variables), dict(ir.stocks)
    structures: dict[str, Structure] = {}
    for py_name, (label, order) in _labels(ir).items():
        hidden = ir.hidden[py_name]
        base = Structure(py_name, hidden.kind, label.split(" in '")[0].split(" #")[0], label,
                         hidden.owner, order=order, args=dict(hidden.args))
        if hidden.kind in AVERAGE or (hidden.kind in SMOOTH + DELAY and order > 0):
            structures[py_name] = _write_out(base, hidden, variables, stocks)
        elif hidden.kind == "initial":
            variables[py_name] = _variable(label, py_name, "constant", label,
                                           hidden.args.get("initial"))
            structures[py_name] = base
        else:
            reason = STATUS.get(base.construct, "refused: not supported by loop analysis")
            if hidden.kind in SMOOTH + DELAY:
                reason = ("refused: its order is not a positive constant, so its number of "
                          "stocks is unknown")
            variables[py_name] = _variable(label, py_name, "auxiliary", label,
                                           hidden.args.get("input", Num(0)))
            structures[py_name] = replace(base, refused=reason.removeprefix("refused: "))
    return LoopIR(ir.path, ir.format, variables, stocks, {}, ir.macros,
                  structures=structures)


def refusal(structure: Structure, reason: str = "") -> str:
    """The one-line statement that loop scores cannot pass through ``structure``.

    Parameters
    ----------
    structure : Structure
    reason : str, optional
        Why (default: :attr:`Structure.refused`).

    Returns
    -------
    str
    """
    return f"Loop scores cannot pass through {structure.label}: {reason or structure.refused}."
