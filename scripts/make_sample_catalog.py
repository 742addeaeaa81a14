#!/usr/bin/env python3
"""Writes samples/catalog.json: a sample tenant (an automotive supplier's plant).

UUIDs are derived from names (uuid5) so the file is stable when regenerated.
"""
import json, uuid, pathlib

NS = uuid.UUID("6f1c2a52-0d5e-4a8e-9b61-3c3b1d6e2f10")
def uid(*parts):
    return str(uuid.uuid5(NS, "/".join(parts)))

teams = ["Montage Süd", "Montage Nord", "Lackiererei", "Presswerk", "Schweißerei",
         "Qualitätssicherung", "Logistik & Versand", "Instandhaltung", "Spritzguss",
         "Endkontrolle", "Werkzeugbau", "Wareneingang"]
team = {t: {"id": uid("team", t), "name": t} for t in teams}

def kpi(name, interval, unit, integer, values, recording, sub_tiles=(), tvt=None, tvs=None):
    k = {
        "id": uid("kpi", name),
        "name": name,
        "kpiValueIsInteger": integer,
        "kpiValueTimeReference": interval,
        "unit": unit,
        "kpiValues": [{"id": uid("kpi", name, "value", v), "name": v} for v in values],
        "recordingTeams": [team[t] for t in recording],
    }
    if tvt: k["targetValueType"] = tvt
    if tvs: k["targetValueScope"] = tvs
    if sub_tiles:
        k["subTiles"] = [{"id": uid("kpi", name, "sub", s), "name": s} for s in sub_tiles]
    return k

AT = ["Actual", "Target"]
assembly = ["Montage Süd", "Montage Nord"]
production = ["Montage Süd", "Montage Nord", "Lackiererei", "Presswerk", "Schweißerei", "Spritzguss"]
kpis = [
    kpi("OEE", "DAY", "%", False, AT, production, tvt="MIN", tvs="DAY"),
    kpi("Output", "DAY", "pcs", True, AT, production, tvt="MIN", tvs="DAY"),
    kpi("Scrap rate", "DAY", "%", False, AT, production, tvt="MAX", tvs="DAY"),
    kpi("Scrap", "DAY", "pcs", True, AT, production, tvt="MAX", tvs="DAY"),
    kpi("Rework", "DAY", "pcs", True, ["Actual"], production),
    kpi("First pass yield", "DAY", "%", False, AT, ["Endkontrolle", "Qualitätssicherung"] + assembly),
    kpi("Shift start", "DAY", "Time", True, AT, assembly + ["Lackiererei", "Logistik & Versand"]),
    kpi("Line stop time", "DAY", "min", True, AT, production),
    kpi("Downtime by cause", "DAY", "min", True, ["Actual"], production,
        sub_tiles=["Mechanical", "Electrical", "Material shortage", "Changeover"]),
    kpi("Accidents", "DAY", "count", True, ["Actual"], teams),
    kpi("Near misses", "WEEK", "count", True, ["Actual"], teams),
    kpi("Attendance rate", "DAY", "%", False, AT, teams),
    kpi("Absence hours", "WEEK", "h", False, ["Actual"], teams),
    kpi("On-time delivery", "DAY", "%", False, AT, ["Logistik & Versand"], tvt="MIN", tvs="DAY"),
    kpi("Shipments", "DAY", "count", True, AT, ["Logistik & Versand"]),
    kpi("Inbound deliveries", "DAY", "count", True, ["Actual"], ["Wareneingang"]),
    kpi("Inventory value", "MONTH", "EUR", False, AT, ["Logistik & Versand", "Wareneingang"]),
    kpi("Customer complaints", "WEEK", "count", True, AT, ["Qualitätssicherung"]),
    kpi("PPM", "MONTH", "ppm", False, AT, ["Qualitätssicherung"]),
    kpi("MTBF", "MONTH", "h", False, AT, ["Instandhaltung"]),
    kpi("MTTR", "MONTH", "min", False, AT, ["Instandhaltung"]),
    kpi("Planned maintenance done", "WEEK", "%", False, AT, ["Instandhaltung", "Werkzeugbau"]),
    kpi("5S audit score", "MONTH", "points", True, AT, teams),
    kpi("Improvement ideas", "MONTH", "count", True, AT, teams),
    kpi("Energy consumption", "WEEK", "kWh", False, AT, ["Lackiererei", "Presswerk", "Spritzguss"]),
    kpi("Tool changes", "WEEK", "count", True, ["Actual"], ["Werkzeugbau", "Presswerk", "Spritzguss"]),
]
out = {"teams": list(team.values()), "kpis": kpis}
path = pathlib.Path(__file__).resolve().parent.parent / "samples" / "catalog.json"
path.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
print(f"wrote {path}: {len(teams)} teams, {len(kpis)} KPIs")
