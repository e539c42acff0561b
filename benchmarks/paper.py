"""LeCun et al. 1998's LeNet-5 figures beside ours, for `scripts/benchmark.py --paper`.

Ours: parameters and connections counted on the built networks (`lenet.nets.paper`); test
error, epochs and training time from the newest trained model file of each network, one
trained without distortions and one with (its saved config says which). Nothing is trained
here: the figures are those of runs of `scripts/train.py`, e.g.

    python scripts/train.py --architecture lenet5_1998               # without distortions
    python scripts/train.py --architecture lenet5_1998 --augment     # with
"""

from pathlib import Path

from lenet.nets.architectures import build
from lenet.nets.modelio import count_params, load_metadata
from lenet.nets.paper import PAPER_LENET5, count_connections

NETWORKS = ("lenet5_1998", "lenet5")


def newest_runs(folder):
    """`{(architecture, distorted): metadata}` of the newest model file of each kind in `folder`."""
    found = {}
    for path in sorted(Path(folder).glob("*.keras"), key=lambda p: p.stat().st_mtime):
        meta = load_metadata(path)
        config = meta.get("config") or {}
        if meta.get("architecture") in NETWORKS and meta.get("test_accuracy") is not None:
            found[(meta["architecture"], bool(config.get("augment")))] = {**meta, "file": str(path)}
    return found


def compare(folder):
    """One row per network (the paper's LeNet-5 first): what the paper reports, what we measured."""
    runs = newest_runs(folder)
    rows = [{"network": "LeNet-5, LeCun et al. 1998", **PAPER_LENET5, "train_s": None, "files": []}]
    for name in NETWORKS:
        model = build(name)
        plain, distorted = runs.get((name, False)), runs.get((name, True))
        error = lambda meta: 1 - meta["test_accuracy"] if meta else None
        measured = [meta for meta in (plain, distorted) if meta]
        rows.append(
            {
                "network": f"{name} (ours)",
                "test_error_plain": error(plain),
                "test_error_distorted": error(distorted),
                "parameters": count_params(model),
                "connections": count_connections(model),
                "epochs": " / ".join(str(meta.get("epochs_run")) for meta in measured) or None,
                "train_s": " / ".join(f"{meta['train_seconds']:.0f}" for meta in measured) or None,
                "device": measured[0].get("device") if measured else None,
                "files": [meta["file"] for meta in measured],
            }
        )
    return rows


def print_comparison(rows, folder):
    def percent(value):
        return f"{value:.2%}" if isinstance(value, float) else "—"

    columns = [
        ("network", lambda r: r["network"]),
        ("test error, no distortions", lambda r: percent(r["test_error_plain"])),
        ("with distortions", lambda r: percent(r["test_error_distorted"])),
        ("parameters", lambda r: f"{r['parameters']:,}"),
        ("connections", lambda r: f"{r['connections']:,}"),
        ("epochs", lambda r: str(r["epochs"] or "—")),
        ("training s", lambda r: r["train_s"] or "not given"),
    ]
    table = [[name for name, _ in columns], *[[cell(r) for _, cell in columns] for r in rows]]
    widths = [max(len(line[i]) for line in table) for i in range(len(columns))]
    for line in table:
        print("  ".join(value.ljust(width) for value, width in zip(line, widths)).rstrip())
    print(f"\nOurs: the newest model file of each kind in {folder} (epochs and seconds: without / with distortions).")
    devices = {r["device"] for r in rows if r.get("device")}
    if devices:
        print(f"Trained on: {', '.join(sorted(devices))}.")
    if not any(r["files"] for r in rows):
        print("No trained lenet5_1998 or lenet5 model there yet: train them with scripts/train.py.")
