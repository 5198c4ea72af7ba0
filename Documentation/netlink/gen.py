#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""What the kvm_ft family's spec (specs/kvm_ft.yaml) writes, and checks.

  gen.py header SPEC       the counter table, uapi/linux/kvm_ft_stats.h
  gen.py rst SPEC          the family's documentation, Documentation/netlink/kvm_ft.rst
  gen.py counters SPEC     its table of counters, kvm_ft-counters.rst (ftnl.8 includes it)
  gen.py check SPEC UAPI [TABLE...]
                           the spec against uapi/linux/kvm_ft.h's enums, and
                           each TABLE (a C file) names every wire-err but ok

make spec writes the first three; make spec-check (in make check) fails when
they are stale or the spec and the header disagree.
"""
import re
import sys

import yaml

STAT_DOC = re.compile(r"^\[(\w+), (counter|gauge), (primary|backup|both)\] (.+)$")


def stats(spec):
    """The counters: (name, unit, kind, side, what), in attribute order."""
    sets = {s["name"]: s for s in spec["attribute-sets"]}
    rows = []
    for a in sets["stats"]["attributes"]:
        if a["type"] in ("unused", "pad"):
            continue
        m = STAT_DOC.match(a["doc"])
        if not m or a["type"] != "u64":
            sys.exit(f"gen.py: counter {a['name']}: want u64 and a doc of "
                     f"'[unit, counter|gauge, primary|backup|both] what'")
        rows.append((a["name"],) + m.groups())
    return rows


def header(spec):
    out = ["/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */",
           "/* Written by Documentation/netlink/gen.py from specs/kvm_ft.yaml: do not edit. */",
           "#ifndef _UAPI_LINUX_KVM_FT_STATS_H",
           "#define _UAPI_LINUX_KVM_FT_STATS_H",
           "",
           "/* X(NAME, name, unit, COUNTER|GAUGE, PRIMARY|BACKUP|BOTH, what): kvm_ft.h */",
           "#define KVM_FT_STATS(X) \\"]
    rows = stats(spec)
    for i, (name, unit, kind, side, what) in enumerate(rows):
        c = name.replace("-", "_")
        end = "" if i == len(rows) - 1 else " \\"
        out.append(f"\tX({c.upper()}, {c}, \"{unit}\", {kind.upper()}, {side.upper()}, \\")
        out.append(f"\t  \"{what}\"){end}")
    out += ["", "#endif", ""]
    return "\n".join(out)


def rst_table(head, rows):
    widths = [max(len(str(r[i])) for r in [head] + rows) for i in range(len(head))]
    line = " ".join("=" * w for w in widths)
    fmt = lambda r: " ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip()
    return [line, fmt(head), line] + [fmt(r) for r in rows] + [line]


def rst(spec):
    sets = {s["name"]: s for s in spec["attribute-sets"]}
    out = [".. Written by Documentation/netlink/gen.py from specs/kvm_ft.yaml: do not edit.",
           "", "=" * 33, "The kvm_ft generic netlink family", "=" * 33, "",
           spec["doc"].strip(), "",
           "Commands", "========", ""]
    for op in spec["operations"]["list"]:
        if op["name"] == "unspec":
            continue
        out += [f"``{op['name']}``", f"    {op['doc']}"]
        for kind in ("do", "dump", "event"):
            if kind not in op:
                continue
            for part in ("request", "reply"):
                attrs = op[kind].get(part, {}).get("attributes") if part in op[kind] else None
                if kind == "event" and part == "request":
                    attrs = op[kind].get("attributes")
                if attrs:
                    label = "event" if kind == "event" else f"{kind} {part}"
                    out.append(f"    {label}: " + ", ".join(f"``{a}``" for a in attrs) + ".")
        out.append("")
    for s in spec["attribute-sets"]:
        if s["name"] == "stats":
            continue
        out += [f"Attributes: {s['name']}", "-" * (12 + len(s["name"])), ""]
        if s.get("doc"):
            out += [s["doc"].strip(), ""]
        rows = []
        for a in s["attributes"]:
            if a["type"] in ("unused", "pad"):
                continue
            t = a["type"] + (" (repeated)" if a.get("multi-attr") else "")
            doc = " ".join(a.get("doc", "").split())
            if a.get("enum"):
                doc = (doc + " " if doc else "") + f"enum {a['enum']}"
            if a.get("nested-attributes"):
                doc = (doc + " " if doc else "") + f"attributes: {a['nested-attributes']}"
            rows.append((f"``{a['name']}``", t, doc or "-"))
        out += rst_table(("attribute", "type", "meaning"), rows) + [""]
    out += ["Counters (attributes: stats)", "-" * 28, "",
            "Each a u64; ``ftnl -j`` names them as below; ``ftnl -p``",
            "prefixes ``cuju_``, gives nanoseconds in seconds and ends counters in",
            "``_total``.", ""]
    out += [".. include:: kvm_ft-counters.rst", ""]
    for d in spec["definitions"]:
        out += [f"Enum: {d['name']}", "-" * (6 + len(d["name"])), ""]
        if d.get("doc"):
            out += [d["doc"].strip(), ""]
        out += [", ".join(f"{i} ``{e}``" for i, e in enumerate(d["entries"])), ""]
    return "\n".join(out)


def counters(spec):
    rows = [(f"``{n.replace('-', '_')}``", u, k, s, w) for n, u, k, s, w in stats(spec)]
    return "\n".join([".. Written by Documentation/netlink/gen.py from specs/kvm_ft.yaml: "
                      "do not edit.", ""] +
                     rst_table(("counter", "unit", "kind", "role", "meaning"), rows) + [""])


def enum(uapi, name, prefix):
    """The member names of @name in the header, from 0, prefix stripped."""
    body = re.search(r"enum %s \{(.*?)\};" % name, uapi, re.S)
    if not body:
        sys.exit(f"gen.py: no enum {name} in the header")
    names, value = {}, 0
    for m in re.finditer(r"^\s*(\w+)\s*(?:=\s*(\d+))?\s*,", body.group(1), re.M):
        if m.group(1).startswith("__"):
            continue
        value = int(m.group(2)) if m.group(2) else value
        names[value] = m.group(1)[len(prefix):].lower().replace("_", "-")
        value += 1
    return [names.get(i) for i in range(max(names) + 1)]


def check(spec, uapi, tables):
    sets = {s["name"]: s for s in spec["attribute-sets"]}
    defs = {d["name"]: d for d in spec["definitions"]}
    errs = defs["wire-err"]["entries"][1:]
    want = [
        ("attribute-set kvm-ft", [a["name"] for a in sets["kvm-ft"]["attributes"]],
         enum(uapi, "kvm_ft_attr", "KVM_FT_A_")),
        ("attribute-set error", [a["name"] for a in sets["error"]["attributes"]],
         enum(uapi, "kvm_ft_error_attr", "KVM_FT_ERROR_A_")),
        ("attribute-set hist", [a["name"] for a in sets["hist"]["attributes"]],
         enum(uapi, "kvm_ft_hist_attr", "KVM_FT_HIST_A_")),
        ("operations", [o["name"] for o in spec["operations"]["list"]],
         enum(uapi, "kvm_ft_cmd", "KVM_FT_CMD_")),
        ("enum state", defs["state"]["entries"][1:], enum(uapi, "kvm_ft_state", "KVM_FT_STATE_")[1:]),
        ("enum role", defs["role"]["entries"][1:], enum(uapi, "kvm_ft_role", "KVM_FT_ROLE_")[1:]),
        ("enum event", defs["event"]["entries"][1:], enum(uapi, "kvm_ft_event", "KVM_FT_EV_")[1:]),
        ("enum wire-err", defs["wire-err"]["entries"][1:],
         enum(uapi, "kvm_ft_wire_err", "KVM_FT_WIRE_E_")[1:len(defs["wire-err"]["entries"])]),
    ]
    bad = 0
    for what, spec_names, header_names in want:
        if spec_names != header_names:
            print(f"gen.py: {what}: the spec says {spec_names}\n"
                  f"        uapi/linux/kvm_ft.h says {header_names}", file=sys.stderr)
            bad += 1
    for path, text in tables:
        named = re.findall(r"^\s*\[KVM_FT_WIRE_E_(\w+)\]\s*=", text, re.M)
        if sorted(named) != sorted(e.upper().replace("-", "_") for e in errs):
            print(f"gen.py: {path}: its table names {named}\n"
                  f"        the spec's wire-err (but ok) is {errs}", file=sys.stderr)
            bad += 1
    if f'KVM_FT_GENL_NAME\t\t"{spec["name"]}"' not in uapi:
        print("gen.py: the family's name differs from KVM_FT_GENL_NAME", file=sys.stderr)
        bad += 1
    sys.exit(1 if bad else 0)


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("header", "rst", "counters", "check"):
        sys.exit(__doc__)
    spec = yaml.safe_load(open(sys.argv[2]))
    if sys.argv[1] == "header":
        sys.stdout.write(header(spec))
    elif sys.argv[1] == "rst":
        sys.stdout.write(rst(spec))
    elif sys.argv[1] == "counters":
        sys.stdout.write(counters(spec))
    else:
        check(spec, open(sys.argv[3]).read(), [(t, open(t).read()) for t in sys.argv[4:]])


if __name__ == "__main__":
    main()
