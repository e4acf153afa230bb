"""The CLI entry point: every kind of bad input is one `error:` line on stderr and exit 2."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from banditlb.cli.main import main
from banditlb.store import connect


def run_main(argv: list[str]) -> int:
    """Run the CLI and return its exit status."""
    with pytest.raises(SystemExit) as exited:
        main(argv)
    code = exited.value.code
    assert isinstance(code, int)
    return code


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["runs", "--limit", "0"], "Invalid value for '--limit'"),
        (["runs", "--bogus"], "No such option: --bogus (see 'banditlb runs --help')"),
        (["nosuchcmd"], "No such command 'nosuchcmd'."),
        (["export"], "Missing argument 'run'. (see 'banditlb export --help')"),
        (["sim", "--seeds", "abc"], "Invalid value for '--seeds'"),
    ],
)
def test_option_errors_are_one_line_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Typer's own usage errors are one `error:` line (no help panel), exit status 2."""
    assert run_main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert err.count("\n") == 1
    assert message in err


def test_long_errors_are_not_wrapped_and_markup_is_kept(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A long message stays on one line, and square brackets in it are printed as they are."""
    assert run_main(["sim", "--strategies", "nope[bold]x", "--seeds", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "unknown strategy 'nope[bold]x'" in err
    assert "sliding_window_thompson" in err


def test_help_and_no_arguments_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    """`--help` and a bare `banditlb` print the usage and exit 0."""
    assert run_main(["runs", "--help"]) == 0
    assert "Usage: banditlb runs" in capsys.readouterr().out
    assert run_main([]) == 0
    assert "Usage: banditlb" in capsys.readouterr().out


def test_dashboard_on_a_busy_port_or_a_folder_is_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`banditlb dashboard` on a port in use, or with a folder as --db, exits 2 before serving."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        db = str(tmp_path / "runs.db")
        connect(db).close()
        assert run_main(["dashboard", "--db", db, "--port", str(port)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: cannot listen on 127.0.0.1:{port}: ")
        assert err.count("\n") == 1
    assert run_main(["dashboard", "--db", str(tmp_path), "--port", "0"]) == 2
    assert capsys.readouterr().err == f"error: run database '{tmp_path}' is not a file\n"


def test_usage_errors_cover_the_installed_typer() -> None:
    """The caught usage-error bases include the one the installed Typer raises."""
    import typer

    from banditlb.cli.main import usage_errors

    bases = usage_errors()
    assert bases
    assert issubclass(typer.BadParameter, bases)
