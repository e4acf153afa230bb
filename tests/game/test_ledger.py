"""The referee's ledger: which attempts are penalised, and the score at a given penalty."""

from __future__ import annotations

from banditlb.game.ledger import NO_ANSWER, Ledger, Score

A, B, C = "a" * 24, "b" * 24, "c" * 24


def test_only_attempts_beyond_the_third_per_id_are_penalised() -> None:
    """Five attempts on one id: attempts 4 and 5 are penalised, whatever their status."""
    ledger = Ledger()
    for status in (500, 429, 500, 503, 200):
        ledger.record(A, "s1", status)
    assert ledger.score(1.0) == Score(
        ids=1, attempts=5, accepted=1, penalised_attempts=2, penalty=1.0
    )
    assert ledger.score(1.0).score == -1.0
    assert ledger.score(0.5).score == 0.0


def test_score_over_several_ids_at_penalties_one_and_half() -> None:
    """A accepted at once, B failed 4 times, C accepted on the 3rd try: 2 − p × 1."""
    ledger = Ledger()
    ledger.record(A, "s1", 200)
    for _ in range(4):
        ledger.record(B, "s2", 500)
    ledger.record(C, "s2", 429)
    ledger.record(C, "s2", 500)
    ledger.record(C, "s1", 200)
    one, half = ledger.score(1.0), ledger.score(0.5)
    assert (one.ids, one.attempts, one.accepted, one.penalised_attempts) == (3, 8, 2, 1)
    assert (one.score, half.score) == (1.0, 1.5)
    assert half.score_per_id == 0.5
    assert half.as_dict() == {
        "ids": 3,
        "attempts": 8,
        "accepted": 2,
        "penalised_attempts": 1,
        "penalty": 0.5,
        "score": 1.5,
        "score_per_id": 0.5,
    }


def test_per_server_counts_split_200_5xx_429_and_no_answer_is_a_failure() -> None:
    """Server counts: 200s, 429s, and every other status (NO_ANSWER included) as 5xx."""
    ledger = Ledger()
    for status in (200, 429, 502, NO_ANSWER):
        ledger.record(A, "s1", status)
    assert ledger.servers["s1"].as_dict() == {"200": 1, "5xx": 2, "429": 1}
    assert ledger.score().accepted == 1


def test_an_id_accepted_twice_counts_once() -> None:
    """A second 200 for the same id adds an attempt, not another accepted id."""
    ledger = Ledger()
    ledger.record(A, "s1", 200)
    ledger.record(A, "s2", 200)
    assert (ledger.score().accepted, ledger.score().attempts) == (1, 2)


def test_free_attempts_is_configurable() -> None:
    """With one free attempt every retry is penalised."""
    ledger = Ledger(free_attempts=1)
    for _ in range(3):
        ledger.record(A, "s1", 500)
    assert ledger.score().penalised_attempts == 2


def test_empty_ledger_scores_zero_and_reset_empties_it() -> None:
    """No ids: score 0 and score_per_id 0; reset returns a used ledger to that state."""
    ledger = Ledger()
    assert ledger.score().as_dict()["score_per_id"] == 0.0
    for status in (500, 500, 500, 500):
        ledger.record(A, "s1", status)
    ledger.reset()
    assert ledger.score(1.0) == Score(0, 0, 0, 0, 1.0)
    assert ledger.servers == {}
