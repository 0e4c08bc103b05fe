import builtins

from course import doctor


def test_reports_every_part_and_passes_here(capsys):
    assert doctor.main() == 0
    out = capsys.readouterr().out
    for part in ("torch", "torchvision", "cuda", "ninja", "onnxruntime", "tensorboard", "threads"):
        assert part in out
    assert "Everything the lessons require is here." in out


def test_missing_required_part_fails_with_the_fix(monkeypatch, capsys):
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "tqdm":
            raise ModuleNotFoundError("No module named 'tqdm'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    monkeypatch.setattr(doctor.importlib, "import_module", lambda n: fake_import(n))
    assert doctor.main() == 1
    out = capsys.readouterr().out
    assert "FAIL tqdm" in out and "make setup" in out and "Missing required parts: tqdm." in out


def test_missing_optional_part_does_not_fail(monkeypatch):
    monkeypatch.setattr(doctor, "_ninja", lambda: (_ for _ in ()).throw(RuntimeError("ninja not found on PATH")))
    items = doctor.collect()
    ninja = next(i for i in items if i.name == "ninja")
    assert not ninja.ok and not ninja.required and "lesson 10" in ninja.fix
    assert "--   ninja" in doctor.report(items)
