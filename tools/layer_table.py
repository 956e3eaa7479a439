"""Write the README's layer table (every class of `keras.layers` and the tf-keras classics, with
modelio's status) from the recorded class lists and modelio's registries:

    python3 tools/layer_table.py            # rewrites the table in README.md
    python3 tools/layer_table.py --print    # prints it

The README must already hold the begin/end markers (tests/layer_table.py); the test
tests/test_readme_layer_table.py fails when the README's table is out of date.
"""

import os
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO_ROOT, "tests"))

from layer_table import layer_table, readme_table  # noqa: E402


def main(argv: list) -> None:
    table = layer_table()
    if "--print" in argv:
        print(table)
        return
    path = os.path.join(REPO_ROOT, "README.md")
    with open(path, encoding="utf-8") as file:
        text = file.read()
    with open(path, "w", encoding="utf-8") as file:
        file.write(text.replace(readme_table(text), table))
    print("README.md: layer table written")


if __name__ == "__main__":
    main(sys.argv[1:])
