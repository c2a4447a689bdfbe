"""A small epidemic (SIR) model in days, with scenarios and a Latin hypercube study.

Not the empowerment model: no card, no stages, no reference modes; for the tests that
a briefing works for any scalar model (tests/report/test_briefing_generic.py, test_browser.py).
"""

from __future__ import annotations

from pathlib import Path

from conftest import control

SIR_MDL = """{UTF-8}
********************************************************
\t.Epidemic
********************************************************~
\t\tThe spread of the disease.
\t|

Susceptible= INTEG(-infection, population - initial infected)
\t~\tpeople [0,?]
\t~\tPeople who can catch the disease.
\t|

Infected= INTEG(infection - recovery, initial infected)
\t~\tpeople [0,?]
\t~\tPeople who are ill and contagious.
\t|

Recovered= INTEG(recovery, 0)
\t~\tpeople [0,?]
\t~\tPeople who have recovered and are immune.
\t|

infection= contact rate * infectivity * Susceptible * Infected / population
\t~\tpeople/Day
\t~\tNew infections a day.
\t|

recovery= Infected / illness duration
\t~\tpeople/Day
\t~\tRecoveries a day.
\t|

********************************************************
\t.Policy
********************************************************~
\t\tWhat a health authority can change.
\t|

contact rate= 8
\t~\t1/Day [0,20]
\t~\tContacts per person a day.
\t|

infectivity= 0.05
\t~\tDmnl [0,1]
\t~\tChance that a contact infects.
\t|

illness duration= 5
\t~\tDay [1,20]
\t~\tDays a person is ill.
\t|

population= 1e+06
\t~\tpeople [1,?]
\t~\tPeople in the region.
\t|

initial infected= 10
\t~\tpeople [1,1000]
\t~\tInfected at the start.
\t|

********************************************************
\t.Control
********************************************************~
\t\tSimulation control.
\t|
""" + control(dt=0.125, unit="Day", final=100, saveper=1)

SCENARIOS = {
    "baseline": ("Baseline: no measures", "基准：不采取措施", ""),
    "distancing": ("Distancing: half the contacts", "保持距离：接触减半",
                   '[constants]\n"contact rate" = 4\n'),
    "late-distancing": ("Late distancing: from day 20", "延迟保持距离：第 20 天起",
                        '[inputs."contact rate"]\nform = "step"\nbefore = 8\nafter = 4\n'
                        "time = 20\n"),
}

SPEC = """name = "epidemic-lhs"
title = "Contacts, infectivity and illness duration (Latin hypercube)"
scenario = "../baseline.toml"

[method]
name = "lhs"
samples = 24
seed = 11

[execution]
chunk_size = 24

[parameters."contact rate"]
distribution = "uniform"
low = 4
high = 12

[parameters.infectivity]
distribution = "uniform"
low = 0.03
high = 0.07

[parameters."illness duration"]
distribution = "uniform"
low = 3
high = 8

[[outputs]]
kind = "max"
variable = "Infected"

[[outputs]]
kind = "final"
variable = "Recovered"

[bands]
variables = ["Infected"]
"""


def write_sir(folder: Path) -> dict[str, Path]:
    """Write the model, its three scenarios and the study under ``folder``."""
    (folder / "models").mkdir(parents=True, exist_ok=True)
    (folder / "scenarios" / "sensitivity").mkdir(parents=True, exist_ok=True)
    model = folder / "models" / "sir.mdl"
    model.write_text(SIR_MDL, encoding="utf-8")
    for name, (en, zh, body) in SCENARIOS.items():
        (folder / "scenarios" / f"{name}.toml").write_text(
            f'name = "{name}"\ntitle = {{ en = "{en}", zh = "{zh}" }}\n'
            f'description = {{ en = "{en}.", zh = "{zh}。" }}\n'
            f'model = "../models/sir.mdl"\n{body}', encoding="utf-8")
    spec = folder / "scenarios" / "sensitivity" / "epidemic-lhs.toml"
    spec.write_text(SPEC, encoding="utf-8")
    return {"model": model, "scenarios": folder / "scenarios", "spec": spec}
