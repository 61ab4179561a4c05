"""The voice session's state machine on its own: its states, triggers and table."""

from __future__ import annotations

import pytest

from voice.session import TRANSITIONS, IllegalTransition, Machine, State, Trigger, is_stop_phrase


def walk(*triggers: Trigger, start: State = State.MUTED) -> list[State]:
    machine = Machine(start)
    return [machine.fire(trigger) for trigger in triggers]


def test_a_push_to_talk_question_goes_round_from_muted_to_muted():
    assert walk(Trigger.START, Trigger.SPEECH, Trigger.QUESTION, Trigger.SOUND, Trigger.MUTE) == [
        State.LISTENING,
        State.HEARING,
        State.ANSWERING,
        State.SPEAKING,
        State.MUTED,
    ]


def test_hands_free_listens_again_after_the_answer_played_or_was_spoken_over():
    played = walk(Trigger.START, start=State.SPEAKING)
    spoken_over = walk(Trigger.BARGE_IN, start=State.SPEAKING)
    assert played == spoken_over == [State.LISTENING]
    # Nothing said aloud (not understood, refused): at once.
    assert walk(Trigger.REARM, start=State.ANSWERING) == [State.LISTENING]
    # A cough is not a question: back to listening without answering.
    assert walk(Trigger.SPEECH, Trigger.SILENCE, start=State.LISTENING) == [
        State.HEARING,
        State.LISTENING,
    ]


@pytest.mark.parametrize("state", list(State))
def test_anything_can_be_stopped(state):
    assert walk(Trigger.MUTE, start=state) == [State.MUTED]


@pytest.mark.parametrize(
    ("state", "trigger"),
    [
        (State.MUTED, Trigger.SPEECH),  # a muted microphone hears nothing
        (State.MUTED, Trigger.REARM),  # only the client's start un-mutes
        (State.LISTENING, Trigger.QUESTION),  # no question without speech
        (State.ANSWERING, Trigger.SPEECH),  # its own voice is no question
        (State.SPEAKING, Trigger.SPEECH),
        (State.ANSWERING, Trigger.QUESTION),  # one question at a time
        (State.ANSWERING, Trigger.START),  # "busy"
        (State.HEARING, Trigger.SOUND),
        (State.SPEAKING, Trigger.SOUND),
    ],
)
def test_it_refuses_a_move_its_table_lacks_and_stays_where_it_was(state, trigger):
    machine = Machine(state)
    assert not machine.allows(trigger)
    with pytest.raises(IllegalTransition):
        machine.fire(trigger)
    assert machine.state is state


def test_only_listening_and_hearing_take_speech_and_only_start_unmutes():
    takes_speech = {s for (s, t) in TRANSITIONS if t in (Trigger.SPEECH, Trigger.QUESTION)}
    assert takes_speech == {State.LISTENING, State.HEARING}
    leave_muted = {t for (s, t), target in TRANSITIONS.items() if s is State.MUTED}
    assert leave_muted == {Trigger.START, Trigger.MUTE}


def test_a_stop_phrase_is_a_short_command_not_a_question_that_mentions_it():
    assert is_stop_phrase("Stop listening.")
    assert is_stop_phrase("okay stop hands free")
    assert not is_stop_phrase("how do I stop listening to the fryer alarm when it beeps")
    assert not is_stop_phrase("how long do fries cook")
