"""The README's copy-paste examples, as the tests that run them read them."""

import textwrap
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_section(title: str) -> str:
    """The text of the README's `## title` section, up to the next `## ` heading."""
    return README.read_text().split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def block_after(section: str, marker: str) -> str:
    """The indented code block that follows `marker` (which ends its paragraph) in the README's section `section`,
    dedented."""
    after = readme_section(section).split(f"{marker}\n\n", 1)[1]
    block = []
    for line in after.splitlines():
        if line and not line.startswith("    "):
            break
        block.append(line)
    return textwrap.dedent("\n".join(block)).strip() + "\n"
