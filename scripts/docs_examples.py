#!/usr/bin/env python3
"""The examples of README.md and docs/, for scripts/check-docs.sh (docs/testing.md, "The docs check").

  docs_examples.py lint             the markers, links and tables of contents of every page; exit 1 on a fault
  docs_examples.py list             the blocks the check runs, and the pages it does not run
  docs_examples.py run DIR          run the blocks in order in one bash in DIR; exit 1 on a failure

What runs: every ```sh block of README.md and of the docs/ pages whose first line is `<!-- runnable -->`,
in that order (README.md, then docs/ by path), as one script in one shell (`set -Eeuo pipefail`), so a
variable or function one block sets is there for the next. A block whose fence reads ```sh no-check is
shown, not run. A line `# expect: TEXT` in a block: the output (stdout and stderr) of the commands since the
block's start or the previous expect line must contain TEXT. A page that holds ```sh blocks says which it
is: `<!-- runnable -->` or `<!-- not runnable: why -->` as its first line. In a runnable page, ```bash,
```shell, ```console and ```zsh blocks are refused: what a reader may copy either runs or says it does not.
"""
import os
import re
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNNABLE = "<!-- runnable -->"
NOT_RUNNABLE = "<!-- not runnable"
SHELL_TAGS = {"bash", "shell", "console", "zsh"}
EXPECT = "# expect: "
MARK = "@@docs-check"
README_MAX_LINES = 250
TOC_AFTER_LINES = 150
RUN_TIMEOUT = int(os.environ.get("DOCS_CHECK_TIMEOUT", "900"))
FENCE = re.compile(r"^( *)```(?!`)(.*)$")  # three backticks exactly: ```` ```sh ```` in running text is no fence


def pages():
    """README.md, then every page under docs/ by path."""
    found = ["README.md"]
    for folder, _, files in sorted(os.walk(os.path.join(ROOT, "docs"))):
        for name in sorted(files):
            if name.endswith(".md"):
                found.append(os.path.relpath(os.path.join(folder, name), ROOT))
    return found


def read(page):
    with open(os.path.join(ROOT, page), encoding="utf-8") as f:
        return f.read().split("\n")


class Block:
    def __init__(self, page, line, lang, flags, body):
        self.page, self.line, self.lang, self.flags, self.body = page, line, lang, flags, body  # body: [(md line, text)]

    @property
    def where(self):
        return f"{self.page}:{self.line}"


def blocks(page, lines):
    """Fenced blocks: (fence line, info words, [(line number, text)]), dedented by the fence's indent."""
    out, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, info = len(m.group(1)), m.group(2).split()
        start, body, i = i + 1, [], i + 1
        while i < len(lines) and not re.match(r"^ *```\s*$", lines[i]):
            body.append((i + 1, lines[i][indent:] if lines[i][:indent].strip() == "" else lines[i]))
            i += 1
        i += 1
        out.append(Block(page, start, info[0] if info else "", info[1:], body))
    return out


def kind(page, lines):
    if page == "README.md":
        return "runnable"
    first = next((l.strip() for l in lines if l.strip()), "")
    if first == RUNNABLE:
        return "runnable"
    if first.startswith(NOT_RUNNABLE):
        return "not runnable"
    return None


def slug(heading):
    """The anchor GitHub gives a heading: its text lower-cased, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "").strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(lines):
    seen, out, fenced = {}, set(), False
    for line in lines:
        if FENCE.match(line):
            fenced = not fenced
        m = None if fenced else re.match(r"^#{1,6} (.*)$", line)
        if m:
            base = slug(m.group(1))
            n = seen.get(base, 0)
            seen[base] = n + 1
            out.add(base if n == 0 else f"{base}-{n}")
    return out


def links(lines):
    """(line number, target) of every Markdown link outside code blocks and code spans."""
    fenced = False
    for number, line in enumerate(lines, 1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if fenced:
            continue
        for m in re.finditer(r"\[[^\]]*\]\(([^)\s]+)\)", re.sub(r"`[^`]*`", "", line)):
            yield number, m.group(1)


def lint():
    faults = []
    all_pages = pages()
    texts = {p: read(p) for p in all_pages}
    for page in all_pages:
        lines = texts[page]
        page_kind = kind(page, lines)
        sh = [b for b in blocks(page, lines) if b.lang == "sh"]
        if sh and page_kind is None:
            faults.append(f"{page}: has ```sh blocks but its first line is neither {RUNNABLE} nor {NOT_RUNNABLE}: why -->")
        for b in blocks(page, lines):
            if page_kind == "runnable" and b.lang in SHELL_TAGS:
                faults.append(f"{b.where}: ```{b.lang} in a runnable page: write ```sh (the check runs it) or ```sh no-check (it does not)")
            if b.lang == "sh" and page_kind != "runnable" and "no-check" in b.flags:
                faults.append(f"{b.where}: no-check in a page that is not runnable (nothing there runs)")
            if b.lang == "sh" and "no-check" not in b.flags and page_kind == "runnable":
                for number, text in b.body:
                    if text.lstrip().startswith("# expect:") and not text.lstrip().startswith(EXPECT.strip() + " "):
                        faults.append(f"{page}:{number}: write expectations as '{EXPECT}TEXT'")
        # Links stay in the repository and land on something that is there.
        for number, target in links(lines):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("//"):
                faults.append(f"{page}:{number}: link leaves the repository: {target}")
                continue
            path, _, anchor = target.partition("#")
            resolved = os.path.normpath(os.path.join(os.path.dirname(page), path)) if path else page
            if resolved.startswith(".."):
                faults.append(f"{page}:{number}: link leaves the repository: {target}")
            elif not os.path.exists(os.path.join(ROOT, resolved)):
                faults.append(f"{page}:{number}: no such file: {target}")
            elif anchor and resolved.endswith(".md"):
                if resolved not in texts:
                    texts[resolved] = read(resolved)
                if anchor not in anchors(texts[resolved]):
                    faults.append(f"{page}:{number}: no heading for #{anchor} in {resolved}")
        # Length: the README stays a front page; a long page opens with its contents.
        length = len(lines) - (1 if lines and lines[-1] == "" else 0)
        if page == "README.md" and length > README_MAX_LINES:
            faults.append(f"README.md: {length} lines, more than {README_MAX_LINES}")
        if page != "README.md" and length > TOC_AFTER_LINES:
            headings = [i for i, l in enumerate(lines) if re.match(r"^## ", l)]
            head = lines[: headings[0]] if headings else lines
            if sum(1 for l in head if re.match(r"^\s*[-*] \[[^\]]+\]\(#", l)) < 2:
                faults.append(f"{page}: {length} lines and no table of contents before its first section")
    for fault in faults:
        print(f"docs check: {fault}", file=sys.stderr)
    return 1 if faults else 0


def runnable_blocks():
    chosen, skipped = [], []
    for page in pages():
        lines = read(page)
        sh = [b for b in blocks(page, lines) if b.lang == "sh"]
        if kind(page, lines) == "runnable":
            chosen += [b for b in sh if "no-check" not in b.flags]
            skipped += [(b.where, "no-check") for b in sh if "no-check" in b.flags]
        elif sh:
            skipped += [(b.where, "page not runnable") for b in sh]
    return chosen, skipped


def script(chosen):
    """One bash script of every block, with markers between them; line_of maps its lines to pages."""
    lines = [
        "set -Eeuo pipefail",
        f"trap 'printf \"\\n{MARK} error %s %s %s@@\\n\" \"$?\" \"$LINENO\" \"${{BASH_LINENO[*]}}\"' ERR",
    ]
    line_of = {}
    expects = []  # (block index, [texts]) per expect marker, in order
    for index, b in enumerate(chosen):
        lines.append(f"printf '\\n{MARK} block {index}@@\\n'")
        pending = []
        for number, text in b.body:
            if text.lstrip().startswith(EXPECT):
                pending.append((number, text.lstrip()[len(EXPECT):]))
                continue
            if pending:
                lines.append(f"printf '\\n{MARK} expect {len(expects)}@@\\n'")
                expects.append((index, pending))
                pending = []
            lines.append(text)
            line_of[len(lines)] = f"{b.page}:{number}"
        if pending:
            lines.append(f"printf '\\n{MARK} expect {len(expects)}@@\\n'")
            expects.append((index, pending))
    lines.append(f"printf '\\n{MARK} done@@\\n'")
    return "\n".join(lines) + "\n", line_of, expects


def run(directory):
    chosen, skipped = runnable_blocks()
    text, line_of, expects = script(chosen)
    path = os.path.join(directory, ".docs-check.sh")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    # A user's shell, not the check's: only what a login has, so no example leans on the check's variables.
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "LC_ALL", "TERM", "USER", "TMPDIR") if k in os.environ}
    print(f"docs check: running {len(chosen)} blocks ({len(expects)} expectations) in {directory}", file=sys.stderr)
    started = time.monotonic()
    process = subprocess.Popen(["bash", "--noprofile", "--norc", path], cwd=directory, env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        output, _ = process.communicate(timeout=RUN_TIMEOUT)
        timed_out = False
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        timed_out = True
    output = output.decode("utf-8", "replace")
    if os.environ.get("DOCS_CHECK_VERBOSE"):
        print(output, file=sys.stderr)
    # Each marker closes the output before it: an expect marker's is what its commands printed since the
    # block's start or the previous expect line; the error marker's is what the failing part printed.
    seen, current, failed_at, error_output, last_block = {}, [], None, "", None
    for line in output.split("\n"):
        m = re.match(rf"^{MARK} (block|expect|error|done) ?(.*)@@$", line)
        if not m:
            current.append(line)
            continue
        what, rest = m.groups()
        if what == "expect":
            seen[int(rest)] = "\n".join(current)
        elif what == "error":
            failed_at, error_output = rest.split(), "\n".join(current)
        elif what == "block":
            last_block = int(rest)
        current = []
    faults = []
    for number, (index, wanted) in enumerate(expects):
        if number not in seen:
            continue  # not reached: the failure below says why
        for line, text in wanted:
            if text not in seen[number]:
                faults.append((f"{chosen[index].page}:{line}", f"expected output containing: {text}", seen[number]))
    if failed_at is not None:
        rc, lineno, callers = failed_at[0], failed_at[1], failed_at[2:]
        where = line_of.get(int(lineno), f"script line {lineno}")
        trace = [line_of[int(c)] for c in callers if c.isdigit() and int(c) in line_of]
        detail = f"exited with status {rc}" + (f" (called from {', '.join(trace)})" if trace else "")
        faults.append((where, detail, error_output))
    elif timed_out:
        block = chosen[last_block].where if last_block is not None else "the first block"
        faults.append((block, f"still running after {RUN_TIMEOUT} s", "\n".join(current)))
    elif f"{MARK} done@@" not in output:
        faults.append(("?", f"the shell ended early (status {process.returncode})", "\n".join(current)))
    for where, what, shown in faults:
        print(f"\ndocs check: FAILED {where}: {what}", file=sys.stderr)
        print("--- its output ---", file=sys.stderr)
        print(shown.strip()[-4000:] or "(none)", file=sys.stderr)
        print("---", file=sys.stderr)
    reached = 0 if last_block is None else last_block + 1
    pages_skipped = sorted({w.split(":")[0] for w, _ in skipped})
    print(f"docs check: {reached} of {len(chosen)} blocks run, {len(expects)} expectations, {len(faults)} failures,"
          f" {time.monotonic() - started:.0f} s; not run: {len(skipped)} blocks in {', '.join(pages_skipped) or 'none'}", file=sys.stderr)
    return 1 if faults else 0


def list_blocks():
    chosen, skipped = runnable_blocks()
    for b in chosen:
        print(f"run      {b.where}")
    for where, why in skipped:
        print(f"not run  {where}  ({why})")
    return 0


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "lint":
        sys.exit(lint())
    if command == "list":
        sys.exit(list_blocks())
    if command == "run" and len(sys.argv) == 3:
        sys.exit(run(sys.argv[2]))
    print(__doc__, file=sys.stderr)
    sys.exit(2)
