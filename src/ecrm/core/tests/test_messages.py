"""Messages kept as English template and values, read later in the reader's language."""

import pickle

from django.utils import translation

from ecrm.core.messages import Message
from ecrm.core.phone import InvalidPhone, normalize_phone
from ecrm.customers.rules import ProfileError


def test_a_message_is_english_as_text_and_localized_in_the_active_language():
    """The subject (a field and its column) and the values are never translated."""
    message = Message("%(value)s is not a number", "quantity (数量)", value="'abc'")

    with translation.override("zh-hans"):
        assert (str(message), message.localized()) == (
            "quantity (数量): 'abc' is not a number",
            "quantity (数量): 'abc' 不是数字",
        )
        assert message.localized(with_subject=False) == "'abc' 不是数字"
    with translation.override("en"):
        assert message.localized() == "quantity (数量): 'abc' is not a number"


def test_a_message_survives_pickling():
    """An import's reading process sends its rejected rows' reasons to the writer."""
    message = Message("order %(order)s is rejected whole: line %(line)s is bad", order="A", line=7)

    copy = pickle.loads(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))

    assert (copy, str(copy)) == (message, "order A is rejected whole: line 7 is bad")


def test_a_problem_keeps_its_message_when_another_field_takes_it_on():
    """A bad phone number becomes the error of the field it was typed in, still translatable."""
    try:
        normalize_phone("12")
    except InvalidPhone as exc:
        error = ProfileError.of("phone", exc)

    assert (str(error), error.field, error.message) == (
        "phone: '12' is not a valid phone number",
        "phone",
        "'12' is not a valid phone number",
    )
    with translation.override("zh-hans"):
        assert error.text.localized() == "phone: '12' 不是有效的电话号码"


def test_a_problem_survives_pickling_with_what_its_kind_adds():
    """An import's reading process sends its errors to the importing process, whole."""
    from ecrm.imports.readers import ImportFileError
    from ecrm.imports.rules import RowError

    row = RowError("quantity (数量)", "%(value)s is not a number", key="quantity", value="'x'")
    row.row = 2
    failed = ImportFileError("orders.csv", "broken CSV (%(error)s)", error=ValueError("NUL"))

    row_copy, failed_copy = pickle.loads(pickle.dumps((row, failed)))

    assert (type(row_copy), str(row_copy), row_copy.key, row_copy.row, row_copy.text) == (
        RowError,
        "quantity (数量): 'x' is not a number",
        "quantity",
        2,
        row.text,
    )
    assert (type(failed_copy), str(failed_copy)) == (
        ImportFileError,
        "orders.csv: broken CSV (NUL)",
    )


def test_whole_number_takes_only_ascii_digits_a_database_key_holds():
    from ecrm.core.text import MAX_KEY, whole_number

    assert [whole_number(t) for t in ("12", " 007 ", str(MAX_KEY))] == [12, 7, MAX_KEY]
    assert [
        whole_number(t) for t in ("", "-1", "1.0", "\u00b2", "\u0661\u0662", str(MAX_KEY + 1))
    ] == [None] * 6
    # Past 4,300 digits int() raised ValueError: a CSV line of digits failed an upload (500).
    assert [whole_number("9" * 5000), whole_number("0" * 5000 + "12")] == [None, 12]
