"""The console's imports page: upload, queue, the worker's run shown, rejects downloaded."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from ecrm.core import clock
from ecrm.imports.models import ImportRun
from ecrm.imports.services import run_queued
from ecrm.staff.models import Role

FIXTURES = Path(__file__).parent / "fixtures"
pytestmark = pytest.mark.django_db


@pytest.fixture
def data_dir(settings, tmp_path) -> Path:
    """A data directory of the test's own, with uploads under it as in production."""
    data = tmp_path / "data"
    settings.ECRM = {**settings.ECRM, "DATA_DIR": data}
    settings.MEDIA_ROOT = data / "uploads"
    return data


@pytest.fixture
def signed_in(staff_factory):
    """``signed_in(role)``: a client logged in as a new user with that role, in English."""

    def make(role: str, username: str) -> Client:
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        client.force_login(staff_factory(username, role))
        return client

    return make


@pytest.fixture
def marketer(signed_in) -> Client:
    return signed_in(Role.MARKETER, "mei")


def orders_csv() -> SimpleUploadedFile:
    return SimpleUploadedFile("orders.csv", (FIXTURES / "orders.csv").read_bytes(), "text/csv")


def a_run(**fields) -> ImportRun:
    values = {"kind": "orders", "file_name": "/elsewhere/orders.csv", "status": "done"}
    return ImportRun.objects.create(started_at=clock.now(), **(values | fields))


def test_an_upload_is_stored_and_queued(marketer, data_dir):
    """A CSV upload is saved as uploads/imports/<uuid>-orders.csv and one queued run points
    at it, started by the signed-in user; the page then shows the run as queued."""
    response = marketer.post(
        reverse("console:imports"), {"kind": "orders", "data_file": orders_csv()}
    )

    assert (response.status_code, response["Location"]) == (302, "/imports/")
    run = ImportRun.objects.get()
    stored = Path(run.file_name)
    assert (run.kind, run.status, run.mapping, run.created_by.username) == (
        "orders",
        "queued",
        "",
        "mei",
    )
    assert (stored.parent, stored.name[36:], len(stored.name)) == (
        data_dir / "uploads" / "imports",
        "-orders.csv",
        47,
    )
    assert stored.read_bytes() == (FIXTURES / "orders.csv").read_bytes()
    page = marketer.get("/imports/").content.decode()
    assert f"Import #{run.pk} is queued" in page
    assert '<span class="badge gray">Queued</span>' in page


def test_the_worker_runs_the_upload_and_the_page_shows_the_counts(marketer, data_dir):
    """Running the queued task gives a done run with exact counts, shown on list and detail."""
    marketer.post(reverse("console:imports"), {"kind": "orders", "data_file": orders_csv()})
    run_id = ImportRun.objects.get().pk

    run_queued(run_id)

    run = ImportRun.objects.get(pk=run_id)
    assert (run.status, run.rows_read, run.rows_accepted, run.rows_rejected) == ("done", 10, 5, 5)
    assert run.created == {"customers": 2, "orders": 3, "products": 3, "returns": 0}
    assert run.reject_file == str(data_dir / "imports" / f"import-{run_id}-rejects.csv")
    listing = marketer.get("/imports/").content.decode()
    assert '<span class="badge green">Done</span>' in listing
    assert '<td class="num">10</td>\n          <td class="num">5</td>\n' in listing
    assert '<div class="nowrap">orders 3</div>' in listing
    assert f'href="/imports/{run_id}/rejects/"' in listing
    assert "hx-trigger" not in listing
    detail = marketer.get(f"/imports/{run_id}/").content.decode()
    assert "<dd>customers 2 · orders 3 · products 3</dd>" in detail
    assert '<dd class="mono">orders.csv</dd>' in detail
    assert "<dt>Started by</dt><dd>mei</dd>" in detail


def test_an_uploaded_mapping_file_is_stored_beside_the_data(marketer, data_dir):
    """A valid mapping upload is saved next to the data file and the run names it."""
    mapping = SimpleUploadedFile("my map.json", b'{"kind": "orders", "columns": {}}')

    marketer.post(
        reverse("console:imports"),
        {"kind": "orders", "mapping": ":file", "mapping_file": mapping, "data_file": orders_csv()},
    )

    run = ImportRun.objects.get()
    assert Path(run.mapping).parent == data_dir / "uploads" / "imports"
    assert Path(run.mapping).name == Path(run.file_name).name[:36] + "-mapping-my_map.json"
    assert Path(run.mapping).read_bytes() == b'{"kind": "orders", "columns": {}}'
    assert "<td>my_map.json</td>" in marketer.get("/imports/").content.decode()


def test_bad_mapping_json_is_a_form_error_and_nothing_is_queued(marketer, data_dir):
    """Broken JSON in the mapping file re-shows the form (400) with the error at that field;
    no run is recorded and no file is stored."""
    mapping = SimpleUploadedFile("map.json", b'{"kind": "orders",\n "columns": }')

    response = marketer.post(
        reverse("console:imports"),
        {"kind": "orders", "mapping": ":file", "mapping_file": mapping, "data_file": orders_csv()},
    )

    assert response.status_code == 400
    assert response.context["form"].errors == {
        "mapping_file": ["Not valid JSON: Expecting value at line 2, column 13."]
    }
    assert ImportRun.objects.count() == 0
    assert (data_dir / "uploads").exists() is False


def test_a_mapping_for_another_kind_is_refused(marketer, data_dir):
    """The built-in online-retail mapping is for orders: with customers it is an error."""
    response = marketer.post(
        reverse("console:imports"),
        {"kind": "customers", "mapping": "online-retail", "data_file": orders_csv()},
    )

    assert response.status_code == 400
    assert response.context["form"].errors == {
        "mapping": ['"kind": this mapping is for orders, not customers']
    }
    assert ImportRun.objects.count() == 0


def test_mapping_errors_speak_the_consoles_language(marketer, data_dir):
    """The same refusal in the Chinese console: the mapping key and kinds stay as written."""
    marketer.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
    response = marketer.post(
        reverse("console:imports"),
        {"kind": "customers", "mapping": "online-retail", "data_file": orders_csv()},
    )

    assert response.context["form"].errors == {
        "mapping": ['"kind": 此映射用于 orders，而不是 customers']
    }


def test_a_file_the_worker_cannot_read_fails_the_run_in_the_uploaders_language(marketer, data_dir):
    """A file whose columns the mapping cannot use: the run fails, its page says why in
    the uploader's language, with the file's own column names."""
    marketer.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
    upload = SimpleUploadedFile("orders.csv", "订单号,金额\nA-1,9\n".encode(), "text/csv")
    marketer.post(reverse("console:imports"), {"kind": "orders", "data_file": upload})
    run = ImportRun.objects.get()

    run_queued(run.pk)

    run.refresh_from_db()
    assert (run.status, run.error) == (
        "failed",
        "order_id: 没有列对应到此字段；文件的列为：'订单号', '金额'",
    )
    page = marketer.get(f"/imports/{run.pk}/").content.decode()
    assert "order_id: 没有列对应到此字段；文件的列为：&#x27;订单号&#x27;, &#x27;金额&#x27;" in page


def test_a_failed_upload_is_named_as_the_user_named_it(marketer, data_dir):
    """The stored copy is ``<uuid>-bin.csv`` in the upload folder; the page says bin.csv."""
    marketer.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    upload = SimpleUploadedFile("bin.csv", b"customer_id,name\n1,\xff\xfe\xfd\n", "text/csv")
    marketer.post(reverse("console:imports"), {"kind": "customers", "data_file": upload})
    run = ImportRun.objects.get()

    run_queued(run.pk)

    run.refresh_from_db()
    assert run.status == "failed"
    assert run.error.startswith(Path(run.file_name).name) and run.file_name != "bin.csv"
    page = marketer.get(f"/imports/{run.pk}/").content.decode()
    assert '<div class="callout">bin.csv: not valid gb18030 text at line 2' in page
    assert Path(run.file_name).name not in page


def test_an_excel_workbook_saved_under_a_csv_name_fails_the_run_saying_so(marketer, data_dir):
    """A workbook renamed to .csv passes the form; the worker said that no column was
    mapped to order_id, naming the ZIP header's bytes as the file's columns (a larger
    workbook: "not valid gb18030 text ...; set encoding"), the wrong problem either way."""
    marketer.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
    upload = SimpleUploadedFile(
        "订单.csv", b"PK\x03\x04\x14\x00\x06\x00\x08\x00\xb5\xfe", "text/csv"
    )
    marketer.post(reverse("console:imports"), {"kind": "orders", "data_file": upload})
    run = ImportRun.objects.get()

    run_queued(run.pk)

    run.refresh_from_db()
    assert (run.status, run.error) == (
        "failed",
        f"{Path(run.file_name).name}: 是 Excel 工作簿（或其他 ZIP 文件），不是 CSV 或 JSON Lines；"
        "请在 Excel 中另存为“CSV UTF-8”",
    )
    page = marketer.get(f"/imports/{run.pk}/").content.decode()
    assert "订单.csv: 是 Excel 工作簿（或其他 ZIP 文件）" in page


def test_missing_file_and_unknown_kind_are_field_errors(marketer, data_dir):
    """Without a file and with an unknown kind, both fields say what is wrong."""
    response = marketer.post(reverse("console:imports"), {"kind": "refunds"})

    assert response.status_code == 400
    assert response.context["form"].errors == {
        "kind": ["Select a valid choice. refunds is not one of the available choices."],
        "data_file": ["This field is required."],
    }
    assert ImportRun.objects.count() == 0


def test_a_file_that_is_not_csv_or_json_lines_is_refused(marketer, data_dir):
    """An .xlsx upload is refused at the data file field."""
    upload = SimpleUploadedFile("orders.xlsx", b"PK\x03\x04")

    response = marketer.post(reverse("console:imports"), {"kind": "orders", "data_file": upload})

    assert response.context["form"].errors == {
        "data_file": ["orders.xlsx is neither CSV nor JSON Lines (.csv, .jsonl, optionally .gz)."]
    }
    assert ImportRun.objects.count() == 0


@pytest.mark.parametrize("role", [Role.SERVICE_AGENT, Role.SALES_REP, Role.ANALYST])
@pytest.mark.parametrize(
    "url", ["/imports/", "/imports/runs/", "/imports/1/", "/imports/1/rejects/"]
)
def test_roles_without_import_data_get_403(signed_in, role, url):
    """Only admin and marketer hold import_data; every imports URL refuses the others."""
    client = signed_in(role, "someone")

    assert client.get(url).status_code == 403


def test_the_sidebar_links_imports_only_for_importers(signed_in):
    """The sidebar shows 导入 to a marketer (in Chinese) and not to a service agent."""
    marketer = signed_in(Role.MARKETER, "mei")
    marketer.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
    agent = signed_in(Role.SERVICE_AGENT, "agent")

    assert 'href="/imports/"' in marketer.get("/").content.decode()
    assert "导入</a>" in marketer.get("/").content.decode()
    assert 'href="/imports/"' not in agent.get("/").content.decode()


def test_the_reject_file_downloads_for_its_own_run(marketer, data_dir):
    """The run's reject CSV (under the data dir) is sent as an attachment."""
    rejects = data_dir / "imports" / "import-7-rejects.csv"
    rejects.parent.mkdir(parents=True)
    rejects.write_text("line,reason\n6,quantity: 'abc' is not a number\n", encoding="utf-8")
    run = a_run(reject_file=str(rejects), rows_rejected=1)

    response = marketer.get(f"/imports/{run.pk}/rejects/")

    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        f'attachment; filename="import-{run.pk}-rejects.csv"'
    )
    assert b"".join(response.streaming_content) == rejects.read_bytes()


def test_reject_downloads_404_outside_the_data_dir_or_without_a_file(marketer, data_dir, tmp_path):
    """No reject file, a file outside the data dir (also via ..), a missing file, an
    unknown run: each is a 404, never the file."""
    secret = tmp_path / "secret.csv"
    secret.write_text("password\n", encoding="utf-8")
    runs = [
        a_run(reject_file=""),
        a_run(reject_file=str(secret)),
        a_run(reject_file=str(data_dir / ".." / "secret.csv")),
        a_run(reject_file=str(data_dir / "imports" / "gone.csv")),
    ]
    urls = [f"/imports/{run.pk}/rejects/" for run in runs] + ["/imports/999999/rejects/"]

    assert [marketer.get(url).status_code for url in urls] == [404, 404, 404, 404, 404]


def test_the_list_fragment_polls_while_a_run_is_active(marketer, data_dir):
    """With a queued run the fragment asks htmx to refresh every 2s; without, it does not.
    File names are shown without their folders."""
    queued = a_run(status="queued", file_name="/srv/uploads/imports/abc-customers.csv")

    active = marketer.get("/imports/runs/", HTTP_HX_REQUEST="true").content.decode()
    queued.status = "done"
    queued.save(update_fields=["status"])
    finished = marketer.get("/imports/runs/", HTTP_HX_REQUEST="true").content.decode()

    assert active.startswith('\n<div class="card" id="runs" hx-get="/imports/runs/"')
    assert 'hx-trigger="every 2s"' in active
    assert '<td class="mono">abc-customers.csv</td>' in active
    assert "/srv/uploads" not in active
    assert finished.startswith('\n<div class="card" id="runs">')


def test_the_list_is_keyset_paged_newest_first(marketer, data_dir):
    """26 runs: the first page shows #26..#2 and links to the rest, which shows #1."""
    ids = [a_run(file_name=f"f{i}.csv").pk for i in range(26)]

    first = marketer.get("/imports/")
    second = marketer.get(f"/imports/?after={ids[1]}")

    assert [row.run.pk for row in first.context["rows"]] == ids[:0:-1]
    assert first.context["next_after"] == ids[1]
    assert [row.run.pk for row in second.context["rows"]] == [ids[0]]
    assert second.context["next_after"] is None


def test_a_failed_run_shows_its_error(marketer, data_dir):
    """The detail page of a failed run shows the reason; unknown runs are 404."""
    run = a_run(status="failed", error="orders.csv: the file is empty")

    page = marketer.get(f"/imports/{run.pk}/").content.decode()

    assert '<div class="callout">orders.csv: the file is empty</div>' in page
    assert '<span class="badge red">Failed</span>' in page
    assert marketer.get("/imports/999999/").status_code == 404


def test_a_finished_run_shows_its_first_rejected_rows_with_line_and_reason(
    marketer, data_dir, monkeypatch
):
    """Staff read why rows failed on the run's page; markup in a cell stays text. Beyond
    the rows shown, the page says the download has the rest."""
    from ecrm.imports.web import views

    monkeypatch.setattr(views, "REJECTS_SHOWN", 2)
    rejects = data_dir / "imports" / "import-9-rejects.csv"
    rejects.parent.mkdir(parents=True)
    rejects.write_text(
        "\ufeffline,reason,order_id,product_name\n"
        "3,placed_at: 'x' is not a date,N-2,<b>名</b>\n"
        "4,unit_price: 'abc' is not a number,N-3,茶\n"
        "9,order_id: is empty,,茶\n",
        encoding="utf-8",
    )
    run = a_run(reject_file=str(rejects), rows_rejected=3)

    page = marketer.get(f"/imports/{run.pk}/").content.decode()

    assert page.count('<td class="num mono">') == 2
    assert "<th>order_id</th><th>product_name</th>" in page
    assert (
        '<td class="num mono">3</td><td>placed_at: &#x27;x&#x27; is not a date</td>'
        '<td class="mono">N-2</td><td class="mono">&lt;b&gt;名&lt;/b&gt;</td>'
    ) in page
    assert "The first 2 of 3 rejected rows; the download has them all." in page
    assert "order_id: is empty" not in page


def test_rejected_rows_give_their_reasons_in_the_uploaders_language(marketer, data_dir):
    """An upload from the Chinese console is rejected row by row in Chinese, in the reject
    file and on the run's page; field names and the file's own values stay as they are."""
    marketer.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
    marketer.post(reverse("console:imports"), {"kind": "orders", "data_file": orders_csv()})
    run = ImportRun.objects.get()
    assert run.language == "zh-hans"

    run_queued(run.pk)

    rows = Path(data_dir / "imports" / f"import-{run.pk}-rejects.csv").read_text("utf-8-sig")
    reasons = [line.split(",")[:2] for line in rows.splitlines()[1:]]
    assert reasons == [
        ["7", "quantity: 'abc' 不是数字"],
        ["8", "订单 SO-4 整单被拒：第 7 行有误"],
        ["9", "order_id: 为空"],
        ["10", "email: 'not-an-email' 不是电子邮件地址"],
        [
            "11",
            "placed_at: '2024-13-45 12:00:00' 不是日期时间（ISO 8601，例如 2024-06-18 20:15:00）",
        ],
    ]
    page = marketer.get(f"/imports/{run.pk}/").content.decode()
    assert "<td>quantity: &#x27;abc&#x27; 不是数字</td>" in page


def test_rejected_rows_from_the_english_console_or_the_command_line_are_in_english(
    marketer, data_dir
):
    """The same file from the English console: the reasons the API and CLI give too."""
    marketer.post(reverse("console:imports"), {"kind": "orders", "data_file": orders_csv()})
    run = ImportRun.objects.get()

    run_queued(run.pk)

    rows = Path(data_dir / "imports" / f"import-{run.pk}-rejects.csv").read_text("utf-8-sig")
    assert rows.splitlines()[1:3] == [
        "7,quantity: 'abc' is not a number,SO-4,C3,,,2024-06-21 11:00:00,paid,web,,CN,上海,CNY,"
        ",,,,SKU-1,电饭煲,abc,299,",
        "8,order SO-4 is rejected whole: line 7 is bad,SO-4,C3,,,2024-06-21 11:00:00,paid,web,,"
        "CN,上海,CNY,,,,,SKU-2,保温杯,1,49.5,",
    ]
