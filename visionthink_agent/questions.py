"""The question's own checks, made before any model is called: not empty, not too long.

Every surface (the agent graph, the ``create_agent`` middleware, ``visionthink ask``, the graph
served by ``langgraph dev``) refuses the same questions with the same one-line message. The
length bound is in characters, counted before anything is tokenised, so a 1 MB question costs
a ``len()`` and not a tokeniser pass or a model prefill. The prompt's token bound is the model's
own (``ChatQwenVL(max_prompt_tokens=)`` in process, the server's context length behind an
OpenAI-compatible API).

Example:
    >>> check_question_text("How many birds?")
    'How many birds?'
    >>> check_question_text("x" * 20_000)
    Traceback (most recent call last):
    ...
    visionthink_agent.questions.QuestionError: the question is 20000 characters, over the \
limit of 16000 (raise max_question_chars to allow it)
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_MAX_QUESTION_CHARS",
    "QuestionError",
    "check_question_length",
    "check_question_text",
]

DEFAULT_MAX_QUESTION_CHARS = 16_000
"""Characters of question text per question (about 4,000 English tokens; VisionThink's
benchmark questions, choices included, stay under 2,000)."""


class QuestionError(ValueError):
    """A question refused before the model is called: empty, or over the length limit.

    Args:
        problem: what is wrong (never the question's text).
        setting: the keyword that changes the outcome (``max_question_chars``), if any; the
            message then ends with how to change it, and a command line names its own flag.

    Example:
        >>> err = QuestionError("the question is 9 characters, over 8", setting="max_chars")
        >>> str(err), err.setting
        ('the question is 9 characters, over 8 (raise max_chars to allow it)', 'max_chars')
    """

    def __init__(self, problem: str, *, setting: str | None = None) -> None:
        remedy = f" (raise {setting} to allow it)" if setting else ""
        super().__init__(problem + remedy)
        self.problem = problem
        self.setting = setting


def check_question_length(text: str, *, max_chars: int = DEFAULT_MAX_QUESTION_CHARS) -> None:
    """Raise :class:`QuestionError` when ``text`` is longer than ``max_chars`` characters.

    The one check to make before reading a question's images (it costs a ``len()``).

    Example:
        >>> check_question_length("x" * 10, max_chars=10)
    """
    if len(text) > max_chars:
        raise QuestionError(
            f"the question is {len(text)} characters, over the limit of {max_chars}",
            setting="max_question_chars",
        )


def check_question_text(text: str, *, max_chars: int = DEFAULT_MAX_QUESTION_CHARS) -> str:
    """Return ``text`` when it is a question the agent takes: not over ``max_chars``
    (:func:`check_question_length`), not empty; raise :class:`QuestionError` if not.

    Args:
        text: the question's text (every text block of the user's message, joined).
        max_chars: the most characters allowed.

    Example:
        >>> check_question_text("  ")
        Traceback (most recent call last):
        ...
        visionthink_agent.questions.QuestionError: the question is empty: send its text with \
the image
    """
    check_question_length(text, max_chars=max_chars)
    if not text.strip():
        raise QuestionError("the question is empty: send its text with the image")
    return text
