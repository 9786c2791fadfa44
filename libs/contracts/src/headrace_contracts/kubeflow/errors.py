"""What goes wrong reading Kubeflow YAML.

::

    ContractError                 (headrace_contracts.errors)
    └── ManifestError             one or more problems in the YAML; ``problems`` lists each
                                  (document index, field path, what is wrong and what to do)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import ContractError


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one field of one document."""

    document: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"document {self.document}"
        if self.path:
            where += f", {self.path}"
        return f"{where}: {self.message}"


class ManifestError(ContractError):
    """The YAML cannot become a training job; ``str()`` lists every problem found."""

    def __init__(self, problems: Sequence[Problem], subject: str = "the training job YAML") -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(f"{subject} has {count} {noun}:\n{lines}")

    @property
    def paths(self) -> list[str]:
        return [problem.path for problem in self.problems]
