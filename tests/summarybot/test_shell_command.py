"""`manage.py shell -c` prints only what the command prints: scripts and deploy checks read its output."""

from __future__ import annotations

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_shell_c_output_is_only_the_commands_own(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("shell", command="print('ok')")
    assert capsys.readouterr().out == "ok\n"


def test_shell_c_still_has_the_models_imported(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("shell", command="print(SummaryJob.__name__)")
    assert capsys.readouterr().out == "SummaryJob\n"
