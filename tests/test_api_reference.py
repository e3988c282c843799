"""docs/api/reference.md lists every public name (regenerate with .ci/gen_api_reference.py)."""

import importlib.util
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_reference_page_is_up_to_date():
    spec = importlib.util.spec_from_file_location("gen", ROOT / ".ci" / "gen_api_reference.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    current = (ROOT / "docs" / "api" / "reference.md").read_text()
    assert current == gen.render(), (
        "docs/api/reference.md is stale: run `python .ci/gen_api_reference.py`"
    )
