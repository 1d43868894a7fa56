"""The README's benchmark figures are what the committed results file renders (issue 17).

`make bench-readme` writes the block between the README's markers from
bench/results/peers.json; a hand edit of a figure, or a new results file
without the README regenerated, fails here. No benchmark runs: this only
renders the committed file.
"""

from __future__ import annotations

import json

from bench import readme_block


def test_readme_block_is_what_the_committed_results_render() -> None:
    data = json.loads(readme_block.RESULTS.read_text())
    expected = readme_block.render(data)
    assert readme_block.current(readme_block.README.read_text()) == expected, (
        "README.md's benchmark block differs from bench/results/peers.json: "
        "run `make bench-readme` and commit"
    )


def test_the_block_states_its_conditions() -> None:
    block = readme_block.render(json.loads(readme_block.RESULTS.read_text()))
    assert "commit" in block
    assert "writes in flight" in block
    assert "durable `sync` mode" in block


def test_the_block_names_every_issue_17_target_not_met() -> None:
    data = json.loads(readme_block.RESULTS.read_text())
    block = readme_block.render(data)
    judged = [v for v in data["verdicts"] if v["issue"] == 17]
    missed = [v for v in judged if v["status"] != "MET"]
    assert f"{len(judged) - len(missed)} of {len(judged)} met" in block
    for verdict in missed:
        assert verdict["target"] in block
    # and the sentence for a run that met them all
    met = [{**v, "status": "MET"} for v in judged]
    assert readme_block.targets_text(met).endswith(f"{len(met)} of {len(met)} met.")
