"""The benchmark table as a chart: one panel per figure, the app beside the relay in each
async mode, and the abuse phases as another client's ack p99 beside its quiet p99.

``bench/report.py`` calls ``draw`` after a run that writes results (``bench/<out>.png``).
Matplotlib draws off-screen (the Agg backend): no display is needed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

COLOURS = {"app": "#3465a4", "relay": "#babdb6"}


def draw(
    rows: list[tuple[str, Callable]],
    results: dict,
    modes: list[str],
    kinds: list[str],
    path: Path,
    title: str,
) -> Path:
    """Bars per figure row that has a number, one group per mode, one bar per kind."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = []
    for label, extract in rows:
        values = {
            (mode, kind): extract(results.get(mode, {}).get(kind, {}))[0]
            for mode in modes
            for kind in kinds
        }
        if any(isinstance(v, int | float) for v in values.values()):
            panels.append((label, values))
    columns = 3
    lines = (len(panels) + columns - 1) // columns
    figure, axes = plt.subplots(lines, columns, figsize=(5.2 * columns, 2.9 * lines), squeeze=False)
    width = 0.8 / max(1, len(kinds))
    for axis, (label, values) in zip(axes.flat, panels, strict=False):
        for k, kind in enumerate(kinds):
            xs = [m + (k - (len(kinds) - 1) / 2) * width for m in range(len(modes))]
            heights = [values[(mode, kind)] or 0 for mode in modes]
            bars = axis.bar(xs, heights, width, label=kind, color=COLOURS.get(kind, "#888"))
            for bar, value in zip(bars, heights, strict=True):
                if value:
                    axis.annotate(
                        _short(value),
                        (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                        ha="center",
                        va="bottom",
                        fontsize=7,
                    )
        axis.set_xticks(range(len(modes)), modes)
        axis.set_title(_wrap(label.replace("ack p50 / p99", "ack p99 (ms)")), fontsize=8)
        axis.tick_params(labelsize=7)
        axis.margins(y=0.2)
    for axis in list(axes.flat)[len(panels) :]:
        axis.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="upper right", fontsize=8)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout(rect=(0, 0, 1, 0.97))
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return path


def _short(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value < 0.1:
        return f"{value:.3f}"
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def _wrap(text: str, width: int = 48) -> str:
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    return "\n".join(lines)
