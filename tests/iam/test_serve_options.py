"""`python -m iam.serve` refuses options it cannot serve with, before starting anything."""

import pytest

from iam import serve


@pytest.mark.parametrize("args, message", [
    (["--bind", "nonsense"], "--bind takes HOST:PORT"),
    (["--bind", "127.0.0.1:99999"], "a port from 1 to 65535"),
    (["--bind", ":8000"], "--bind takes HOST:PORT"),
    (["--workers", "0"], "at least 1"),
    (["--threads", "0"], "at least 1"),
])
def test_serve_refuses_bad_options_with_a_clear_message(args, message, capsys, monkeypatch):
    started = []
    monkeypatch.setattr(serve.subprocess, "Popen", lambda *a, **k: started.append(a))
    with pytest.raises(SystemExit) as exit_:
        serve.main(args)
    assert exit_.value.code == 2 and message in capsys.readouterr().err
    assert not started
