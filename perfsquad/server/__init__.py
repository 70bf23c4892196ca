"""The perfsquad language server (pygls 2): a thin adapter from LSP to :mod:`perfsquad.api`.

``perfsquad serve`` speaks LSP over stdio; ``perfsquad serve --tcp HOST:PORT`` listens on TCP, on
a loopback address only, and serves a connection only if its first message is ``initialize`` with
the server's token in ``initializationOptions.token`` (``PERFSQUAD_TOKEN``, else generated and
printed; ``--token-file`` writes it mode 0600): :mod:`perfsquad.server.tcp`. Port 0 picks a free
port; the address is printed to stderr as ``perfsquad serve: listening on HOST:PORT``.
Either way a message larger than 64 MiB is refused without being read into memory (``framing.py``),
and the process exits 0 after ``shutdown`` + ``exit``, 1 after ``exit`` (or the end of input)
without ``shutdown``.

Extension points (a contract for other features)
------------------------------------------------
A feature lives in its own module ``perfsquad/server/ext_<name>.py`` defining
``register(server: PerfsquadServer) -> None``. Every ``ext_*`` module is imported and registered
when the server is created (:func:`perfsquad.server.app.create_server`); one that fails to import
or register is logged (``window/logMessage``) and skipped. In ``register`` an extension may add
commands with pygls' ``@server.command("perfsquad.xyz")`` and append to these attributes:

``server.hover_providers: list[(doc: DocumentView, pos: Position) -> str | None]``
    Markdown appended (after a rule) to the hover at ``pos``; ``None`` or ``""`` adds nothing.
``server.lens_providers: list[(doc: DocumentView) -> Iterable[lsprotocol.types.CodeLens]]``
    Code lenses added to ours (give each a ``command``; ``""`` as the command id shows a label).
``server.inlay_providers: list[(doc: DocumentView, visible: Span) -> Iterable[types.InlayHint]]``
    Inlay hints for the visible part of the document (``textDocument/inlayHint``).
``server.finding_weighers: list[(doc: DocumentView, findings: Sequence[Finding]) -> Sequence[Finding]]``
    Run in order before every publish, each on the previous one's output: reorder, change
    severity, add ``notes`` (shown in the hover), or drop findings. Keep them fast (no I/O):
    they run on the event loop.
``server.extra_diagnostics: dict[str, Sequence[types.Diagnostic | Finding]]``
    A plain dict keyed by document URI (as the client sent it) or by filesystem path; its
    entries are appended to that document's diagnostics at every publish. A ``Finding`` is
    converted like ours (code, source, doc link, fix in ``data``, client position encoding); a
    ``types.Diagnostic`` is sent as is (build its range with ``doc.range(span)``).
``server.function_facts: list[(doc: DocumentView, def_line: int) -> str | None]``
    Plain text about the function defined at ``def_line`` (1-based), added to what the
    ``perfsquad.showFunctionMetrics`` command (a code lens's click) shows.
``server.refresh_overlays() -> None``
    After changing any of the above: re-publishes every open document's diagnostics (weighers
    and extras applied again, no re-analysis) and sends ``workspace/inlayHint/refresh`` and
    ``workspace/codeLens/refresh`` when the client supports them. Callable from any thread.

Providers receive a :class:`perfsquad.server.extensions.DocumentView` (``uri``, ``path``,
``text``, ``version``, ``report``: the engine's FileReport, ``findings``: as published) whose
``position``/``range``/``to_position``/``to_span`` convert between perfsquad positions (1-based
lines, code point columns: :mod:`perfsquad.model`) and the client's LSP positions, so providers
never handle position encodings. ``server.document(uri)`` gives the same view for commands.
Providers run isolated: one that raises is logged once and skipped; it never breaks a response.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any


def parse_tcp(value: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6) -> (host, port); raises ValueError."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ValueError(f"expected HOST:PORT, got {value!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def run_server(tcp: str | None = None, token_file: str | None = None) -> int:
    """Serve until the client says exit (or disconnects); returns the process exit code. Over TCP:
    loopback only, and a token (see :mod:`perfsquad.server.tcp`)."""
    from perfsquad.server.app import create_server

    address = None
    if tcp is not None:
        from perfsquad.server import tcp as tcp_mod

        try:
            address = parse_tcp(tcp)
            tcp_mod.check_loopback(address[0])
        except ValueError as exc:
            print(f"perfsquad serve: --tcp: {exc}", file=sys.stderr)
            return 2
        token, generated = tcp_mod.server_token()
        if token_file is not None:
            try:
                tcp_mod.write_token_file(Path(token_file), token)
            except OSError as exc:
                print(f"perfsquad serve: --token-file: cannot write {token_file}: {exc.strerror or exc}", file=sys.stderr)
                return 2
        if generated:
            where = f" (also in {token_file})" if token_file else ""
            print(f"perfsquad serve: token: {token}{where}; clients send it as initializationOptions.token",
                  file=sys.stderr, flush=True)  # fmt: skip
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(name)s: %(message)s")
    from perfsquad.profiling.target import set_host_interpreter

    # The editor started this server with the interpreter chosen for the workspace: profiles,
    # benchmarks and leak checks of the user's code run in it (unless the `python` setting says otherwise).
    set_host_interpreter(sys.executable, "the editor's interpreter (the one running the server)")
    server = create_server()
    if address is None:
        server.start_io()
    else:
        from perfsquad.server import tcp as tcp_mod

        def listening(addresses: list[Any]) -> None:
            shown = ", ".join(f"{a[0]}:{a[1]}" for a in addresses)
            print(f"perfsquad serve: listening on {shown}", file=sys.stderr, flush=True)

        tcp_mod.serve(server, *address, token, on_listening=listening)
    return server.exit_code  # 0 after shutdown + exit, else 1 (the LSP spec)


__all__ = ["parse_tcp", "run_server"]
