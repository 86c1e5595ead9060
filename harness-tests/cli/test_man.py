"""The man pages: tcmu-harness(1) names every command and option the --help texts print (so
the two cannot drift apart), and both pages render without a warning."""
import os
import pathlib
import re
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
TH = str(ROOT / "build" / "tcmu-harness")
SOURCE = ROOT / "docs" / "man" / "tcmu-harness.1.md"
PAGES = [ROOT / "build" / "man" / "tcmu-harness.1",
         ROOT / "build" / "man" / "tcmu-harness-scenario.5"]


def helptext(*args):
    p = subprocess.run([TH, *args, "--help"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, (args, p.stderr)
    assert p.stdout.startswith("usage: tcmu-harness"), (args, p.stdout)
    return p.stdout


def commands():
    text = helptext()
    block = text.split("\ncommands:\n", 1)[1].split("\n\n", 1)[0]
    return [m.group(1) for m in re.finditer(r"^  ([a-z][a-z-]*)", block, re.M)]


def options(text):
    longs = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", text))
    shorts = set(re.findall(r"(?<![\w-])-[a-zA-Z](?=[,\s])", text))
    return longs | shorts


def test_the_help_lists_the_commands_it_dispatches():
    # a command missing here would escape every check below
    assert set(commands()) >= {"run", "validate", "exec", "serve", "ctl", "vm", "with-kernel",
                               "kernel", "cleanup"}


@pytest.mark.parametrize("cmd", [None] + commands())
def test_every_command_and_option_of_the_help_is_in_the_man_page(cmd):
    source = SOURCE.read_text()
    text = helptext(*([cmd] if cmd else []))
    if cmd:
        assert re.search(rf"^### {re.escape(cmd)}( |$)", source, re.M), cmd
    missing = sorted(o for o in options(text) if f"`{o}" not in source and f"{o} " not in source)
    assert not missing, f"{cmd or 'tcmu-harness'} --help has options the man page lacks: {missing}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_the_pages_render_without_warnings(page):
    env = dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8")
    p = subprocess.run(["man", "--warnings", "-l", str(page)], capture_output=True, text=True,
                       timeout=60, env=env)
    assert p.returncode == 0 and p.stderr == "", p.stderr
    assert "tcmu-harness" in p.stdout and "NAME" in p.stdout


def test_the_command_page_names_every_command_when_rendered():
    env = dict(os.environ, MANWIDTH="200", LC_ALL="C.UTF-8")
    out = subprocess.run(["man", "-l", str(PAGES[0])], capture_output=True, text=True,
                         timeout=60, env=env).stdout
    for cmd in commands():
        assert re.search(rf"^   {re.escape(cmd)}\b", out, re.M), cmd
    assert "--version" in out


@pytest.mark.parametrize("cmd", ["run", "validate", "exec", "serve", "ctl", "vm", "with-kernel",
                                 "kernel", "cleanup"])
def test_each_commands_help_names_that_command(cmd):
    # with-kernel once printed vm's usage line
    assert re.match(rf"usage: tcmu-harness {cmd}\b", helptext(cmd)), cmd


def render_md(tmp_path, md):
    src, out = tmp_path / "p.md", tmp_path / "p.1"
    src.write_text(md)
    subprocess.run(["/usr/bin/python3", str(ROOT / "scripts" / "md2man.py"), str(src), str(out),
                    "--name", "p", "--section", "1", "--version", "0", "--summary", "s"],
                   check=True, timeout=30)
    return out.read_text()


def test_md2man_keeps_font_escapes_in_a_section_heading(tmp_path):
    # render() upper-cases .SH titles after inline(): `code` becomes \FB...\FR (\F is groff's
    # font-family escape), a backslash's \e becomes \E; the heading renders wrongly.
    page = render_md(tmp_path, "## The `run` step\n\ntext\n")
    sh = [ln for ln in page.splitlines() if ln.startswith(".SH \"")][0]
    assert "\\F" not in sh and "\\fB" in sh, sh
