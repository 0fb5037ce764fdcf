"""Replaces one section of bench/RESULTS.md, the text between `<!-- NAME -->`
and `<!-- /NAME -->`, with a file's text (appends it if the markers are not
there yet); the other sections stay as they are.

Usage: bench/results_section.py NAME SECTION_FILE [RESULTS_FILE]
"""

import sys


def replace_section(results, name, section):
    start, end = f"<!-- {name} -->", f"<!-- /{name} -->"
    text = open(results).read()
    block = f"{start}\n{section}{end}"
    if start in text and end in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    with open(results, "w") as f:
        f.write(text)


if __name__ == "__main__":
    name, section_file = sys.argv[1], sys.argv[2]
    results = sys.argv[3] if len(sys.argv) > 3 else "bench/RESULTS.md"
    replace_section(results, name, open(section_file).read())
