#!/usr/bin/env python3
"""Derives Sources/DatelineExtraction/Data/countries.tsv from ../shared/gazetteers/countries.json.

The source is under the Open Database License (ODbL); so is the derived file, which says so in its header.
Columns: ISO 3166-1 alpha-2 code, alpha-3 code, common name, official name, capitals, demonyms,
alternative names, region, subregion. List columns are separated by '|'.
"""
import json, os, sys

here = os.path.dirname(os.path.abspath(__file__))
source = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "..", "shared", "gazetteers", "countries.json")
target = os.path.join(here, "..", "Sources", "DatelineExtraction", "Data", "countries.tsv")

# Names newsrooms use that the source lacks (our own additions, not from the source).
extra_names = {
    "US": ["U.S.", "U.S.A.", "US", "USA", "America", "United States of America"],
    "GB": ["U.K.", "UK", "Britain", "Great Britain"],
    "AE": ["UAE", "U.A.E."],
    "KR": ["South Korea"], "KP": ["North Korea"], "RU": ["Russia"], "IR": ["Iran"], "SY": ["Syria"],
    "CN": ["China"], "TW": ["Taiwan"], "VN": ["Vietnam"], "LA": ["Laos"], "BO": ["Bolivia"], "VE": ["Venezuela"],
    "CZ": ["Czech Republic"], "NL": ["Holland"], "CD": ["Congo-Kinshasa"], "CG": ["Congo-Brazzaville"],
}
extra_demonyms = {"US": ["American", "Americans"], "GB": ["British", "Briton"], "NL": ["Dutch"], "CH": ["Swiss"],
                  "FR": ["French"], "ES": ["Spanish"], "CN": ["Chinese"], "JP": ["Japanese"], "IE": ["Irish"]}
# Capitals and seats of government as reporters name them.
extra_capitals = {"US": ["Washington", "Washington, D.C."], "IN": ["New Delhi"], "IL": ["Jerusalem", "Tel Aviv"],
                  "NL": ["The Hague"], "ZA": ["Pretoria", "Cape Town"]}
# Two-letter codes that are ordinary English words; kept as codes but never matched as names.
def clean(values):
    out = []
    for v in values:
        v = v.strip()
        if v and v not in out and "|" not in v and "\t" not in v:
            out.append(v)
    return out

rows = []
for c in json.load(open(source, encoding="utf-8")):
    code = c["cca2"]
    names = [c["name"]["common"]]
    official = c["name"].get("official", "")
    alts = [a for a in c.get("altSpellings", []) if len(a) > 3 and a.isascii()] + extra_names.get(code, [])
    dem = c.get("demonyms", {}).get("eng", {})
    demonyms = clean([dem.get("m", ""), dem.get("f", "")] + extra_demonyms.get(code, []))
    capitals = clean(c.get("capital", []) + extra_capitals.get(code, []))
    rows.append([code, c.get("cca3", ""), names[0], official, "|".join(capitals), "|".join(demonyms),
                 "|".join(clean(alts)), c.get("region", ""), c.get("subregion", "")])
rows.sort()
with open(target, "w", encoding="utf-8") as out:
    out.write("# Derived from ../shared/gazetteers/countries.json (mledoze/countries) by scripts/make-country-gazetteer.py.\n")
    out.write("# This database is made available under the Open Database License: http://opendatacommons.org/licenses/odbl/1.0/\n")
    out.write("# (see countries.LICENSE beside it). Any rights in individual contents of the database are licensed under the\n")
    out.write("# Database Contents License: http://opendatacommons.org/licenses/dbcl/1.0/\n")
    out.write("# code\tcode3\tname\tofficial\tcapitals\tdemonyms\talternatives\tregion\tsubregion\n")
    for r in rows:
        out.write("\t".join(r) + "\n")
print(f"wrote {len(rows)} countries to {os.path.relpath(target)}")
