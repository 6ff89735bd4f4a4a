"""Messages for people that are written now and read later, in the reader's language.

A bad row's reason is decided while an import runs (in the CLI, in the worker) and read
afterwards, in the console of whoever uploaded the file. So it is kept as its English
template and values: ``str()`` gives English (the API, the CLI, logs, tests), and
``localized()`` the language active where it is shown. Templates are marked with
``gettext_noop`` where they are written and translated in ``ecrm/locale``.
"""

from __future__ import annotations

from django.utils.translation import gettext
from django.utils.translation import gettext_noop as N_

# What Python's json module says of bad JSON (its fixed messages), for ``json_problem``.
JSON_ERRORS = frozenset(
    {
        N_("Expecting value"),
        N_("Expecting property name enclosed in double quotes"),
        N_("Expecting ',' delimiter"),
        N_("Expecting ':' delimiter"),
        N_("Extra data"),
        N_("Unterminated string starting at"),
        N_("Invalid control character at"),
        N_("Invalid \\uXXXX escape"),
    }
)


def json_problem(error) -> str:
    """A ``json.JSONDecodeError``'s reason in the active language (as the json module
    wrote it where it is none of its fixed messages)."""
    return gettext(error.msg) if error.msg in JSON_ERRORS else error.msg


# Reasons several domains give about a value.
EMPTY = N_("is empty")
TOO_LONG = N_("is longer than %(limit)s characters")
ONE_OF = N_("%(value)s is not one of %(choices)s")
MUST_BE_ONE_OF = N_("must be one of %(choices)s")
REQUIRED = N_("is required")
REQUIRED_UP_TO = N_("is required, at most %(limit)s characters")
AT_LEAST = N_("must be at least %(min)s")
AT_MOST = N_("must be at most %(max)s")
NOT_NEGATIVE = N_("must not be negative")
NOT_A_DATE = N_("%(value)s is not a date (YYYY-MM-DD)")
OUT_OF_CALENDAR = N_("must be a date from %(first)s to %(last)s")


class Message:
    """``template % params``, after ``subject: `` when there is one. The subject (a field
    name, a file's column) is the user's own word and is never translated; the values are
    inserted as they are (``repr`` them where a quoted value reads better)."""

    __slots__ = ("subject", "template", "params")

    def __init__(self, template: str, subject: str = "", **params):
        self.subject = subject
        self.template = template
        self.params = params

    def _join(self, text: str) -> str:
        return f"{self.subject}: {text}" if self.subject else text

    def __str__(self) -> str:
        return self._join(self.template % self.params)

    def localized(self, with_subject: bool = True) -> str:
        """In the active language; without the subject where the page shows it beside (a
        form field's error)."""
        text = gettext(self.template) % self.params
        return self._join(text) if with_subject else text

    def __eq__(self, other) -> bool:
        if not isinstance(other, Message):
            return NotImplemented
        return (self.subject, self.template, self.params) == (
            other.subject,
            other.template,
            other.params,
        )

    def __hash__(self) -> int:
        return hash((self.subject, self.template))

    def __repr__(self) -> str:
        return f"Message({str(self)!r})"

    # __slots__ without __dict__: spell out pickling (an import's reading process sends
    # its rejected rows, reasons included, to the importing process).
    def __getstate__(self):
        return (self.subject, self.template, self.params)

    def __setstate__(self, state) -> None:
        self.subject, self.template, self.params = state


class Reasons:
    """Several messages about one record told as one, ``phone: …; birthday: …``: a rejected
    row names every bad field at once, not one per attempt. Reads like a ``Message``."""

    __slots__ = ("messages",)

    def __init__(self, messages):
        self.messages = tuple(messages)

    @property
    def subject(self) -> str:
        return self.messages[0].subject

    def __str__(self) -> str:
        return "; ".join(str(m) for m in self.messages)

    def localized(self, with_subject: bool = True) -> str:
        return "; ".join(m.localized(with_subject) for m in self.messages)

    def __eq__(self, other) -> bool:
        if not isinstance(other, Reasons):
            return NotImplemented
        return self.messages == other.messages

    def __hash__(self) -> int:
        return hash(self.messages)

    def __repr__(self) -> str:
        return f"Reasons({list(self.messages)!r})"


class Problem(ValueError):
    """A value is unusable; ``text`` says why, about ``field`` (the subject), in English
    through ``str()`` and in the active language through ``text.localized()``."""

    def __init__(self, field_name: str, template: str, **params):
        self.text = Message(template, field_name, **params)
        super().__init__(str(self.text))

    @classmethod
    def of(cls, field_name: str, problem: Problem, **extra):
        """``problem`` (a bad e-mail address, a bad profile value) told again as this
        kind's error about ``field_name``, still translatable."""
        return cls(field_name, problem.text.template, **extra, **problem.text.params)

    @property
    def field(self) -> str:
        return self.text.subject

    @property
    def message(self) -> str:
        """The reason without the field, in English."""
        return self.text.template % self.text.params

    @classmethod
    def together(cls, problems: list[Problem]) -> Problem:
        """One problem telling every one of ``problems`` (about one record)."""
        first = problems[0]
        if len(problems) > 1:
            first.text = Reasons(p.text for p in problems)
            first.args = (str(first.text),)
        return first

    def __reduce__(self):
        # The reading process of an import sends its errors to the importing process.
        return (_restore, (self.__class__, self.args, self.__dict__))


def _restore(cls, args, state):
    problem = cls.__new__(cls, *args)
    problem.args = args
    problem.__dict__.update(state)
    return problem
