"""``Compare``: many Measurements as text tables (PyTorch's ``torch.utils.benchmark.utils.compare``).

One table per label; a row per (num_threads, env, sub_label or stmt), a column per
description, medians in the unit of the fastest result. The text matches PyTorch's."""

from __future__ import annotations

import enum
import itertools
import math
from collections.abc import Iterable

from . import common
from .common import Measurement

__all__ = ["Colorize", "Compare"]

BEST = "\033[92m"
GOOD = "\033[34m"
BAD = "\033[2m\033[91m"
VERY_BAD = "\033[31m"
BOLD = "\033[1m"
TERMINATE = "\033[0m"


class Colorize(enum.Enum):
    NONE = "none"
    COLUMNWISE = "columnwise"
    ROWWISE = "rowwise"


def _leading_digits(x: float) -> int:
    return int(math.ceil(common._log10_f32(x)))


class _Column:
    """One description's cells: a shared number format across all its rows."""

    def __init__(self, grouped: list[tuple[Measurement | None, ...]], time_scale: float,
                 trim: bool, highlight_warnings: bool) -> None:
        self._grouped = grouped
        flat = [m for m in itertools.chain.from_iterable(grouped) if m is not None]
        self._trim = trim
        self._highlight = highlight_warnings and any(m.has_warnings for m in flat)
        digits = [_leading_digits(m.median / time_scale) for m in flat]
        unit_digits = max(digits)
        decimals = (min(max(m.significant_figures - d, 0) for d, m in zip(digits, flat)) if trim else 1)
        width = unit_digits + decimals + (1 if decimals else 0)
        self._template = f"{{:>{width}.{decimals}f}}{{:>{7 if self._highlight else 0}}}"

    def results_for(self, group: int) -> tuple[Measurement | None, ...]:
        return self._grouped[group]

    def num_to_str(self, value: float | None, sigfigs: int, spread: float | None) -> str:
        if value is None:
            return " " * len(self.num_to_str(1, sigfigs, None))
        if self._trim:
            value = common.trim_sigfig(value, sigfigs)
        note = f" (! {spread * 100:.0f}%)" if self._highlight and spread is not None else ""
        return self._template.format(value, note)


class _Row:
    """One row of a table: its name cell, its cells, and colouring."""

    def __init__(self, results: list[Measurement | None], group: int, render_env: bool, env_width: int,
                 time_scale: float, colorize: Colorize, num_threads: int | None) -> None:
        self._results = results
        self._group = group
        self._render_env = render_env
        self._env_width = env_width
        self._time_scale = time_scale
        self._colorize = colorize
        self._num_threads = num_threads  # set on the first row of a thread group
        self.columns: tuple[_Column, ...] = ()

    def cells(self) -> list[str]:
        first = next(m for m in self._results if m is not None)
        env = f"({first.env})" if self._render_env else ""
        out = ["  " + env.ljust(self._env_width + 4) + first.as_row_name]
        for m, col in zip(self._results, self.columns):
            if m is None:
                out.append(col.num_to_str(None, 1, None))
            else:
                out.append(col.num_to_str(m.median / self._time_scale, m.significant_figures,
                                          m.iqr / m.median if m.has_warnings else None))
        return out

    def separator(self, width: int) -> list[str]:
        if self._num_threads is None:
            return []
        return [f"{self._num_threads} threads: ".ljust(width, "-")]

    @staticmethod
    def _paint(text: str, value: float, best: float) -> str:
        if value <= best * 1.01 or value <= best + 100e-9:
            return BEST + BOLD + text + TERMINATE * 2
        if value <= best * 1.1:
            return GOOD + BOLD + text + TERMINATE * 2
        if value >= best * 5:
            return VERY_BAD + BOLD + text + TERMINATE * 2
        if value >= best * 2:
            return BAD + text + TERMINATE * 2
        return text

    def finalize(self, cells: list[str], widths: list[int]) -> list[str]:
        bests: list[float | None] = [-1.0] * len(cells)
        if self._colorize == Colorize.ROWWISE:
            row_min = min(m.median for m in self._results if m is not None)
            bests = [row_min] * len(cells)
        elif self._colorize == Colorize.COLUMNWISE:
            bests = []
            for col in self.columns:
                medians = [m.median for m in col.results_for(self._group) if m is not None]
                bests.append(min(medians) if medians else None)
        out = [cells[0].ljust(widths[0])]
        for text, width, m, best in zip(cells[1:], widths[1:], self._results, bests):
            text = text.center(width)
            if self._colorize != Colorize.NONE and m is not None and best is not None:
                text = self._paint(text, m.median, best)
            out.append(text)
        return out


class _Table:
    """The table of one label."""

    def __init__(self, results: list[Measurement], colorize: Colorize, trim: bool, highlight_warnings: bool) -> None:
        if len({m.label for m in results}) != 1:
            raise AssertionError("All results must share the same label")
        self.results = results
        self.label = results[0].label
        self._highlight = highlight_warnings
        self.time_unit, self.time_scale = common.select_unit(min(m.median for m in results))

        row_keys = common.ordered_unique(self._row_key(m) for m in results)
        row_keys.sort(key=lambda k: k[:2])  # by threads and env; stmts keep their order (stable sort)
        self.column_keys = common.ordered_unique(m.description for m in results)

        grid: list[list[Measurement | None]] = [[None] * len(self.column_keys) for _ in row_keys]
        row_at = {k: i for i, k in enumerate(row_keys)}
        col_at = {k: j for j, k in enumerate(self.column_keys)}
        for m in results:
            grid[row_at[self._row_key(m)]][col_at[m.description]] = m

        envs = {m.env for m in results}
        render_env = len(envs) > 1
        env_width = max(len(e) for e in envs) if render_env else 0  # type: ignore[arg-type]

        rows: list[_Row] = []
        groups: list[list[list[Measurement | None]]] = []
        prev_threads, prev_env = -1, ""
        for (threads, env, _), cells in zip(row_keys, grid):
            new_group = threads != prev_threads
            if new_group:
                prev_threads, prev_env = threads, ""
                groups.append([])
            rows.append(_Row(cells, len(groups) - 1, render_env and env != prev_env, env_width, self.time_scale,
                             colorize, threads if new_group else None))
            groups[-1].append(cells)
            prev_env = env

        columns = tuple(
            _Column([tuple(r[j] for r in g) for g in groups], self.time_scale, trim, highlight_warnings)
            for j in range(len(self.column_keys)))
        for r in rows:
            r.columns = columns
        self.rows = rows

    @staticmethod
    def _row_key(m: Measurement) -> tuple[int, str | None, str]:
        return m.num_threads, m.env, m.as_row_name

    def render(self) -> str:
        table: list[list[str]] = [["", *self.column_keys]]  # type: ignore[list-item]
        table += [r.cells() for r in self.rows]
        n_cols = max(len(r) for r in table)
        for r in table:
            r.extend([""] * (n_cols - len(r)))
        widths = [max(len(c) for c in col) for col in zip(*table)]

        lines = ["  |  ".join(c.center(w) for c, w in zip(table[0], widths))]
        width = len(lines[0])
        for cells, row in zip(table[1:], self.rows):
            lines += row.separator(width)
            lines.append("  |  ".join(row.finalize(cells, widths)))

        title = f" {self.label or ''} ".center(width - 2, "-")
        text = f"[{title}]\n" + "\n".join(lines) + "\n\n"
        text += f"Times are in {common.unit_to_english(self.time_unit)}s ({self.time_unit}).\n"
        if self._highlight and any(m.has_warnings for m in self.results):
            text += "(! XX%) Measurement has high variance, where XX is the IQR / median * 100.\n"
        return text


class Compare:
    """Measurements as formatted tables: one per ``label``, a row per ``sub_label`` (or
    ``stmt``) and thread count, a column per ``description``. Replicates (equal task
    specs) are merged. ``print()`` it or take ``str()`` of it."""

    def __init__(self, results: Iterable[Measurement]) -> None:
        self._results: list[Measurement] = []
        self.extend_results(results)
        self._trim_significant_figures = False
        self._colorize = Colorize.NONE
        self._highlight_warnings = False

    def __str__(self) -> str:
        return "\n".join(self._render())

    def extend_results(self, results: Iterable[Measurement]) -> None:
        """Add more Measurements."""
        results = list(results)
        for r in results:
            if not isinstance(r, Measurement):
                raise ValueError(f"Expected an instance of `Measurement`, got {type(r)} instead.")
        self._results.extend(results)

    def trim_significant_figures(self) -> None:
        """Round each cell to the measurement's estimated significant figures."""
        self._trim_significant_figures = True

    def colorize(self, rowwise: bool = False) -> None:
        """Colour cells by speed relative to the best of their column (or row, with ``rowwise``)."""
        self._colorize = Colorize.ROWWISE if rowwise else Colorize.COLUMNWISE

    def highlight_warnings(self) -> None:
        """Mark cells whose measurement has a high IQR."""
        self._highlight_warnings = True

    def print(self) -> None:
        """Print the tables."""
        print(str(self))

    def _render(self) -> list[str]:
        by_label: dict[str | None, list[Measurement]] = {}
        for m in Measurement.merge(self._results):
            by_label.setdefault(m.label, []).append(m)
        return [_Table(group, self._colorize, self._trim_significant_figures, self._highlight_warnings).render()
                for group in by_label.values()]
