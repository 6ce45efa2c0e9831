#!/usr/bin/env python3
"""Checks deploy/grafana/burnrate-dashboard.json: it parses, every panel has an id and a place,
every query goes through the ${DS_PROMETHEUS} data source, and every metric a query names is one
Burnrate exposes (so a renamed metric cannot leave a panel silently empty).

  check-dashboard.py [FILE]                  check; exit 1 with one line per problem
  check-dashboard.py --print-exprs [FILE]    print each query, template variables replaced by
                                             match-all values, one a line (for a real Prometheus)
"""
import json
import re
import sys

# The contract with the metrics renderer (`burnrate metrics`, `burnrate serve` GET /metrics).
METRICS = {
    "burnrate_spend_today", "burnrate_spend_month_to_date",
    "burnrate_budget_limit", "burnrate_budget_spent", "burnrate_budget_forecast",
    "burnrate_balance", "burnrate_gateway_price_multiplier",
    "burnrate_source_up", "burnrate_source_last_success_timestamp_seconds",
    "burnrate_source_poll_interval_seconds", "burnrate_unpriced_tokens",
    "burnrate_alerts_total", "burnrate_info",
}
LABELS = {"source", "provider", "key", "key_name", "env", "model", "currency", "kind", "budget",
          "scope", "period", "assessment", "gateway", "version", "job", "instance"}
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
            "offset", "bool", "inf", "nan",
            # aggregation operators, which may stand before `by (…)` rather than before `(`
            "sum", "avg", "min", "max", "count", "group", "stddev", "stdvar", "topk", "bottomk",
            "quantile", "count_values", "limitk", "limit_ratio"}


def all_panels(panels):
    for p in panels:
        yield p
        yield from all_panels(p.get("panels", []))


def metric_names(expr):
    """The metric names an expression selects (functions, keywords and label names left out)."""
    s = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)           # string literals
    s = re.sub(r"\[[^\]]*\]", "", s)                        # ranges, subqueries' steps
    labels_used = set()
    for m in re.finditer(r"\{([^}]*)\}", s):                # matchers: label names
        labels_used |= set(re.findall(r"([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)", m.group(1)))
    s = re.sub(r"\{[^}]*\}", "", s)
    for m in re.finditer(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)", s):
        labels_used |= set(re.findall(r"[a-zA-Z_]\w*", m.group(1)))
    s = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", r"\1", s)
    names = set()
    for m in re.finditer(r"(?<![\w$.])([a-zA-Z_:][\w:]*)(\s*\()?", s):
        word, call = m.group(1), m.group(2)
        if call or word.lower() in KEYWORDS:
            continue
        names.add(word)
    return names, labels_used


def main(argv):
    print_exprs = "--print-exprs" in argv
    args = [a for a in argv if a != "--print-exprs"]
    path = args[0] if args else "deploy/grafana/burnrate-dashboard.json"
    try:
        with open(path, encoding="utf-8") as f:
            dash = json.load(f)
    except (OSError, ValueError) as e:
        print(f"{path}: not readable JSON: {e}", file=sys.stderr)
        return 1
    problems, exprs, ids = [], [], set()
    variables = {v["name"] for v in dash.get("templating", {}).get("list", [])}
    if "DS_PROMETHEUS" not in variables:
        problems.append("no DS_PROMETHEUS data source variable in templating")
    for v in dash.get("templating", {}).get("list", []):
        q = v.get("query")
        if isinstance(q, dict):
            q = q.get("query", "")
        m = re.match(r"label_values\((\w+),", q or "")
        if v.get("type") == "query" and (not m or m.group(1) not in METRICS):
            problems.append(f"variable {v['name']}: query {q!r} does not read a Burnrate metric")
    panels = list(all_panels(dash.get("panels", [])))
    if not panels:
        problems.append("no panels")
    for p in panels:
        where = f"panel {p.get('id')} {p.get('title')!r}"
        if p.get("id") in ids:
            problems.append(f"{where}: duplicate id")
        ids.add(p.get("id"))
        if not {"h", "w", "x", "y"} <= set(p.get("gridPos", {})):
            problems.append(f"{where}: no gridPos")
        if p.get("type") in ("row", "alertlist", "text"):
            continue
        if not p.get("targets"):
            problems.append(f"{where}: no queries")
        for t in p.get("targets", []):
            ds = t.get("datasource") or p.get("datasource") or {}
            if ds.get("uid") != "${DS_PROMETHEUS}":
                problems.append(f"{where}: query {t.get('refId')} does not use ${{DS_PROMETHEUS}}")
            expr = t.get("expr", "")
            names, labels = metric_names(expr)
            if not names & METRICS:
                problems.append(f"{where}: {expr!r} reads no Burnrate metric")
            for n in sorted(names - METRICS):
                problems.append(f"{where}: {expr!r} names {n!r}, which Burnrate does not expose")
            for l in sorted(labels - LABELS):
                problems.append(f"{where}: {expr!r} uses label {l!r}, which Burnrate does not set")
            for var in re.findall(r"\$\{?(\w+)", expr):
                if var not in variables:
                    problems.append(f"{where}: {expr!r} uses ${var}, which the dashboard does not define")
            exprs.append(re.sub(r"\$\{?\w+\}?", ".*", expr))
    if problems:
        for p in problems:
            print(f"{path}: {p}", file=sys.stderr)
        return 1
    if print_exprs:
        print("\n".join(exprs))
    else:
        print(f"{path}: {len(panels)} panels, {len(exprs)} queries, all on Burnrate's metrics")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
