"""The review server under hostile requests: token, host, traversal, body limits, methods, bind."""

from __future__ import annotations

import http.client
import json
import os
from pathlib import Path

import pytest

from test_correct_support import STEM, processed_folder, word_id
from undertone.correct.server import ReviewServer, ServerError, loopback_host


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("served")
    out, machine = processed_folder(folder)
    (folder / "secret.txt").write_text("outside the output folder\n")
    (out / "link.txt").symlink_to(folder / "secret.txt")  # a symlink out of the folder
    os.mkfifo(out / "pipe.txt") if hasattr(os, "mkfifo") else None
    server = ReviewServer(out)
    server.start_in_thread()
    yield server, out, machine
    server.close()


def _request(server: ReviewServer, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
             token: bool = True) -> tuple[int, dict, bytes]:
    """One raw HTTP request (the path is sent exactly as given: no client-side normalising)."""
    connection = http.client.HTTPConnection(server.host, server.port, timeout=30)
    sent = {"Host": f"{server.host}:{server.port}", **(headers or {})}
    if token and "X-Undertone-Token" not in sent and "Cookie" not in sent:
        sent["X-Undertone-Token"] = server.token
    connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    for name, value in sent.items():
        connection.putheader(name, value)
    if body is not None and "Content-Length" not in sent:
        connection.putheader("Content-Length", str(len(body)))
    connection.endheaders(body)
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, data


def _post_edit(server, edit: dict | bytes, **kwargs):
    body = edit if isinstance(edit, bytes) else json.dumps(edit).encode()
    headers = {"Content-Type": "application/json", **kwargs.pop("headers", {})}
    return _request(server, "POST", f"/api/{STEM}/edits", body, headers=headers, **kwargs)


PROTECTED = ["/", f"/review/{STEM}", f"/media/{STEM}", f"/files/{STEM}.txt", f"/api/{STEM}/journal"]


@pytest.mark.parametrize("path", PROTECTED)
def test_every_request_needs_the_token(served, path: str):
    server, _, _ = served
    assert _request(server, "GET", path, token=False)[0] == 403
    assert _request(server, "GET", path, headers={"X-Undertone-Token": "wrong"})[0] == 403
    assert _request(server, "GET", path, headers={"Cookie": "undertone_token=" + server.token[:-1] + "x"})[0] == 403
    assert _request(server, "GET", path + ("&" if "?" in path else "?") + "token=nope", token=False)[0] == 403
    assert _request(server, "GET", path)[0] == 200


def test_posting_without_the_token_is_refused_and_writes_nothing(served):
    server, out, machine = served
    status, _, _ = _post_edit(server, {"kind": "correct_word", "word": "w0", "text": "x"}, token=False)
    assert status == 403
    assert _request(server, "POST", f"/api/{STEM}/apply", b"", token=False)[0] == 403
    assert not (out / f"{STEM}.corrections.jsonl").exists() or b'"x"' not in (out / f"{STEM}.corrections.jsonl").read_bytes()


def test_the_printed_address_sets_a_strict_cookie_and_drops_the_token(served):
    server, _, _ = served
    url = server.urls()[0]
    assert url.startswith(f"http://127.0.0.1:{server.port}/review/{STEM}?token=")
    status, headers, _ = _request(server, "GET", url.split(str(server.port), 1)[1], token=False)
    assert status == 303 and headers["location"] == f"/review/{STEM}"
    cookie = headers["set-cookie"]
    assert f"undertone_token={server.token}" in cookie
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    status, headers, page = _request(server, "GET", f"/review/{STEM}", headers={"Cookie": f"undertone_token={server.token}"})
    assert status == 200 and b'data-id="w0"' in page
    assert "connect-src 'self'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"


def test_another_host_name_is_refused(served):
    """A page elsewhere cannot reach the server by pointing its own name at 127.0.0.1."""
    server, _, _ = served
    assert _request(server, "GET", f"/review/{STEM}", headers={"Host": "evil.example"})[0] == 421
    assert _request(server, "GET", f"/review/{STEM}", headers={"Host": f"evil.example:{server.port}"})[0] == 421


@pytest.mark.parametrize(
    "path",
    [
        "/files/../secret.txt",
        "/files/%2e%2e/secret.txt",
        "/files/%2e%2e%2fsecret.txt",
        "/files/..%2fsecret.txt",
        "/files/corrected/../../secret.txt",
        "/files/%2fetc%2fpasswd",
        "/files//etc/passwd",
        "/files/..%5csecret.txt",
        "/files/link.txt",  # a symlink that leads out of the folder
        "/files/pipe.txt",  # not a regular file
        "/files/talk.wav",  # not an output file (the recording is served only as /media)
        "/files/.talk.json.x.part",
        "/files/talk.json%00.txt",
        "/review/..%2f..%2fsecret",
        "/media/..%2fsecret.txt",
        "/api/..%2f..%2fsecret/journal",
    ],
)
def test_no_path_outside_the_output_folder_is_served(served, path: str):
    server, _, _ = served
    status, _, body = _request(server, "GET", path)
    assert status in (400, 404), (path, status)
    assert b"outside the output folder" not in body


def test_output_files_are_served(served):
    server, out, _ = served
    status, _, body = _request(server, "GET", f"/files/{STEM}.txt")
    assert status == 200 and body == (out / f"{STEM}.txt").read_bytes()


def test_audio_is_served_with_ranges(served):
    server, _, machine = served
    recording = Path(machine.source.path).read_bytes()
    status, headers, body = _request(server, "GET", f"/media/{STEM}", headers={"Range": "bytes=100-199"})
    assert status == 206
    assert body == recording[100:200]
    assert headers["content-range"] == f"bytes 100-199/{len(recording)}"
    assert headers["content-type"] == "audio/wav"


@pytest.mark.parametrize(
    ("body", "headers", "status", "message"),
    [
        (b"{not json", {}, 422, "not valid JSON"),
        (b"[]", {}, 422, "an edit is a JSON object"),
        (json.dumps({"kind": "correct_word", "word": "../../x", "text": "a"}).encode(), {}, 422, "is not a word id"),
        (json.dumps({"kind": "correct_word", "word": "w0", "text": "a", "seq": 99}).encode(), {}, 422, "set by the server"),
        (json.dumps({"kind": "correct_word", "word": "w9999", "text": "a"}).encode(), {}, 422, "edit 1 (correct_word): no word w9999"),
        (b"x" * 70_000, {}, 413, "at most"),
        (b"{}", {"Content-Length": "99999999"}, 413, "at most"),
        (json.dumps({"kind": "note", "word": "w0", "text": "x"}).encode(), {"Content-Type": "text/plain"}, 415, "application/json"),
    ],
)
def test_bad_edits_are_refused_with_a_reason(served, body: bytes, headers: dict, status: int, message: str):
    server, out, _ = served
    journal = out / f"{STEM}.corrections.jsonl"
    before = journal.read_bytes() if journal.exists() else b""
    got, _, answer = _post_edit(server, body, headers=headers) if "Content-Length" not in headers else _request(
        server, "POST", f"/api/{STEM}/edits", body, headers={"Content-Type": "application/json", **headers}
    )
    assert got == status, answer
    if status != 413 or "Content-Length" not in headers:
        assert message in json.loads(answer)["error"]
    assert (journal.read_bytes() if journal.exists() else b"") == before


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"/api/{STEM}/edits"),
        ("PUT", f"/api/{STEM}/edits"),
        ("DELETE", f"/api/{STEM}/journal"),
        ("POST", f"/review/{STEM}"),
        ("GET", f"/api/{STEM}/apply"),
        ("POST", f"/files/{STEM}.txt"),
    ],
)
def test_wrong_methods_are_refused(served, method: str, path: str):
    server, _, _ = served
    assert _request(server, method, path, b"" if method != "GET" else None)[0] == 405


def test_unknown_transcripts_are_not_found(served):
    server, _, _ = served
    assert _request(server, "GET", "/review/nobody")[0] == 404
    assert _post_edit(server, {"kind": "note", "word": "w0", "text": "x"})[0] == 201  # the real one works
    assert _request(server, "POST", "/api/nobody/edits", b"{}", headers={"Content-Type": "application/json"})[0] == 404


def test_an_edit_is_appended_and_comes_back_in_the_journal(served):
    server, out, machine = served
    status, _, answer = _post_edit(server, {"kind": "correct_word", "word": word_id(machine, "river"), "text": "canal", "line": 8})
    assert status == 201
    stored = json.loads(answer)
    assert stored["kind"] == "correct_word" and stored["seq"] >= 1 and stored["time"].endswith("Z")
    status, _, answer = _request(server, "GET", f"/api/{STEM}/journal")
    assert stored in json.loads(answer)["edits"]


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::", "example.com", ""])
def test_the_server_listens_only_on_loopback(host: str, tmp_path: Path):
    with pytest.raises(ServerError, match="listens only on this machine"):
        loopback_host(host)
    with pytest.raises(ServerError, match="listens only on this machine"):
        ReviewServer(tmp_path, host=host)


def test_loopback_addresses_are_accepted():
    assert loopback_host("127.0.0.1") == "127.0.0.1"
    assert loopback_host("localhost") == "127.0.0.1"
    assert loopback_host("::1") == "::1"


def test_review_command_refuses_a_public_address_and_an_empty_folder(tmp_path: Path):
    from typer.testing import CliRunner

    from undertone.cli import app

    result = CliRunner().invoke(app, ["review", str(tmp_path), "--host", "0.0.0.0"])
    assert result.exit_code == 2 and "listens only on this machine" in result.output
    result = CliRunner().invoke(app, ["review", str(tmp_path)])
    assert result.exit_code == 2 and "no transcript" in result.output


def test_apply_through_the_server_writes_the_corrected_version(served):
    server, out, _ = served
    status, _, answer = _request(server, "POST", f"/api/{STEM}/apply", b"")
    assert status == 200, answer
    version = json.loads(answer)["version"]
    assert (out / "corrected" / f"{STEM}.json").is_file()
    status, _, page = _request(server, "GET", f"/review/{STEM}")
    assert version.encode() in page  # the page now shows the corrected version
    status, _, body = _request(server, "GET", f"/files/corrected/{STEM}.txt")
    assert status == 200 and f"corrected version {version}".encode() in body


def test_the_page_written_by_process_stays_read_only(served):
    """Editing is only in the server's page: the static page makes no request and edits nothing."""
    server, out, _ = served
    static = (out / f"{STEM}.html").read_text(encoding="utf-8")
    assert "connect-src" not in static and "fetch(" not in static and "edit-bar" not in static
    assert 'data-id="w0"' not in static
    _, _, page = _request(server, "GET", f"/review/{STEM}")
    assert b"connect-src 'self'" in page and b"fetch(" in page and b'data-id="w0"' in page
    assert f'src="/media/{STEM}"'.encode() in page


def test_editing_assets_are_plain_ascii():
    folder = Path(__file__).resolve().parents[1] / "src" / "undertone" / "render" / "review"
    for name in ("edit.js", "edit.css"):
        assert (folder / name).read_text(encoding="utf-8").isascii(), name
