"""The mutation run's arithmetic: which module a mutant belongs to, what counts as killed, the score."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.mutation.score import CORE, cap_examples, equivalents, module_of, parse_results, score, table

RESULTS = """
    consumer.breaker.x\u01c1TransientBreaker\u01c1record__mutmut_1: killed
    consumer.breaker.x\u01c1TransientBreaker\u01c1reset__mutmut_1: no tests
    consumer.breaker.x\u01c1MassDeadLetterBreaker\u01c1would_open__mutmut_20: timeout
    consumer.breaker.x\u01c1MassDeadLetterBreaker\u01c1would_open__mutmut_24: survived
    consumer.breaker.x_helper__mutmut_2: survived
    consumer.offsets.x\u01c1PartitionTracker\u01c1done__mutmut_3: killed
    not a mutant line
"""


def test_a_mutant_name_names_its_module() -> None:
    assert module_of("consumer.breaker.x\u01c1TransientBreaker\u01c1reset__mutmut_1") == "consumer/breaker.py"
    assert module_of("consumer.hubspot.taxonomy.x_classify__mutmut_7") == "consumer/hubspot/taxonomy.py"


def test_results_are_read_line_by_line() -> None:
    found = parse_results(RESULTS)
    assert len(found) == 6
    assert found["consumer.breaker.x_helper__mutmut_2"] == "survived"
    assert found["consumer.breaker.x\u01c1TransientBreaker\u01c1reset__mutmut_1"] == "no tests"


def test_killed_and_timed_out_count_untested_survive_equivalents_leave_the_count() -> None:
    equivalent = {"consumer.breaker.x_helper__mutmut_2"}

    result = score("consumer/breaker.py", parse_results(RESULTS), equivalent)

    assert (result.killed, result.equivalent, result.counted) == (2, 1, 4)
    assert result.survivors == (
        "consumer.breaker.x\u01c1MassDeadLetterBreaker\u01c1would_open__mutmut_24",
        "consumer.breaker.x\u01c1TransientBreaker\u01c1reset__mutmut_1",
    )
    assert result.ratio == 0.5
    assert not result.passed
    assert "50.0%" in table([result])
    assert "BELOW" in table([result])


def test_a_module_passes_at_its_target_exactly() -> None:
    results = {f"consumer.pause.x_f__mutmut_{i}": "killed" for i in range(9)} | {
        "consumer.pause.x_f__mutmut_9": "survived"
    }
    assert score("consumer/pause.py", results, ()).passed  # 90 % of 10, target 90 %
    results["consumer.pause.x_f__mutmut_8"] = "survived"
    assert not score("consumer/pause.py", results, ()).passed


def test_the_equivalent_list_is_reviewed_text_with_a_reason_each(tmp_path: Path) -> None:
    path = tmp_path / "equivalent.toml"
    path.write_text('[consumer_breaker]\n"consumer.breaker.x_f__mutmut_1" = "log text only"\n')
    assert equivalents(path) == {"consumer.breaker.x_f__mutmut_1": "log text only"}
    for name in equivalents():
        assert module_of(name) in CORE, name


@pytest.mark.parametrize("module", list(CORE))
def test_every_core_module_and_its_tests_exist(module: str) -> None:
    root = Path(__file__).resolve().parents[2]
    tests, target = CORE[module]
    assert (root / module).is_file()
    assert all((root / t).is_file() for t in tests)
    assert 0.9 <= target <= 1.0


def test_the_baseline_names_core_modules_with_scores_and_a_commit_of_this_history() -> None:
    root = Path(__file__).resolve().parents[2]
    baseline = json.loads((root / "tests" / "mutation" / "baseline.json").read_text(encoding="utf-8"))
    assert set(baseline["modules"]) <= set(CORE)
    assert all(0.0 <= v <= 1.0 for v in baseline["modules"].values())
    known = subprocess.run(["git", "cat-file", "-e", baseline["commit"] + "^{commit}"], cwd=root, check=False)
    assert known.returncode == 0


def test_property_tests_run_at_most_the_capped_number_of_examples_in_the_mutated_copy() -> None:
    source = "@settings(max_examples=10_000, deadline=None)\n@settings(max_examples=50)\nmax_examples=200"
    capped = "@settings(max_examples=200, deadline=None)\n@settings(max_examples=50)\nmax_examples=200"
    assert cap_examples(source, 200) == capped
