"""The pure part of the mutation run: which modules, what their unit tests are, how a score is made."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent

# module -> (its unit tests, the score it must reach)
CORE: dict[str, tuple[tuple[str, ...], float]] = {
    "consumer/breaker.py": (("tests/unit/test_breakers.py",), 0.95),
    "consumer/offsets.py": (("tests/unit/test_offsets.py",), 0.95),
    "consumer/offset_metadata.py": (("tests/unit/test_offset_metadata.py",), 0.90),
    "consumer/ordering.py": (("tests/unit/test_ordering.py",), 0.95),
    "consumer/pause.py": (("tests/unit/test_pause.py",), 0.90),
    "consumer/decode.py": (("tests/unit/test_decode.py", "tests/unit/test_decode_validate.py"), 0.90),
    "consumer/route.py": (("tests/unit/test_route.py",), 0.90),
    "consumer/routing_loader.py": (("tests/unit/test_route.py",), 0.90),
    "consumer/hubspot/taxonomy.py": (("tests/unit/test_hubspot_taxonomy.py",), 0.90),
    "consumer/hubspot/retry.py": (("tests/unit/test_hubspot_retry.py",), 0.90),
    "consumer/hubspot/ratelimit.py": (("tests/unit/test_hubspot_ratelimit.py",), 0.90),
    "consumer/hubspot/ratepolicy.py": (("tests/unit/test_hubspot_ratepolicy.py",), 0.90),
    "consumer/hubspot/ratesharing.py": (("tests/unit/test_hubspot_ratesharing.py",), 0.90),
}
KILLED = {"killed", "timeout"}  # a mutant that makes a test hang is caught by the per-test timeout
_LINE = re.compile(r"^\s*(\S+): (.+?)\s*$")
_EXAMPLES = re.compile(r"max_examples=([\d_]+)")


def module_of(name: str) -> str:
    """``consumer.breaker.xǁTransientBreakerǁreset__mutmut_1`` -> ``consumer/breaker.py``."""
    dotted = name.split(".x\u01c1", 1)[0].split(".x_", 1)[0]
    return dotted.replace(".", "/") + ".py"


def cap_examples(test_source: str, cap: int) -> str:
    """``test_source`` with every ``max_examples=N`` above ``cap`` lowered to ``cap``: each mutant runs
    the tests that cover it, and a property test of thousands of examples under mutmut's tracing would
    outlast the per-test timeout before a mutant is checked."""
    return _EXAMPLES.sub(lambda m: f"max_examples={min(int(m.group(1)), cap)}", test_source)


def parse_results(text: str) -> dict[str, str]:
    """``mutmut results --all true`` output as ``{mutant name: status}``."""
    found = {}
    for line in text.splitlines():
        match = _LINE.match(line)
        if match and "__mutmut_" in match.group(1):
            found[match.group(1)] = match.group(2)
    return found


def equivalents(path: Path = HERE / "equivalent.toml") -> dict[str, str]:
    """The reviewed list: ``{mutant name: why it cannot be told apart from the original}``."""
    data = tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    return {name: str(reason) for module in data.values() for name, reason in module.items()}


@dataclass(frozen=True, slots=True)
class Score:
    module: str
    target: float
    killed: int
    equivalent: int
    survivors: tuple[str, ...] = field(default=())

    @property
    def counted(self) -> int:
        return self.killed + len(self.survivors)

    @property
    def ratio(self) -> float:
        return self.killed / self.counted if self.counted else 1.0

    @property
    def passed(self) -> bool:
        return self.ratio >= self.target

    def to_json(self) -> dict[str, object]:
        return {
            "module": self.module,
            "target": self.target,
            "killed": self.killed,
            "equivalent": self.equivalent,
            "score": round(self.ratio, 4),
            "survivors": list(self.survivors),
        }


def score(module: str, results: Mapping[str, str], equivalent: Iterable[str]) -> Score:
    known = set(equivalent)
    mine = {name: status for name, status in results.items() if module_of(name) == module}
    killed = sum(1 for name, status in mine.items() if status in KILLED and name not in known)
    survivors = tuple(sorted(n for n, s in mine.items() if s not in KILLED and n not in known))
    return Score(module, CORE[module][1], killed, len(known & set(mine)), survivors)


def table(scores: Iterable[Score]) -> str:
    lines = [f"{'module':32} {'killed':>7} {'survived':>9} {'equivalent':>11} {'score':>7} {'target':>7}"]
    for s in scores:
        mark = "ok" if s.passed else "BELOW"
        counts = f"{s.killed:7} {len(s.survivors):9} {s.equivalent:11}"
        lines.append(f"{s.module:32} {counts} {s.ratio:7.1%} {s.target:7.0%} {mark}")
    return "\n".join(lines)
