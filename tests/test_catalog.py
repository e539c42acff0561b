"""The model catalog: never serving a worse model by itself, falling back from a broken file,
and keeping the number of stopped runs' versions bounded."""

import dataclasses
import os

import pytest

from lenet.jobs.catalog import Catalog
from lenet.jobs.job import finish
from lenet.jobs.runs import RunStore, Status
from lenet.nets.architectures import build
from lenet.nets.modelio import load_metadata, save_model

KEEP = 3


@pytest.fixture
def catalog(settings):
    return Catalog(settings)


def version(settings, name, accuracy, **card):
    """A trained version on disk (an untrained network: only its card matters here)."""
    path = settings.trained_dir / f"{name}.keras"
    save_model(build("lenet5"), path, {"architecture": "lenet5", "test_accuracy": accuracy, **card})
    return path


def test_a_finished_run_is_served_only_if_it_reads_mnist_no_worse(settings, catalog):
    served = catalog.active()
    version(settings, "weak", 0.3552)
    assert (
        catalog.activate_unless_worse("weak", 0.3552)
        == f"kept {served.name}, {served.test_accuracy:.2%}: this run scored 35.52%"
    )
    assert catalog.active().name == served.name
    version(settings, "close", served.test_accuracy - 0.0009)
    assert catalog.activate_unless_worse("close", served.test_accuracy - 0.0009).startswith("activated")
    assert catalog.active().name == "close"


def test_a_broken_active_model_falls_back_to_the_one_before_then_the_shipped_ones(settings, catalog):
    version(settings, "older", 0.99)
    version(settings, "newer", 0.99)
    catalog.activate("older")
    catalog.activate("newer")
    newer = catalog.find("newer")
    assert [m.name for m in catalog.fallbacks(newer)][:2] == ["older", settings.default_model]
    assert all(m.shipped for m in catalog.fallbacks(newer)[1:])


def test_the_active_file_scrambled_serves_the_default_model(settings, catalog):
    settings.data_dir.mkdir(parents=True)
    settings.active_file.write_bytes(os.urandom(64))
    assert catalog.active().name == settings.default_model


def test_a_hundred_start_stop_cycles_leave_at_most_keep_versions(settings):
    # The end of every job goes through `finish`, after its model was saved; a stopped run's model is partial.
    store = RunStore.of(settings)
    settings = dataclasses.replace(settings, keep_versions=KEEP)
    catalog = Catalog(settings)
    version(settings, "finished-run", 0.99)
    catalog.activate("finished-run")
    model = build("lenet5")
    for _ in range(100):
        run_id = store.create_run({"architecture": "lenet5"}, activate_when_done=True)
        name = f"lenet5-run{run_id}"
        metadata = save_model(model, settings.trained_dir / f"{name}.keras", {"test_accuracy": 0.5, "partial": True})
        finish(settings, store, store.run(run_id), metadata)
        assert store.run(run_id).status == Status.STOPPED
    trained = sorted(m.name for m in catalog.models() if not m.shipped)
    partial = [name for name in trained if load_metadata(settings.trained_dir / f"{name}.keras").get("partial")]
    assert len(partial) == KEEP and partial == ["lenet5-run100", "lenet5-run98", "lenet5-run99"]
    assert "finished-run" in trained and catalog.active().name == "finished-run"  # never the active one
    assert {m.name for m in catalog.models() if m.shipped} == {"lenet5", "lenet_bn"}


def test_each_owner_keeps_only_their_newest_taught_versions_and_the_served_ones_stay(settings):
    # Two owners teach six times each through `finish`; one of Ana's early versions is served.
    store = RunStore.of(settings)
    settings = dataclasses.replace(settings, keep_taught=2)
    catalog = Catalog(settings)
    model = build("lenet5")
    for round_ in range(6):
        for owner in ("a" * 16, "b" * 16):
            run_id = store.create_run({"collection": f"{owner}/my digits"}, activate_when_done=False, kind="teach")
            card = {"kind": "taught", "collection": f"{owner}/my digits", "test_accuracy": 0.99}
            path = settings.trained_dir / f"lenet_bn-{owner[0]}-run{run_id}.keras"
            metadata = save_model(model, path, {**card, "name": path.stem, "partial": False})
            os.utime(path, (round_ * 10 + run_id, round_ * 10 + run_id))  # newest last, whatever the clock
            if round_ == 0 and owner.startswith("a"):
                catalog.activate(path.stem)
            finish(settings, store, store.run(run_id), metadata)
    taught = sorted(m.name for m in catalog.models() if not m.shipped)
    assert taught == ["lenet_bn-a-run1", "lenet_bn-a-run11", "lenet_bn-a-run9", "lenet_bn-b-run10", "lenet_bn-b-run12"]
    assert catalog.active().name == "lenet_bn-a-run1"  # served: never pruned
