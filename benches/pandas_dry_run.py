#!/usr/bin/env python3
"""The comparison script for docs/PERFORMANCE.md: what analysts write today, done well.

pandas reads the semi-wide CSV, then the same normalisation as vsimport's dry run with dict
look-ups: KPI and team names to ids (checked against recording teams), value names to slot
ids, ISO dates parsed, numbers checked (integer KPIs), records keyed and deduped.
Usage: python3 benches/pandas_dry_run.py target/bench-data/semi_wide_1m.csv samples/catalog.json
       [--sep ';'] [--encoding cp1252] [--decimal ','] [--date-format '%d.%m.%Y']
       [--layout semi-wide|long|wide]
A `Sub-tile` column, when the file has one, is part of the record key; Time KPIs' `HH:MM`
cells become minutes. Layouts as the bench generator writes them: semi-wide `Date, Team, KPI,
Actual, Target`; long `Date, Team, KPI, Value, Amount` (Value names the slot); wide `Date,
Team` and one column per KPI (its Actual value).
"""
import json
import sys
import time

import pandas as pd

path, catalog_path = sys.argv[1], sys.argv[2]
opts = dict(zip(sys.argv[3::2], sys.argv[4::2]))
sep = opts.get("--sep", ",")
encoding = opts.get("--encoding", "utf-8")
decimal = opts.get("--decimal", ".")
date_format = opts.get("--date-format", "%Y-%m-%d")
layout = opts.get("--layout", "semi-wide")
t0 = time.perf_counter()
catalog = json.load(open(catalog_path, encoding="utf-8"))
kpis = {k["name"]: k for k in catalog["kpis"]}
teams = {}
for k in catalog["kpis"]:
    for t in k["recordingTeams"]:
        teams[t["name"]] = t["id"]
recording = {(k["id"], t["id"]) for k in catalog["kpis"] for t in k["recordingTeams"]}
slots = {(k["name"], v["name"]): v["id"] for k in catalog["kpis"] for v in k["kpiValues"]}

df = pd.read_csv(path, dtype=str, keep_default_na=False, sep=sep, encoding=encoding)
subs = df["Sub-tile"] if "Sub-tile" in df.columns else [""] * len(df)
t_read = time.perf_counter()


def cells():
    """(date, team, kpi, sub-tile, [(value name, cell)]) per KPI of each row."""
    if layout == "long":
        for date, team, kpi, sub, name, amount in zip(
            df["Date"], df["Team"], df["KPI"], subs, df["Value"], df["Amount"]
        ):
            yield date, team, kpi, sub, ((name, amount),)
    elif layout == "wide":
        names = [c for c in df.columns if c not in ("Date", "Team")]
        for row in zip(df["Date"], df["Team"], *(df[c] for c in names)):
            for kpi, cell in zip(names, row[2:]):
                yield row[0], row[1], kpi, "", (("Actual", cell),)
    else:
        for date, team, kpi, sub, actual, target in zip(
            df["Date"], df["Team"], df["KPI"], subs, df["Actual"], df["Target"]
        ):
            yield date, team, kpi, sub, (("Actual", actual), ("Target", target))


plan = {}
rejected = 0
for date, team, kpi, sub, pairs in cells():
    k = kpis.get(kpi)
    t = teams.get(team)
    if k is None or t is None or (k["id"], t) not in recording:
        rejected += 1
        continue
    try:
        time.strptime(date, date_format)
    except ValueError:
        rejected += 1
        continue
    values = {}
    ok = True
    for name, cell in pairs:
        if cell == "":
            continue
        try:
            if k["unit"] == "Time":
                h, m = cell.split(":")
                x = float(int(h) * 60 + int(m))
            else:
                x = float(cell.replace(decimal, ".") if decimal != "." else cell)
        except ValueError:
            ok = False
            break
        if k["kpiValueIsInteger"] and not x.is_integer():
            ok = False
            break
        values[slots[(kpi, name)]] = x
    if not ok:
        rejected += 1
        continue
    if not values:
        continue
    key = (date, t, k["id"], sub)
    plan.setdefault(key, {}).update(values)
t_end = time.perf_counter()
print(f"rows {len(df)}, records {len(plan)}, values {sum(len(v) for v in plan.values())}, rejected {rejected}")
print(f"pandas read {t_read - t0:.2f} s, total {t_end - t0:.2f} s")
