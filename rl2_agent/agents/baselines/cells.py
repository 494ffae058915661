"""Table cells: one env configuration of a family (``"n,k"`` bandits, ``"n"`` MDPs)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Cell", "parse_cells"]


@dataclass(frozen=True)
class Cell:
    """A cell of the RL^2 tables.

    Attributes
    ----------
    family:
        ``"bandit"`` or ``"mdp"``.
    episodes:
        Inner episodes per trial ``n`` (pulls, for bandits).
    arms:
        Number of arms ``k`` (bandits only).
    """

    family: str
    episodes: int
    arms: int | None = None

    @property
    def key(self) -> str:
        """``"n,k"`` or ``"n"``, as the paper's tables write the cell."""
        return f"{self.episodes},{self.arms}" if self.family == "bandit" else str(self.episodes)

    def env_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of the family's env id for this cell."""
        if self.family == "bandit":
            return {"num_arms": self.arms, "episodes_per_trial": self.episodes}
        return {"episodes_per_trial": self.episodes}

    @classmethod
    def parse(cls, family: str, text: str) -> Cell:
        """Parse ``"n,k"`` (bandit) or ``"n"`` (mdp); ``ValueError`` with the expected form otherwise."""
        parts = text.strip().split(",")
        try:
            values = [int(p) for p in parts]
        except ValueError:
            values = []
        if family == "bandit":
            if len(values) != 2 or values[0] < 1 or values[1] < 2:
                raise ValueError(f"bad bandit cell {text!r}: expected 'n,k' (episodes >= 1, arms >= 2), e.g. '100,5'")
            return cls("bandit", values[0], values[1])
        if family == "mdp":
            if len(values) != 1 or values[0] < 1:
                raise ValueError(f"bad mdp cell {text!r}: expected 'n' (episodes per trial >= 1), e.g. '25'")
            return cls("mdp", values[0])
        raise ValueError(f"unknown family {family!r}; expected 'bandit' or 'mdp'")


def parse_cells(family: str, text: str | None, default: list[str]) -> list[Cell]:
    """Whitespace-separated cells (``"10,5 100,5"`` or ``"10 25"``); ``default`` keys when ``text`` is empty."""
    items = text.split() if text and text.strip() else default
    if not items:
        raise ValueError("no cells given")
    return [Cell.parse(family, item) for item in items]
