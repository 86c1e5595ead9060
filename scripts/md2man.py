#!/usr/bin/env python3
"""Renders the small Markdown subset of docs/ into a man page (roff, man macros).

usage: md2man.py SRC OUT --name NAME --section N --version V --summary TEXT

Handled: # title (dropped: NAME comes from --name/--summary), ## section (.SH), ### (.SS),
paragraphs, "term" + ": definition" (.TP), "- " lists, fenced code blocks, tables (one .TP per row: the first cell as the
tag, the other cells joined by " \\(em "), `code` (bold), **bold**, *italic*, [text](link)
(text only). Python standard library only, so the build needs nothing more.
"""
import argparse
import re
import sys


def esc(text):
    """Escapes roff's special characters in running text."""
    text = text.replace("\\", "\\e")
    text = text.replace("-", "\\-")
    return text


def inline(text):
    """Markdown inline markup to roff font changes."""
    out, pos = [], 0
    pattern = re.compile(r"`([^`]+)`|\*\*([^*]+)\*\*|\*([^*\s][^*]*)\*|\[([^\]]+)\]\(([^)]*)\)")
    for m in pattern.finditer(text):
        out.append(esc(text[pos:m.start()]))
        if m.group(1) is not None:
            out.append("\\fB" + esc(m.group(1)) + "\\fR")
        elif m.group(2) is not None:
            out.append("\\fB" + esc(m.group(2)) + "\\fR")
        elif m.group(3) is not None:
            out.append("\\fI" + esc(m.group(3)) + "\\fR")
        else:
            out.append(inline(m.group(4)))
        pos = m.end()
    out.append(esc(text[pos:]))
    return "".join(out)


def line_out(text, keep_indent=False):
    """A text line that roff must not read as a request (leading . or ')."""
    text = text.rstrip() if keep_indent else text.strip()
    return "\\&" + text if text[:1] in (".", "'") else text


def cells(row):
    return [c.strip() for c in row.strip().strip("|").split("|")]


def render(md, name, section, version, summary):
    out = ['.TH "%s" "%s" "" "tcmu-harness %s" "tcmu-harness"' % (name.upper(), section,
                                                                   version),
           # left-adjusted: long unbreakable words (paths, JSON) would warn "cannot adjust"
           # and no hyphenation: names like target_core_user must stay whole
           ".ad l", ".nh", ".SH NAME", "%s \\- %s" % (esc(name), inline(summary))]
    lines = md.splitlines()
    i, para = 0, []

    def flush():
        if para:
            out.append(".PP")
            out.extend(line_out(inline(p)) for p in para)
            para.clear()

    while i < len(lines):
        ln = lines[i]
        if ln.startswith("```"):
            flush()
            out += [".PP", ".RS 4", ".nf"]
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                out.append(line_out(esc(lines[i]), True) if lines[i].strip() else "")
                i += 1
            out += [".fi", ".RE"]
        elif ln.startswith("# "):
            flush()
        elif ln.startswith("## "):
            flush()
            out.append('.SH "%s"' % inline(ln[3:].strip().upper()))
        elif ln.startswith("### "):
            flush()
            out.append('.SS "%s"' % inline(ln[4:].strip()))
        elif ln.startswith("|"):
            flush()
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(cells(lines[i]))
                i += 1
            i -= 1
            body = [r for r in rows[1:] if not all(re.fullmatch(r":?-+:?", c) for c in r)]
            for r in body:
                out += [".TP", line_out(inline(r[0]))]
                out.append(line_out(inline(" \u2014 ".join(c for c in r[1:] if c))))
        elif re.match(r"\s*(- |\d+\. )", ln):
            flush()
            item = [re.sub(r"^\s*(- |\d+\. )", "", ln)]
            while i + 1 < len(lines) and lines[i + 1].strip() and \
                    lines[i + 1].startswith("  ") and not re.match(r"\s*(- |\d+\. )",
                                                                   lines[i + 1]):
                i += 1
                item.append(lines[i])
            out += [".IP \\(bu 2"] + [line_out(inline(p)) for p in item]
        elif ln.startswith(": ") and para:
            term = para.pop()  # "term" then ": definition" lines: a tagged paragraph
            flush()
            desc = [ln[2:]]
            while i + 1 < len(lines) and lines[i + 1].strip():
                i += 1
                desc.append(lines[i])
            out += [".TP", line_out(inline(term))] + [line_out(inline(d)) for d in desc]
        elif not ln.strip():
            flush()
        else:
            para.append(ln)
        i += 1
    flush()
    return "\n".join(out).replace("\u2014", "\\(em") + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src")
    ap.add_argument("out")
    ap.add_argument("--name", required=True)
    ap.add_argument("--section", required=True)
    ap.add_argument("--version", required=True)
    ap.add_argument("--summary", required=True)
    a = ap.parse_args()
    with open(a.src, encoding="utf-8") as f:
        md = f.read()
    text = render(md, a.name, a.section, a.version, a.summary)
    with open(a.out, "w", encoding="utf-8") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
