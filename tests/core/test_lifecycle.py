from __future__ import annotations

import pytest

from ticketd.core.errors import InvalidTransition
from ticketd.core.lifecycle import ALLOWED_TRANSITIONS, FINAL_STATES, Status, check_reopen, check_transition


@pytest.mark.parametrize("final", sorted(FINAL_STATES))
def test_final_states_leave_only_by_reopen(final: Status) -> None:
    for target in Status:
        with pytest.raises(InvalidTransition):
            check_transition(final, target)
    check_reopen(final)


def test_solved_may_close_or_reopen() -> None:
    check_transition(Status.SOLVED, Status.CLOSED)
    check_transition(Status.SOLVED, Status.OPEN)
    with pytest.raises(InvalidTransition):
        check_transition(Status.SOLVED, Status.PENDING)


@pytest.mark.parametrize("status", [Status.NEW, Status.OPEN, Status.PENDING])
def test_active_states_cannot_be_reopened(status: Status) -> None:
    with pytest.raises(InvalidTransition):
        check_reopen(status)


def test_every_status_has_a_rule() -> None:
    assert set(ALLOWED_TRANSITIONS) == set(Status)
    assert all(status not in targets for status, targets in ALLOWED_TRANSITIONS.items())
