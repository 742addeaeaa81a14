#!/usr/bin/env python3
"""The comparison for the upload benchmark: what analysts write today, done reasonably well.

A sequential loop with one requests.Session (kept-alive connection): read the semi-wide CSV,
look names up in the catalog, PUT each record. No validation beyond the look-ups.
Usage: VS_USER=u VS_PASSWORD=p python3 benches/python_put.py FILE.csv catalog.json BASE_URL
"""
import csv
import json
import os
import sys
import time

import requests

path, catalog_path, base = sys.argv[1], sys.argv[2], sys.argv[3].rstrip("/")
catalog = json.load(open(catalog_path, encoding="utf-8"))
kpis = {k["name"]: k for k in catalog["kpis"]}
teams = {t["name"]: t["id"] for k in catalog["kpis"] for t in k["recordingTeams"]}
session = requests.Session()
session.auth = (os.environ["VS_USER"], os.environ["VS_PASSWORD"])
headers = {"Content-Type": "application/vs.v2.0+json", "Accept": "application/vs.v2.0+json"}
t0 = time.perf_counter()
n = 0
with open(path, newline="", encoding="utf-8") as f:
    for row in csv.DictReader(f):
        kpi = kpis[row["KPI"]]
        slots = {v["name"]: v["id"] for v in kpi["kpiValues"]}
        values = []
        for name in ("Actual", "Target"):
            if row[name] != "":
                values.append({"kpiValueId": slots[name], "value": float(row[name])})
        url = f"{base}/exchange/kpi-data/{row['Date']}/{teams[row['Team']]}/{kpi['id']}"
        r = session.put(url, data=json.dumps({"values": values}), headers=headers)
        r.raise_for_status()
        n += 1
print(f"{n} records in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
